"""Read-model snapshots in the archive: restore loads the newest valid one and applies only
the events after it; SQLite and Postgres, a real S3 endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.adapters.archive import raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.adapters.sqlviews.snapshots import SqlSnapshots, snapshot_store
from provledger.application.archive_log import ship_log
from provledger.application.audit import audit
from provledger.application.ledger import Ledger
from provledger.application.ports import Archive
from provledger.application.restore import restore
from provledger.application.snapshots import (
    LoadedSnapshot,
    SnapshotSummary,
    load_newest_snapshot,
    snapshot_manifests,
    take_snapshot,
)
from provledger.domain.record import Status
from tests.integration.archive_support import read_model_hashes, s3_archive
from tests.support.databases import lose_database
from tests.support.s3server import S3Server
from tests.unit.records import make_record


def snapshots_of(ledger: Ledger) -> SqlSnapshots:
    return snapshot_store(ledger)


def snapshot(ledger: Ledger, archive: Archive) -> SnapshotSummary:
    ledger.catch_up()
    return take_snapshot(
        snapshots_of(ledger), archive, raw_log_of(ledger), ledger.ledger_id, segment_events=15
    )


def load_newest(ledger: Ledger, archive: Archive, ledger_id: str | None) -> LoadedSnapshot:
    projections = list(ledger.runner_as_is().projections)
    return load_newest_snapshot(snapshots_of(ledger), archive, ledger_id, projections)


def fill(ledger: Ledger, start: int, count: int) -> None:
    ledger.record(
        [
            make_record(f"r{i}", case=f"c{i % 4}", minutes=i, params={"dt": i % 3})
            for i in range(start, start + count)
        ]
    )


def restored_ledger(
    settings: Settings, request: pytest.FixtureRequest, archive: object
) -> tuple[Ledger, object]:
    lose_database(settings, request)
    ledger = bootstrap(settings)
    summary = restore(raw_log_of(ledger), archive)  # type: ignore[arg-type]
    return ledger, summary


def test_a_restore_from_a_snapshot_gives_the_same_read_models_as_a_full_replay(
    settings: Settings, s3_server: S3Server, s3_bucket: str, request: pytest.FixtureRequest
) -> None:
    archive = s3_archive(s3_server, s3_bucket)
    ledger = bootstrap(settings)
    fill(ledger, 0, 40)
    ledger.choose_canonical("c1", "r9", "reviewed")
    taken = snapshot(ledger, archive)
    fill(ledger, 40, 12)  # after the snapshot: applied from the log on restore
    ledger.record([make_record("r41", case="c1", minutes=41, status=Status.SUCCEEDED)])
    ledger.catch_up()
    ship_log(raw_log_of(ledger), archive, ledger.ledger_id, segment_events=15)
    before = read_model_hashes(ledger)
    ledger.close()

    restored, summary = restored_ledger(settings, request, archive)
    try:
        loaded = load_newest(restored, archive, summary.ledger_id)
        assert loaded.used == taken.key
        assert loaded.position == taken.position
        assert loaded.refused == []
        restored.catch_up()
        assert read_model_hashes(restored) == before
        report = audit(raw_log_of(restored), archive)
        assert {d.check for d in report.discrepancies} == {"record"}  # nothing persisted here
        assert report.snapshots == 1
    finally:
        restored.close()

    replayed, _ = restored_ledger(settings, request, archive)
    try:
        replayed.runner.rebuild()
        assert read_model_hashes(replayed) == before
    finally:
        replayed.close()


def test_a_snapshot_that_fails_its_checks_is_refused_and_audit_names_it(
    settings: Settings, s3_server: S3Server, s3_bucket: str, request: pytest.FixtureRequest
) -> None:
    archive = s3_archive(s3_server, s3_bucket)
    ledger = bootstrap(settings)
    fill(ledger, 0, 20)
    taken = snapshot(ledger, archive)
    before = read_model_hashes(ledger)
    ((_, manifest, _),) = snapshot_manifests(archive)
    assert manifest is not None
    table = manifest.tables["executions"]
    data = archive.get(table.key)
    assert data is not None
    # Objects never change: the test stands in for a disk that flipped a byte.
    archive.client.put_object(  # type: ignore[attr-defined]
        Bucket=archive.bucket,
        Key=f"{archive.prefix}/{table.key}",
        Body=data[:-9] + b"corrupted",  # type: ignore[attr-defined]
    )
    report = audit(raw_log_of(ledger), archive)
    (problem,) = [d for d in report.discrepancies if d.check == "snapshot"]
    assert table.key in problem.message
    ledger.close()

    restored, summary = restored_ledger(settings, request, archive)
    try:
        loaded = load_newest(restored, archive, summary.ledger_id)
        assert loaded.used is None
        assert taken.key in loaded.refused[0]
        restored.runner.rebuild()  # what `restore` does when no snapshot serves
        assert read_model_hashes(restored) == before
    finally:
        restored.close()


def test_a_snapshot_taken_on_sqlite_restores_onto_postgres(
    tmp_path: Path, pg_url: str, s3_server: S3Server, s3_bucket: str
) -> None:
    archive = s3_archive(s3_server, s3_bucket)
    sqlite = bootstrap(Settings(home=tmp_path / "sqlite"))
    try:
        fill(sqlite, 0, 30)
        sqlite.annotate("r3", {"note": "tab\there, line\nthere, back\\slash"})
        snapshot(sqlite, archive)
        before = read_model_hashes(sqlite)
    finally:
        sqlite.close()
    postgres = bootstrap(Settings(home=tmp_path / "pg", database_url=pg_url))
    try:
        summary = restore(raw_log_of(postgres), archive)
        loaded = load_newest(postgres, archive, summary.ledger_id)
        assert loaded.used is not None
        postgres.catch_up()
        assert read_model_hashes(postgres) == before
        assert postgres.execution_row("r3")["tags"]["note"] == "tab\there, line\nthere, back\\slash"
    finally:
        postgres.close()
