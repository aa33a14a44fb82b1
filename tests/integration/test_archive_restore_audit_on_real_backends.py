"""Ship, delete the database, restore, audit: SQLite and Postgres, a real S3 endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.adapters.archive import FolderArchive, raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.archive_log import iter_manifests, ship_log
from provledger.application.audit import audit
from provledger.application.ledger import Ledger
from provledger.application.persist_records import RecordPersister
from provledger.application.restore import restore
from provledger.application.stored_log import ArchiveError, StoreNotEmptyError
from provledger.domain.record import Status
from tests.integration.archive_support import execute, read_model_hashes, s3_archive
from tests.support.databases import lose_database
from tests.support.s3server import S3Server
from tests.unit.records import make_record


def fill(ledger: Ledger) -> None:
    ledger.record(
        [make_record(f"r{i}", case=f"c{i % 3}", minutes=i, params={"dt": i}) for i in range(30)]
    )
    ledger.record([make_record("f", status=Status.FAILED, minutes=40)])
    ledger.choose_canonical("c1", "r4", "reviewed")
    ledger.annotate("r7", tags={"ok": "yes"}, note="checked")


def test_after_the_database_is_deleted_restore_gives_identical_read_models(
    settings: Settings, s3_server: S3Server, s3_bucket: str, request: pytest.FixtureRequest
) -> None:
    archive = s3_archive(s3_server, s3_bucket)
    ledger = bootstrap(settings)
    fill(ledger)
    RecordPersister(ledger.events, raw_log_of(ledger), archive).run()
    ledger.catch_up()
    ship_log(raw_log_of(ledger), archive, ledger.ledger_id, segment_events=20)
    before, ledger_id, head = (
        read_model_hashes(ledger),
        ledger.ledger_id,
        ledger.events.max_position(),
    )
    ledger.close()

    lose_database(settings, request)
    restored = bootstrap(settings)
    try:
        summary = restore(raw_log_of(restored), archive, batch_size=25)
        restored.runner.rebuild()
        assert summary.events == head
        assert read_model_hashes(restored) == before
        assert bootstrap(settings).ledger_id == ledger_id
        assert audit(raw_log_of(restored), archive).ok
        # the restored ledger goes on: new events chain on and ship into the same archive
        restored.record([make_record("after", case="c0", minutes=50)])
        assert ship_log(raw_log_of(restored), archive, ledger_id).events > 0
        assert restored.events.max_position() > head
    finally:
        restored.close()


def test_audit_names_a_changed_event_row_and_a_flipped_byte_in_a_segment(
    settings: Settings, s3_server: S3Server, s3_bucket: str
) -> None:
    archive = s3_archive(s3_server, s3_bucket)
    ledger = bootstrap(settings)
    try:
        fill(ledger)
        RecordPersister(ledger.events, raw_log_of(ledger), archive).run()
        ledger.catch_up()
        ship_log(raw_log_of(ledger), archive, ledger.ledger_id, segment_events=20)
        assert audit(raw_log_of(ledger), archive).ok
        target = ledger.history("r3")[0].position
        pos = "notification_id" if settings.backend == "postgres" else "rowid"
        if settings.backend == "postgres":
            execute(
                ledger,
                f"UPDATE {{table}} SET state = convert_to(replace(convert_from(state, "
                f"'UTF8'), '\"dt\":3', '\"dt\":9'), 'UTF8') WHERE {pos} = %s",
                (target,),
            )
        else:
            execute(
                ledger,
                f"UPDATE {{table}} SET state = CAST(replace(CAST(state AS TEXT), "
                f"'\"dt\":3', '\"dt\":9') AS BLOB) WHERE {pos} = ?",
                (target,),
            )
        manifest = list(iter_manifests(archive))[-1][0]
        client = s3_server.client()
        key = f"ledger/{manifest.segment}"
        data = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
        data[len(data) // 2] ^= 0x01
        client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(data))

        report = audit(raw_log_of(ledger), archive)
        messages = "\n".join(d.message for d in report.discrepancies)
        assert any(d.position == target and d.check == "chain" for d in report.discrepancies), (
            messages
        )
        assert any(manifest.segment in (d.file or "") for d in report.discrepancies), messages
    finally:
        ledger.close()


def test_restore_refuses_a_database_that_is_not_empty(ledger: Ledger, tmp_path: Path) -> None:
    archive = FolderArchive(tmp_path / "archive")
    ledger.record([make_record("a")])
    ship_log(raw_log_of(ledger), archive, ledger.ledger_id)
    with pytest.raises(StoreNotEmptyError, match="restore only into an empty database"):
        restore(raw_log_of(ledger), archive)


def test_a_missing_bucket_is_named(ledger: Ledger, s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, "no-such-bucket")
    ledger.record([make_record("a")])
    with pytest.raises(ArchiveError, match="bucket 'no-such-bucket' does not exist"):
        ship_log(raw_log_of(ledger), archive, ledger.ledger_id)
