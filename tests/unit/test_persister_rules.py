import hashlib

import pytest

from provledger.adapters.archive.memory import InMemoryArchive, InMemoryRawLog
from provledger.application.persist_records import (
    RecordPersister,
    record_bytes,
    record_key,
    unpersisted,
)
from provledger.application.stored_log import ArchiveUnavailableError
from provledger.domain.execution import Execution
from provledger.domain.record import FileRef, Status
from tests.fakes import memory_ledger
from tests.unit.archive_support import raw_log_of
from tests.unit.records import make_record


def persisted_events(ledger: object) -> list[Execution.RecordPersisted]:
    events = ledger.events  # type: ignore[attr-defined]
    out = []
    position = 0
    while batch := events.read(position, 1000):
        out += [e.event for e in batch if isinstance(e.event, Execution.RecordPersisted)]
        position = batch[-1].position
    return out


def test_every_final_record_is_written_once_and_marked_persisted_with_its_sha256() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a"), make_record("b", status=Status.FAILED)])
    archive, log = InMemoryArchive(), InMemoryRawLog()
    summary = RecordPersister(ledger.events, log, archive).run()
    assert summary.records == 2
    key = record_key("default", "ocean", "a")
    data = archive.objects[key]
    assert data == record_bytes(ledger.record_of("a"))
    marks = {e.location: e.sha256 for e in persisted_events(ledger)}
    assert marks[f"{archive.url}/{key}"] == hashlib.sha256(data).hexdigest()
    assert RecordPersister(ledger.events, InMemoryRawLog(), archive).run().records == 0
    assert len(persisted_events(ledger)) == 2


def test_execution_ids_of_different_cases_get_different_record_keys() -> None:
    assert record_key("ns", "c1", "run") != record_key("ns", "c2", "run")
    assert record_key("ns", "a/b", "..") == "experiments/ns/a%2Fb/%2E%2E/record.json"


def test_with_the_archive_down_progress_is_kept_and_the_rest_persists_later() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record(f"r{i}", minutes=i) for i in range(5)])
    archive, log = InMemoryArchive(), InMemoryRawLog()
    archive.down = True
    with pytest.raises(ArchiveUnavailableError):
        RecordPersister(ledger.events, log, archive).run()
    ledger.record([make_record("late", minutes=9)])
    archive.down = False
    summary = RecordPersister(ledger.events, log, archive).run()
    assert summary.records == 6
    ledger.catch_up()
    assert list(unpersisted(raw_log_of(ledger, views), archive)) == []


def test_a_running_execution_is_persisted_when_it_finishes() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("r", status=Status.RUNNING)])
    archive, log = InMemoryArchive(), InMemoryRawLog()
    assert RecordPersister(ledger.events, log, archive).run().waiting_running == 1
    assert archive.objects == {}
    execution = ledger.execution("r")
    execution.finish(make_record("r", status=Status.SUCCEEDED))
    ledger.events.save(execution)
    assert RecordPersister(ledger.events, log, archive).run().records == 1
    assert b'"succeeded"' in archive.objects[record_key("default", "ocean", "r")]


def test_the_record_is_written_beside_an_existing_local_output(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "result.nc"
    out.write_bytes(b"data")
    ledger, _ = memory_ledger()
    ledger.record([make_record("a", outputs=[FileRef(uri=str(out))])])
    archive = InMemoryArchive()
    summary = RecordPersister(ledger.events, InMemoryRawLog(), archive).run()
    side = out.with_name("result.record.json")
    assert summary.side_files == 1
    assert side.read_bytes() == record_bytes(ledger.record_of("a"))
    assert side.as_uri() in ledger.execution("a").persisted


def test_a_different_file_beside_the_output_is_not_overwritten(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "result.nc"
    out.write_bytes(b"data")
    side = out.with_name("result.record.json")
    side.write_text("mine")
    ledger, _ = memory_ledger()
    ledger.record([make_record("a", outputs=[FileRef(uri=out.as_uri())])])
    summary = RecordPersister(ledger.events, InMemoryRawLog(), InMemoryArchive()).run()
    assert summary.conflicts == [str(side)]
    assert side.read_text() == "mine"
