import pytest

from provledger.adapters.archive.memory import InMemoryArchive, InMemoryRawLog
from provledger.application.archive_log import iter_manifests, ship_log
from provledger.application.restore import restore
from provledger.application.stored_log import CorruptArchiveError, StoreNotEmptyError
from tests.unit.test_archive_log_segments import rows


def shipped(n: int = 30) -> tuple[InMemoryRawLog, InMemoryArchive]:
    log, archive = InMemoryRawLog(rows(n)), InMemoryArchive()
    ship_log(log, archive, "L", segment_events=10)
    return log, archive


def test_restore_appends_every_archived_event_with_its_position_and_bytes() -> None:
    log, archive = shipped()
    target = InMemoryRawLog()
    summary = restore(target, archive, batch_size=7)
    assert (summary.events, summary.segments, summary.ledger_id) == (30, 3, "L")
    assert target.stored == log.stored
    assert target.ledger_id == "L"


def test_restore_refuses_a_store_that_is_not_empty() -> None:
    _, archive = shipped()
    with pytest.raises(StoreNotEmptyError, match="already holds 2 events"):
        restore(InMemoryRawLog(rows(2)), archive)


def test_restore_refuses_a_corrupt_segment_and_writes_nothing_of_it() -> None:
    _, archive = shipped()
    manifest = [m for m, _ in iter_manifests(archive)][1]
    archive.objects[manifest.segment] = archive.objects[manifest.segment][:-1]
    target = InMemoryRawLog()
    with pytest.raises(CorruptArchiveError, match=manifest.segment):
        restore(target, archive)
    assert [r.position for r in target.stored] == list(range(1, 11))


def test_restore_from_an_empty_archive_says_so() -> None:
    with pytest.raises(CorruptArchiveError, match="no event-log segments"):
        restore(InMemoryRawLog(), InMemoryArchive())
