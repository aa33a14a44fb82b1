"""Ingesting E3SM archives into a real ledger (SQLite and PostgreSQL): batched, idempotent,
incomplete runs kept and never canonical, bad items reported while the rest is recorded."""

from __future__ import annotations

from pathlib import Path

from provledger.adapters.readers.walk import read_items
from provledger.application.ingest import ingest
from provledger.application.ledger import Ledger
from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz

CAP = 1024 * 1024


def test_an_archive_is_ingested_with_incomplete_and_failed_runs_classified(
    ledger: Ledger, tmp_path: Path
) -> None:
    root = tmp_path / "perf"
    E3smRun(exec_id=exec_id(1), omit=("env_run",)).write(root)  # incomplete, earliest id
    E3smRun(exec_id=exec_id(2), status="error").write(root)
    E3smRun(exec_id=exec_id(3)).write(root)
    E3smRun(exec_id=exec_id(4), compiler="gnu").write(root)
    summary = ingest(ledger, read_items([root], CAP))
    assert (summary.created, summary.incomplete, summary.failed, summary.error_count) == (
        4,
        1,
        1,
        0,
    )
    case = ledger.case_row("ac.user/v3.LR.historical_0121")
    assert case["canonical_execution_id"] == exec_id(3)
    row = ledger.execution_row(exec_id(4))
    assert row["deltas"] == {"spec.resolved.compiler": {"canonical": "intel", "current": "gnu"}}
    incomplete = ledger.record_of(exec_id(1))
    assert incomplete.missing == ["CaseDocs/env_run.xml.*"]


def test_re_ingesting_the_same_archive_records_only_duplicates(
    ledger: Ledger, tmp_path: Path
) -> None:
    upload = write_tar_gz(
        [E3smRun(exec_id=exec_id(n)) for n in range(5)], tmp_path / "upload.tar.gz"
    )
    first = ingest(ledger, read_items([upload], CAP))
    head = ledger.events.max_position()
    again = ingest(ledger, read_items([upload], CAP))
    assert (first.created, again.created, again.duplicates, again.conflicts) == (5, 0, 5, 0)
    assert ledger.events.max_position() == head


def test_the_same_runs_from_a_folder_and_from_an_upload_are_duplicates(
    ledger: Ledger, tmp_path: Path
) -> None:
    runs = [E3smRun(exec_id=exec_id(n)) for n in range(3)]
    for run in runs:
        run.write(tmp_path / "folder")
    upload = write_tar_gz(runs, tmp_path / "upload.tar.gz")
    assert ingest(ledger, read_items([tmp_path / "folder"], CAP)).created == 3
    again = ingest(ledger, read_items([upload], CAP))
    assert (again.duplicates, again.conflicts) == (3, 0)


def test_bad_inputs_are_per_item_errors_and_the_rest_of_the_batch_is_recorded(
    ledger: Ledger, tmp_path: Path
) -> None:
    root = tmp_path / "perf"
    for n in range(6):
        E3smRun(exec_id=exec_id(n)).write(root)
    broken = {
        0: ("CaseStatus", b"\x1f\x8b\x08\x00corrupt"),
        1: ("env_case", b"<not xml"),
        2: ("e3sm_timing", b"x" * (CAP + 1)),
    }
    for n, (prefix, data) in broken.items():
        exec_dir = root / "ac.user" / "v3.LR.historical_0121" / exec_id(n)
        next(p for p in exec_dir.rglob(f"{prefix}*")).write_bytes(data)
    summary = ingest(ledger, read_items([root], CAP))
    assert (summary.created, summary.error_count) == (3, 3)
    messages = " | ".join(m for _, m in summary.errors)
    assert "corrupt gzip" in messages
    assert "larger than" in messages
    assert ledger.queries.counts()["executions"] == 3


def test_an_incomplete_execution_whose_missing_files_arrive_becomes_complete(
    ledger: Ledger, tmp_path: Path
) -> None:
    root = tmp_path / "perf"
    E3smRun(exec_id=exec_id(1), omit=("env_run", "e3sm_timing")).write(root)
    first = ingest(ledger, read_items([root], CAP))
    assert (first.created, first.incomplete) == (1, 1)
    assert ledger.case_row("ac.user/v3.LR.historical_0121")["canonical_execution_id"] is None

    E3smRun(exec_id=exec_id(1)).write(root)  # the job's files land later
    again = ingest(ledger, read_items([root], CAP))
    assert (again.created, again.updated, again.conflicts, again.canonical) == (0, 1, 0, 1)
    record = ledger.record_of(exec_id(1))
    assert (record.status.value, record.missing) == ("succeeded", [])
    case = ledger.case_row("ac.user/v3.LR.historical_0121")
    assert (case["n_incomplete"], case["n_succeeded"]) == (0, 1)
    assert [type(e.event).__name__ for e in ledger.history(exec_id(1))][-1] == "Updated"
    assert ingest(ledger, read_items([root], CAP)).duplicates == 1
