"""Hostile record files (too deep, huge numbers, odd Unicode, duplicate keys, alias bombs) give a
clear error naming the file or a record: never an exception escaping the readers, and never an
ingest stopped by one of them."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from provledger.adapters.importers import detect, parallel
from provledger.adapters.readers.files import MAX_DEPTH, RecordFileError, load_document
from provledger.adapters.readers.records import parse_record, read_record_file
from provledger.adapters.readers.walk import read_one
from provledger.application.ingest import ReadItem

CAP = 1024 * 1024
RECORD = {"execution_id": "e1", "case": "ocean", "status": "succeeded"}


def _nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _deep_json(depth: int) -> str:
    return '{"execution_id": "e2", "case": "c", "params": {"a": ' + "[" * depth + "]" * depth + "}}"


DEEP = {
    "deep.record.json": _deep_json(5000),
    "deep.record.yaml": "execution_id: e3\ncase: c\nparams:\n  a: " + "[" * 5000 + "]" * 5000,
    "deep.record.toml": 'execution_id = "e4"\ncase = "c"\n[params]\na = ' + "[" * 5000 + "]" * 5000,
    "under-the-recursion-limit.record.json": _deep_json(900),
}


@pytest.mark.parametrize("name", list(DEEP))
def test_a_record_nested_thousands_of_levels_deep_is_a_clear_error_naming_the_file(
    name: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(DEEP[name])
    with pytest.raises(RecordFileError, match="nested more than 100 levels deep") as caught:
        load_document(path, CAP)
    assert str(caught.value).startswith(str(path))
    item = read_one(path, CAP, "auto", True)
    assert item.error is not None
    assert item.error.startswith(str(path))


def test_a_folder_with_deep_files_still_reads_the_valid_one_beside_them(tmp_path: Path) -> None:
    for name, text in DEEP.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "ok.record.json").write_text(json.dumps(RECORD))
    items = list(detect.scan(tmp_path, "auto", CAP, workers=1))
    assert [i.record.execution_id for i in items if i.record] == ["e1"]
    errors = sorted(i.error for i in items if i.error)
    assert len(errors) == len(DEEP)
    assert all("nested more than" in e for e in errors)


def test_nesting_up_to_the_limit_is_a_record() -> None:
    record = parse_record({**RECORD, "params": {"a": _nested(MAX_DEPTH - 3)}})
    assert record.execution_id == "e1"
    with pytest.raises(RecordFileError, match="nested more than"):
        parse_record({**RECORD, "params": {"a": _nested(MAX_DEPTH + 5)}})


def test_an_integer_too_long_to_convert_is_a_clear_error(tmp_path: Path) -> None:
    for suffix, text in {
        ".json": '{"execution_id": "e", "case": "c", "params": {"n": ' + "9" * 5000 + "}}",
        ".yaml": "execution_id: e\ncase: c\nparams:\n  n: " + "9" * 5000,
        ".toml": 'execution_id = "e"\ncase = "c"\n[params]\nn = ' + "9" * 5000,
    }.items():
        path = tmp_path / f"big.record{suffix}"
        path.write_text(text)
        with pytest.raises(RecordFileError, match="unreadable value: Exceeds the limit"):
            read_record_file(path, CAP)


def test_a_lone_surrogate_is_not_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.record.json"
    path.write_text('{"execution_id": "e\\ud800", "case": "c"}')
    with pytest.raises(RecordFileError, match=r"not Unicode text: .*U\+D800"):
        read_record_file(path, CAP)
    yaml_path = tmp_path / "odd.record.yaml"
    yaml_path.write_text('execution_id: e\ncase: c\nparams: {"\\U0000dc00": 1}\n')
    with pytest.raises(RecordFileError, match="not Unicode text"):
        read_record_file(yaml_path, CAP)


def test_yaml_aliases_that_expand_enormously_are_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.record.yaml"
    path.write_text("execution_id: e\ncase: c\nparams:\n" + "\n".join("  " + x for x in lines))
    with pytest.raises(RecordFileError, match="expands to far more values"):
        load_document(path, CAP)


def test_duplicate_keys_are_a_record_or_a_clear_error(tmp_path: Path) -> None:
    json_path = tmp_path / "dup.record.json"
    json_path.write_text('{"execution_id": "a", "execution_id": "b", "case": "c"}')
    assert read_record_file(json_path, CAP).execution_id == "b"  # the last one, as JSON parsers do
    toml_path = tmp_path / "dup.record.toml"
    toml_path.write_text('execution_id = "a"\nexecution_id = "b"\ncase = "c"\n')
    with pytest.raises(RecordFileError, match="malformed TOML"):
        read_record_file(toml_path, CAP)


def test_unicode_digit_metric_checkpoints_are_not_steps(tmp_path: Path) -> None:
    path = tmp_path / "experiment_record.json"
    path.write_text(
        json.dumps({"experiment_id": "x", "status": "completed", "metrics": {"²": {"loss": 1.0}}})
    )
    record = read_record_file(path, CAP)
    assert "².loss" in record.metrics


# --- the readers never let an exception escape (fuzz) -------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["succeeded", "failed", "completed", "running", "2026-01-01T00:00:00Z"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.text(st.characters(codec="utf-8"), max_size=10),
                st.sampled_from(
                    ["execution_id", "experiment_id", "case", "status", "params", "metrics"]
                ),
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=30,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)  # inf and nan are TOML floats too
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return json.dumps(str(value))


def _texts(document: Any, depth: int, number_digits: int, duplicate: bool) -> dict[str, str]:
    body = json.dumps(document, ensure_ascii=False)
    deep = "[" * depth + body + "]" * depth
    big = "9" * number_digits
    fields = f'"execution_id": "x", "case": "c", "params": {{"v": {deep}, "n": {big}}}'
    if duplicate:
        fields += ', "case": "d"'
    as_mapping = document if isinstance(document, dict) else {"v": document}
    return {
        ".json": "{" + fields + "}",
        ".yaml": "{" + fields + "}",  # JSON is YAML
        ".yml": yaml.safe_dump(as_mapping, allow_unicode=True) if depth < 50 else deep,
        ".toml": "\n".join(
            f"{json.dumps(str(k))} = {_toml_value(v)}"
            for k, v in as_mapping.items()
            if v is not None
        )
        + f"\nexecution_id = 'x'\nn = {big}\ndeep = {'[' * depth}1{']' * depth}\n",
    }


def _never_raises(path: Path) -> None:
    item = read_one(path, CAP, "auto", True)
    assert (item.error is None) != (item.record is None), item
    if item.error is not None:
        assert item.error.startswith(str(path))
        assert "\n" not in item.error
    scanned = detect._file_item(path, "auto", CAP, str(path), explicit=True)
    assert (scanned.error is None) != (scanned.record is None), scanned
    error: RecordFileError | None = None
    try:
        read_record_file(path, CAP)
    except RecordFileError as e:
        error = e
    assert error is None or error.path == str(path)


@given(
    document=documents,
    depth=st.sampled_from([0, 1, 50, 99, 101, 900, 1200, 5000]),
    number_digits=st.sampled_from([1, 30, 4300, 4301, 10_000]),
    duplicate=st.booleans(),
    suffix=st.sampled_from([".json", ".yaml", ".yml", ".toml"]),
)
def test_the_record_readers_give_a_record_or_a_clean_error_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory,
    document: Any,
    depth: int,
    number_digits: int,
    duplicate: bool,
    suffix: str,
) -> None:
    text = _texts(document, depth, number_digits, duplicate)[suffix]
    path = tmp_path_factory.mktemp("fuzz") / f"fuzz.record{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _never_raises(path)


@given(data=st.binary(max_size=200), suffix=st.sampled_from([".json", ".yaml", ".toml"]))
def test_arbitrary_bytes_are_a_record_or_a_clean_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"any.record{suffix}"
    path.write_bytes(data)
    _never_raises(path)


@given(document=documents)
def test_parse_record_of_any_decoded_document_is_a_record_or_a_clean_error(document: Any) -> None:
    for data in (
        document,
        {**RECORD, "params": document},
        {
            "experiment_id": "x",
            **{"status": "completed", "metrics": document, "parameters": document},
        },
    ):
        with contextlib.suppress(RecordFileError):
            parse_record(data)


# --- the parallel reader: a job that raises or a worker that dies is an error item --------------


def _raising_reader(job: parallel.Job) -> ReadItem:
    kind, where = job
    if kind == "deep":
        raise RecursionError("maximum recursion depth exceeded")
    if kind == "odd":
        raise ValueError("something unforeseen")
    if kind == "die":
        os._exit(3)  # a worker killed mid-chunk (the OOM killer, a crash in C)
    return ReadItem(where, skipped=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_that_raises_is_an_error_item_naming_it_and_the_rest_are_read(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "CHUNK", 2)
    jobs = [("ok", "a"), ("deep", "b"), ("odd", "c"), ("ok", "d"), ("ok", "e")]
    items = list(parallel.ordered(jobs, _raising_reader, workers=workers, serial_first=1))
    assert [i.path for i in items] == ["a", "b", "c", "d", "e"]
    assert items[1].error == "b: nested too deeply to read (recursion limit)"
    assert items[2].error == "c: cannot read: ValueError: something unforeseen"
    assert all(items[i].skipped for i in (0, 3, 4))


def test_a_worker_that_dies_fails_its_chunk_and_later_chunks_are_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "CHUNK", 2)
    monkeypatch.setattr(parallel, "WINDOW", 1)
    jobs = [("ok", "a"), ("die", "b"), ("ok", "c"), ("ok", "d"), ("ok", "e"), ("ok", "f")]
    items = list(parallel.ordered(jobs, _raising_reader, workers=2, serial_first=1))
    assert [i.path for i in items] == ["a", "b", "c", "d", "e", "f"]
    assert items[0].skipped
    assert items[1].error is not None
    assert items[1].error.startswith("b: cannot read: worker failed")
    assert items[-1].skipped  # read by a fresh pool after the broken one
