from dataclasses import replace

from provledger.adapters.archive.memory import InMemoryArchive
from provledger.application.archive_log import iter_manifests, ship_log
from provledger.application.audit import audit
from provledger.application.persist_records import RecordPersister, record_key
from tests.fakes import memory_ledger
from tests.unit.archive_support import raw_log_of
from tests.unit.records import make_record


def audited_ledger():  # type: ignore[no-untyped-def]
    ledger, views = memory_ledger()
    ledger.record([make_record(f"r{i}", minutes=i) for i in range(4)])
    ledger.annotate("r1", tags={"k": "v"})
    archive = InMemoryArchive()
    raw = raw_log_of(ledger)
    RecordPersister(ledger.events, raw, archive).run()
    ledger.catch_up()
    log = raw_log_of(ledger, views)
    ship_log(log, archive, "L")
    return ledger, log, archive


def test_an_intact_ledger_has_no_discrepancies() -> None:
    _, log, archive = audited_ledger()
    report = audit(log, archive)
    assert report.ok, report.discrepancies
    assert report.events == len(log.stored)
    assert report.archived == len(log.stored)
    assert report.records == 4


def test_a_changed_event_is_named_by_its_position_in_the_chain_and_against_the_archive() -> None:
    _, log, archive = audited_ledger()
    index = next(i for i, r in enumerate(log.stored) if r.version == 1 and b"r1" in r.state)
    row = log.stored[index]
    log.stored[index] = replace(row, state=row.state.replace(b'"dt":0.5', b'"dt":0.7'))
    report = audit(log, archive)
    checks = {(d.check, d.position) for d in report.discrepancies}
    assert ("chain", row.position) in checks
    assert ("archive", row.position) in checks


def test_a_removed_event_is_named() -> None:
    _, log, archive = audited_ledger()
    index = next(i for i, r in enumerate(log.stored) if r.version == 2)
    removed = log.stored.pop(index)
    report = audit(log, archive)
    assert any(
        d.position == removed.position and d.check == "archive" for d in report.discrepancies
    )


def test_a_flipped_byte_in_a_segment_names_the_segment() -> None:
    _, log, archive = audited_ledger()
    ((manifest, _),) = iter_manifests(archive)
    data = bytearray(archive.objects[manifest.segment])
    data[-10] ^= 0x01
    archive.objects[manifest.segment] = bytes(data)
    report = audit(log, archive)
    assert not report.ok
    assert any(manifest.segment in (d.file or "") for d in report.discrepancies)


def test_a_missing_or_changed_record_file_names_the_execution() -> None:
    _, log, archive = audited_ledger()
    del archive.objects[record_key("default", "ocean", "r0")]
    archive.objects[record_key("default", "ocean", "r2")] += b" "
    report = audit(log, archive)
    named = {d.execution for d in report.discrepancies if d.check == "record"}
    assert named == {"default/ocean/r0", "default/ocean/r2"}


def test_events_not_yet_archived_are_reported() -> None:
    _, log, _ = audited_ledger()
    report = audit(log, InMemoryArchive())
    assert report.not_yet_archived == len(log.stored)
    assert not report.ok
