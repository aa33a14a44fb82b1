"""Bulk recording: each batch saved while the next is prepared, with the results and events of
recording the batches one at a time, whatever goes wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from provledger.application.ports import PreparedSave
from provledger.application.record_executions import ExecutionRecorder, Outcome
from provledger.domain.ids import case_id
from provledger.domain.record import ExecutionRecord, Status
from tests.fakes import memory_event_store, memory_ledger
from tests.unit.records import make_record


def batches_of(count: int, size: int, cases: int = 3) -> list[list[ExecutionRecord]]:
    records = [
        make_record(
            f"run-{i}",
            case=f"case-{i % cases}",
            status=Status.FAILED if i % 4 == 0 else Status.SUCCEEDED,
            minutes=i,
            params={"dt": i},
        )
        for i in range(count)
    ]
    return [records[i : i + size] for i in range(0, count, size)]


def canonicals(events: Any) -> dict[str, str]:
    """Each case's canonical execution id, from the CanonicalChosen events in the log."""
    chosen: dict[str, str] = {}
    for item in events.read(0, 100_000):
        if type(item.event).__name__ == "CanonicalChosen":
            chosen[str(item.event.originator_id)] = item.event.execution_id
    return chosen


def recorded_ids(events: Any) -> list[str]:
    """The execution ids of every ExecutionRecorded event in the log, in log order."""
    return [
        item.event.record.execution_id
        for item in events.read(0, 100_000)
        if type(item.event).__name__ == "Recorded"
    ]


def record_until_the_reader_fails(
    recorder: ExecutionRecorder, batches: list[list[ExecutionRecord]], error: OSError
) -> list[str]:
    """Record `batches` from a reader that then raises `error`; the ids reported before it."""

    def failing() -> Iterator[list[ExecutionRecord]]:
        yield from batches
        raise error

    seen: list[str] = []

    def consume() -> None:
        for results in recorder.record_batches(failing()):
            seen.extend(r.execution_id for r in results)

    with pytest.raises(OSError, match=str(error)):
        consume()
    return seen


class RacingStore:
    """An event store where another writer records into the same case just before our first
    commit, so that commit fails with IntegrityError as it would against a real database."""

    def __init__(self, racer_record: ExecutionRecord, race_on: int = 1) -> None:
        self.inner = memory_event_store()
        self.racer = ExecutionRecorder(self.inner)
        self.racer_record = racer_record
        self.race_on = race_on
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def prepare(self, *aggregates: Aggregate) -> PreparedSave:
        return self.inner.prepare(*aggregates)

    def commit(self, prepared: PreparedSave) -> int:
        self.commits += 1
        if self.commits == self.race_on:
            self.racer.record([self.racer_record])
        return self.inner.commit(prepared)


def test_batches_recorded_while_the_next_is_prepared_match_recording_them_one_at_a_time() -> None:
    batches = batches_of(40, 7)
    pipelined, _ = memory_ledger()
    one_by_one, _ = memory_ledger()
    results = [r for rs in pipelined.recorder.record_batches(batches) for r in rs]
    expected = [r for batch in batches for r in one_by_one.recorder.record(batch)]
    assert [(r.execution_id, r.outcome, r.canonical) for r in results] == [
        (r.execution_id, r.outcome, r.canonical) for r in expected
    ]
    assert pipelined.events.max_position() == one_by_one.events.max_position()
    assert canonicals(pipelined.events) == canonicals(one_by_one.events)


def test_each_batch_reports_the_position_its_save_reached() -> None:
    ledger, _ = memory_ledger()
    positions = [rs[0].position for rs in ledger.recorder.record_batches(batches_of(30, 10))]
    assert positions == sorted(positions)
    assert positions[-1] == ledger.events.max_position()


def test_an_execution_repeated_in_the_next_batch_is_a_duplicate_recorded_once() -> None:
    ledger, _ = memory_ledger()
    first = [make_record("a"), make_record("b", minutes=1)]
    second = [make_record("b", minutes=1), make_record("c", minutes=2)]
    third = [make_record("c", minutes=2, params={"dt": 9})]
    results = list(ledger.recorder.record_batches([first, second, third]))
    assert [[r.outcome for r in rs] for rs in results] == [
        [Outcome.CREATED, Outcome.CREATED],
        [Outcome.DUPLICATE, Outcome.CREATED],
        [Outcome.CONFLICT],
    ]
    assert len(ledger.events.read(0, 100)) == 1 + 1 + 3  # opened, canonical, three recorded


def test_a_save_that_loses_a_race_is_redone_with_the_batch_prepared_after_it() -> None:
    racer = make_record("racer", case="case-0", status=Status.SUCCEEDED, minutes=-100)
    store = RacingStore(racer)
    recorder = ExecutionRecorder(store)  # type: ignore[arg-type]
    batches = batches_of(12, 4)
    results = [r for rs in recorder.record_batches(batches) for r in rs]
    assert store.commits > len(batches)  # the first save failed and was redone
    assert [r.outcome for r in results] == [Outcome.CREATED] * 12
    assert sorted(recorded_ids(store.inner)) == sorted(["racer", *(f"run-{i}" for i in range(12))])
    chosen = canonicals(store.inner)
    assert len(chosen) == 3  # one per case, and the racer (earlier, successful) kept case-0
    assert "racer" in chosen.values()


def test_a_reader_failing_mid_ingest_keeps_every_batch_already_handed_over() -> None:
    ledger, _ = memory_ledger()
    batches = batches_of(20, 5)
    error = OSError("disk went away while reading records")
    seen = record_until_the_reader_fails(ledger.recorder, batches[:2], error)
    recorded = set(recorded_ids(ledger.events))
    assert recorded == {r.execution_id for r in batches[0] + batches[1]}
    assert set(seen) <= recorded
    # The recorder is still consistent: recording again finds duplicates and adds the rest.
    again = [r for rs in ledger.recorder.record_batches(batches) for r in rs]
    assert sum(r.outcome is Outcome.DUPLICATE for r in again) == 10
    assert sum(r.outcome is Outcome.CREATED for r in again) == 10


def test_a_single_batch_is_recorded_without_a_writer_thread() -> None:
    ledger, _ = memory_ledger()
    before = threading.active_count()
    (results,) = ledger.recorder.record_batches([[make_record("a")]])
    assert threading.active_count() == before
    assert results[0].outcome is Outcome.CREATED


def test_a_reader_failing_while_a_save_loses_a_race_still_gets_that_batch_recorded() -> None:
    racer = make_record("racer", case="x", minutes=-100)
    # The second batch's save loses: it and the racer both choose x's first success.
    store = RacingStore(racer, race_on=2)
    recorder = ExecutionRecorder(store)  # type: ignore[arg-type]
    batches = [
        [make_record(f"run-{i}", case="x", status=Status.FAILED, minutes=i) for i in range(4)],
        [make_record(f"run-{i}", case="x", minutes=i) for i in range(4, 8)],
    ]
    record_until_the_reader_fails(recorder, batches, OSError("the next file could not be read"))
    assert store.commits > 2  # the second save failed and was redone
    assert set(recorded_ids(store.inner)) == {"racer", *(f"run-{i}" for i in range(8))}
    assert canonicals(store.inner) == {str(case_id("default", "x")): "racer"}
