"""Capture rules that need no files: config parsing, git output parsing, digests, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.adapters.capture.config import config_format, parse_config_text
from provledger.adapters.capture.errors import CaptureError
from provledger.adapters.capture.gitstate import parse_remotes, parse_status_v2
from provledger.adapters.capture.hashing import directory_digest
from provledger.application.reproduce import (
    InputDifference,
    NotReproducibleError,
    ReproductionRefusedError,
    Verdict,
    as_reproduction,
    check_inputs,
    compare_outputs,
)
from provledger.domain.record import ExecutionRecord, FileRef, Status

SHA_A, SHA_B = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('x = 1\nname = "a"\n', "toml"),
        ("x: 1\nname: a\n", "yaml"),
        ('{"x": 1, "name": "a"}', "json"),
    ],
)
def test_configs_in_toml_yaml_and_json_parse_to_the_same_values(text: str, fmt: str) -> None:
    assert parse_config_text(text, fmt, "c") == {"x": 1, "name": "a"}


@pytest.mark.parametrize(
    ("text", "fmt", "words"),
    [
        ("x = [", "toml", "malformed TOML"),
        ("{x", "json", "malformed JSON"),
        ("a: [", "yaml", "YAML"),
    ],
)
def test_an_unparsable_config_is_refused_naming_the_file(text: str, fmt: str, words: str) -> None:
    with pytest.raises(CaptureError, match=words) as info:
        parse_config_text(text, fmt, "conf/run.cfg")
    assert "conf/run.cfg" in str(info.value)


def test_a_config_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(CaptureError, match="must be a mapping"):
        parse_config_text("[1, 2]", "json", "c.json")


def test_an_unknown_config_extension_is_refused() -> None:
    with pytest.raises(CaptureError, match="unknown config format"):
        config_format(Path("run.ini"))


def test_git_porcelain_v2_gives_commit_branch_and_dirtiness() -> None:
    text = "# branch.oid abc123\n# branch.head main\n1 .M N... 100644 100644 100644 x y f.py\n"
    assert parse_status_v2(text) == ("abc123", "main", True)
    assert parse_status_v2("# branch.oid abc\n# branch.head (detached)\n") == ("abc", None, False)
    assert parse_status_v2("# branch.oid (initial)\n# branch.head main\n")[0] is None


def test_origin_is_the_preferred_remote() -> None:
    text = "remote.fork.url git@x:f.git\nremote.origin.url https://h/o.git\n"
    assert parse_remotes(text) == "https://h/o.git"
    assert parse_remotes("remote.fork.url git@x:f.git\n") == "git@x:f.git"
    assert parse_remotes("") is None


def test_a_directory_digest_depends_on_names_and_contents_not_order() -> None:
    a = directory_digest({"x": SHA_A, "y": SHA_B})
    assert a == directory_digest({"y": SHA_B, "x": SHA_A})
    assert a != directory_digest({"x": SHA_B, "y": SHA_A})
    assert a != directory_digest({"x": SHA_A, "z": SHA_B})


def _original(**kw: object) -> ExecutionRecord:
    base: dict[str, object] = {
        "status": Status.SUCCEEDED,
        "command": ["sim"],
        "inputs": [FileRef("in.csv", SHA_A), FileRef("cfg.toml", SHA_B, role="config")],
        "outputs": [FileRef("out.dat", SHA_A, role="output")],
    }
    base.update(kw)
    return ExecutionRecord("run-1", "c", **base)  # type: ignore[arg-type]


def test_inputs_that_changed_or_vanished_are_listed() -> None:
    digests = {Path("in.csv"): SHA_B}
    found = check_inputs(_original(), Path, lambda p: digests.get(p))
    assert [(d.uri, d.actual) for d in found] == [("in.csv", SHA_B), ("cfg.toml", None)]
    assert found[1].message == "cfg.toml: missing"


def test_unchanged_inputs_give_no_differences() -> None:
    digests = {"in.csv": SHA_A, "cfg.toml": SHA_B}
    assert check_inputs(_original(), Path, lambda p: digests[str(p)]) == []


def test_an_execution_without_a_command_cannot_be_reproduced() -> None:
    with pytest.raises(NotReproducibleError, match="no recorded command"):
        check_inputs(_original(command=[]), Path, lambda p: None)


def test_a_refusal_names_every_differing_input() -> None:
    error = ReproductionRefusedError(
        "run-1", [InputDifference("a.csv", SHA_A, None), InputDifference("b.csv", SHA_A, SHA_B)]
    )
    assert "a.csv: missing" in str(error)
    assert "b.csv" in str(error)
    assert "--force" in str(error)


def test_same_outputs_are_identical() -> None:
    verdict = compare_outputs(_original(), [FileRef("out.dat", SHA_A)], Status.SUCCEEDED)
    assert verdict.verdict is Verdict.IDENTICAL


def test_changed_outputs_differ_and_are_named() -> None:
    verdict = compare_outputs(_original(), [FileRef("out.dat", SHA_B)], Status.SUCCEEDED)
    assert verdict.verdict is Verdict.DIFFER
    assert verdict.differing == ["out.dat"]


def test_a_missing_output_makes_the_outputs_differ() -> None:
    verdict = compare_outputs(_original(), [], Status.SUCCEEDED)
    assert (verdict.verdict, verdict.missing) == (Verdict.DIFFER, ["out.dat"])


def test_differing_files_inside_an_output_directory_are_named() -> None:
    original = _original(outputs=[FileRef("out", SHA_A)])
    manifests = (
        {"out": {"a.txt": SHA_A, "b.txt": SHA_A}},
        {"out": {"a.txt": SHA_A, "b.txt": SHA_B}},
    )
    verdict = compare_outputs(original, [FileRef("out", SHA_B)], Status.SUCCEEDED, manifests)
    assert verdict.differing == ["out/b.txt"]


def test_a_failed_rerun_is_judged_failed() -> None:
    verdict = compare_outputs(_original(), [FileRef("out.dat", SHA_A)], Status.FAILED)
    assert verdict.verdict is Verdict.FAILED


def test_a_reproduction_record_names_the_original_and_its_verdict() -> None:
    new = ExecutionRecord("run-2", "c", Status.SUCCEEDED)
    verdict = compare_outputs(_original(), [FileRef("out.dat", SHA_B)], Status.SUCCEEDED)
    record = as_reproduction(new, _original(), verdict, forced=True, differences=[])
    assert record.reproduces == "run-1"
    assert record.tags["reproduction.verdict"] == "differ"
    assert record.attributes["reproduction"]["differing"] == ["out.dat"]
    assert record.attributes["reproduction"]["forced"] is True


def test_the_package_cache_survives_runs_that_write_into_a_working_directory_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sys

    from provledger.adapters.capture import environment

    site = tmp_path / "site-packages"
    site.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", [str(work), ".", str(work), str(site)])
    before = environment._path_key()
    (work / "experiment_record.json").write_text("{}")  # a run's output changes cwd's mtime
    os.utime(work, ns=(1, 1))
    assert environment._path_key() == before
    (site / "newpkg-1.0.dist-info").mkdir()  # installing a package changes the key
    os.utime(site, ns=(2, 2))
    assert environment._path_key() != before
