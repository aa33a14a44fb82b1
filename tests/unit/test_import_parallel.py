"""E3SM directories parsed in worker processes give the same items, in the same order, as a
serial read; an upload's directory outlives the reads of its executions."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.adapters.importers import detect, parallel
from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz

CAP = 1024 * 1024


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "perf"
    runs = [E3smRun(exec_id=exec_id(n), status="error" if n % 3 else "success") for n in range(40)]
    for run in runs[:30]:
        run.write(root)
    write_tar_gz(runs[30:], root / "upload.tar.gz")
    next((root / "ac.user" / "v3.LR.historical_0121" / exec_id(4)).glob("CaseStatus*")).write_bytes(
        b"\x1f\x8bbroken"
    )
    return root


def test_worker_processes_give_the_serial_items_in_the_serial_order(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = list(detect.scan(tree, "auto", CAP, workers=1))
    monkeypatch.setattr(parallel, "SERIAL_FIRST", 5)
    monkeypatch.setattr(parallel, "CHUNK", 4)
    pooled = list(detect.scan(tree, "auto", CAP, workers=2))
    assert [i.path for i in pooled] == [i.path for i in serial]
    assert [i.record for i in pooled] == [i.record for i in serial]
    assert [i.error for i in pooled] == [i.error for i in serial]
    assert sum(1 for i in pooled if i.record) == 39


def test_the_worker_count_can_be_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVLEDGER_IMPORT_WORKERS", "1")
    assert parallel.default_workers() == 1
    monkeypatch.delenv("PROVLEDGER_IMPORT_WORKERS")
    assert 1 <= parallel.default_workers() <= 4
