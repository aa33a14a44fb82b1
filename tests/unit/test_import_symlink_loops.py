"""A file-level symbolic link loop (`a -> b -> a`) or a dangling link met in a walk is counted and
named with its reason: an error when its name is a record's, a skip otherwise; never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provledger.adapters.importers import detect
from provledger.adapters.readers.files import RecordFileError, load_document
from provledger.adapters.readers.walk import read_items

CAP = 1024 * 1024


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "records"
    root.mkdir()
    (root / "a.record.json").symlink_to("b.record.json")
    (root / "b.record.json").symlink_to("a.record.json")
    (root / "x").symlink_to("y")
    (root / "y").symlink_to("x")
    (root / "gone.yaml").symlink_to("nowhere.yaml")
    (root / "ok.record.json").write_text(
        json.dumps({"execution_id": "e1", "case": "c", "status": "succeeded"})
    )
    return root


def test_a_file_level_link_loop_is_an_error_or_a_skip_naming_it(folder: Path) -> None:
    items = {Path(i.path).name: i for i in detect.scan(folder, "auto", CAP, workers=1)}
    assert set(items) == {"a.record.json", "b.record.json", "x", "y", "gone.yaml", "ok.record.json"}
    for name in ("a.record.json", "b.record.json"):
        assert items[name].error == f"{folder / name}: symbolic link loop (not followed)"
        assert not items[name].skipped
    for name in ("x", "y"):
        assert items[name].skipped
        assert "symbolic link loop" in (items[name].error or "")
    assert items["gone.yaml"].error is not None
    assert "broken symbolic link" in items["gone.yaml"].error
    assert items["ok.record.json"].record is not None


def test_the_count_for_the_progress_bar_includes_them(folder: Path) -> None:
    assert detect.count([folder], "auto") == 6


def test_record_only_formats_name_the_loop_too(folder: Path) -> None:
    items = {Path(i.path).name: i for i in read_items([folder], CAP, "provledger")}
    assert (
        items["a.record.json"].error
        == f"{folder / 'a.record.json'}: cannot read: symbolic link loop"
    )
    with pytest.raises(RecordFileError, match="symbolic link loop"):
        load_document(folder / "b.record.json", CAP)
