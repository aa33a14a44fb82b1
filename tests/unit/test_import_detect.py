"""Auto-detection by layout: one walk hands each unit to the importer that reads it; an explicit
--format reads only that layout; provledger and DissModel records keep working."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provledger.adapters.readers.records import FORMATS
from provledger.adapters.readers.walk import count_items, read_items
from tests.support import mlruns
from tests.support.e3sm_archive import E3smRun

CAP = 1024 * 1024


def mixed_tree(root: Path) -> Path:
    E3smRun().write(root / "perf")
    exp = mlruns.experiment(root / "ml" / "mlruns", "0", "Default")
    mlruns.run(exp, "0d8653353e3e43beb89442a8bca1a94d")
    entrenar = {"run_id": "run-1", "experiment_name": "exp", "status": "Completed"}
    (root / "runs").mkdir()
    (root / "runs" / "run-1.json").write_text(json.dumps(entrenar))
    sidecar = {
        "pipeline_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "processing_steps": [],
    }
    (root / "data").mkdir()
    (root / "data" / "setup.provenance.provenance.json").write_text(json.dumps(sidecar))
    record = {"execution_id": "r1", "case": "lab/model", "status": "succeeded"}
    (root / "records").mkdir()
    (root / "records" / "r1.record.json").write_text(json.dumps(record))
    (root / "records" / "settings.json").write_text(json.dumps({"theme": "dark"}))
    return root


def test_every_format_is_detected_in_one_mixed_folder(tmp_path: Path) -> None:
    found = list(read_items([mixed_tree(tmp_path)], CAP))
    importers = sorted(i.record.source.importer for i in found if i.record and i.record.source)
    assert importers == ["e3sm", "entrenar", "mlflow", "provledger", "usher"]
    assert [i.path for i in found if i.skipped] == [str(tmp_path / "records" / "settings.json")]
    assert not [i.error for i in found if i.error]


def test_an_explicit_format_reads_only_its_layout(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path)
    for fmt, importer in (("e3sm", "e3sm"), ("mlflow", "mlflow"), ("usher", "usher")):
        found = list(read_items([root], CAP, fmt))
        assert [i.record.source.importer for i in found if i.record and i.record.source] == [
            importer
        ]


def test_provledger_format_keeps_the_record_only_behaviour(tmp_path: Path) -> None:
    found = list(read_items([mixed_tree(tmp_path)], CAP, "provledger"))
    ok = [i.record.execution_id for i in found if i.record]
    assert "r1" in ok
    assert not any(
        i.record and i.record.source and i.record.source.importer == "e3sm" for i in found
    )


def test_the_progress_total_counts_what_will_be_read(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path)
    assert count_items([root]) == len(list(read_items([root], CAP)))


def test_a_missing_path_is_a_per_item_error(tmp_path: Path) -> None:
    [item] = read_items([tmp_path / "nope"], CAP)
    assert item.error == f"{tmp_path / 'nope'}: no such file or directory"


def test_a_broken_symlink_given_as_the_path_is_a_per_item_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    [item] = read_items([tmp_path / "a"], CAP)
    assert item.error is not None
    assert "symbolic link loop" in item.error


def test_every_importer_format_is_accepted_by_the_cli() -> None:
    assert set(FORMATS) == {
        "auto",
        "provledger",
        "dissmodel",
        "e3sm",
        "mlflow",
        "entrenar",
        "usher",
    }


def test_an_explicit_format_that_finds_nothing_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    [item] = read_items([tmp_path / "empty"], CAP, "mlflow")
    assert item.error == f"{tmp_path / 'empty'}: no mlflow data found (layouts: docs/importers.md)"
    assert count_items([tmp_path / "empty"], "mlflow") == 1


def test_an_execution_directory_given_by_a_relative_path_keeps_its_user_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exec_dir = E3smRun(user="feng809").write(tmp_path)
    monkeypatch.chdir(exec_dir.parent)
    [item] = read_items([Path(exec_dir.name)], CAP)
    assert item.record is not None
    assert item.record.namespace == "feng809"
