"""Use case: record executions, idempotently, choosing canonicals in the same atomic save."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from ..bulk_tuning import paused_cycle_collector, prompt_handoffs
from ..domain.canonical import batch_order_key
from ..domain.case import Case
from ..domain.context import correlated
from ..domain.execution import Execution
from ..domain.ids import case_id, execution_id
from ..domain.progress import progress
from ..domain.record import ExecutionRecord, Status
from .ports import EventStore, PreparedSave

if TYPE_CHECKING:
    from concurrent.futures import Future

MAX_ATTEMPTS = 8
_END: Any = object()  # the end of an iterator of batches


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"  # seen again with progress (domain/progress.py): new events
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class RecordResult:
    execution_id: str
    case: str
    outcome: Outcome
    status: Status
    position: int = 0
    canonical: bool = False
    conflicting_fields: list[str] = field(default_factory=list)
    changed_fields: list[str] = field(default_factory=list)  # UPDATED: what moved

    @property
    def message(self) -> str:
        if self.outcome is Outcome.CONFLICT:
            return (
                f"execution {self.execution_id!r} of {self.case} was recorded before with "
                f"different content in: {', '.join(self.conflicting_fields)} (nothing changed)"
            )
        if self.outcome is Outcome.DUPLICATE:
            return f"execution {self.execution_id!r} of {self.case} is already recorded"
        if self.outcome is Outcome.UPDATED:
            return f"updated {self.execution_id!r} of {self.case}: {', '.join(self.changed_fields)}"
        return f"recorded {self.execution_id!r} of {self.case}"


@dataclass
class _Prepared:
    """One batch ready to write: what was found stored, and the new events, encoded."""

    records: Sequence[ExecutionRecord]
    unique: dict[UUID, ExecutionRecord]
    repeated: list[RecordResult]
    found: dict[UUID, RecordResult]  # duplicates and conflicts of stored executions
    created: list[tuple[UUID, ExecutionRecord]] = field(default_factory=list)
    updated: dict[UUID, tuple[Execution, list[str]]] = field(default_factory=dict)
    chosen: set[UUID] = field(default_factory=set)
    save: PreparedSave | None = None

    def results(self, position: int) -> list[RecordResult]:
        written = {
            key: RecordResult(
                record.execution_id,
                record.case_key,
                Outcome.CREATED,
                record.status,
                position=position,
                canonical=key in self.chosen,
            )
            for key, record in self.created
        }
        for key, (execution, changed) in self.updated.items():
            record = execution.record
            written[key] = RecordResult(
                record.execution_id,
                record.case_key,
                Outcome.UPDATED,
                record.status,
                position=position,
                canonical=key in self.chosen,
                changed_fields=changed,
            )
        ordered = [self.found.get(k) or written[k] for k in self.unique]
        return [*ordered, *self.repeated]


@dataclass
class _InFlight:
    prepared: _Prepared
    position: Future[int]  # the save, running on the writer thread


class ExecutionRecorder:
    """Records batches of executions; keeps recently used cases in memory between batches."""

    def __init__(self, store: EventStore, case_cache_size: int = 10_000) -> None:
        self.store = store
        self._cases: OrderedDict[UUID, Case] = OrderedDict()
        self._cache_size = case_cache_size

    def record(self, records: Sequence[ExecutionRecord]) -> list[RecordResult]:
        """Record a batch in one atomic save. Order within the batch: start time, then id."""
        unique, repeated = _dedupe(records)
        for attempt in range(MAX_ATTEMPTS):
            try:
                prepared = self._prepare(records, unique, repeated)
                position = self.store.commit(prepared.save) if prepared.save else 0
                return prepared.results(position)
            except IntegrityError:
                # Another writer appended to one of these aggregates first: reload and retry.
                self._cases.clear()
                if attempt == MAX_ATTEMPTS - 1:
                    raise
            except BaseException:
                self._cases.clear()  # cached cases may hold events that were never saved
                raise
        raise AssertionError("unreachable")

    def record_batches(
        self, batches: Iterable[Sequence[ExecutionRecord]]
    ) -> Iterator[list[RecordResult]]:
        """Record batch after batch, each in one atomic save exactly as `record` does, while
        the next batch is read and prepared: that work overlaps the database's (bulk ingest).

        Yields each batch's results once its save has committed. A batch that shares an
        execution with the one being written waits for it; a save that loses a race with
        another writer is redone, with the batch prepared after it, one at a time. If reading
        the batches fails, the batch being written is still written (its results are not
        yielded) and the error is raised."""
        iterator = iter(batches)
        first = next(iterator, _END)
        if first is _END:
            return
        second = next(iterator, _END)
        if second is _END:  # one batch: nothing to overlap, no writer thread
            yield self.record(first)
            return
        with paused_cycle_collector(), prompt_handoffs():
            yield from self._pipelined(chain([first, second], iterator))

    def _pipelined(
        self, batches: Iterator[Sequence[ExecutionRecord]]
    ) -> Iterator[list[RecordResult]]:
        from concurrent.futures import ThreadPoolExecutor  # bulk paths only: keeps `run` lean

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="provledger-save") as writer:
            flight: _InFlight | None = None
            while True:
                try:
                    records = next(batches, _END)
                except BaseException:
                    if flight is not None:
                        self._settle(flight)  # written, though its results go unreported
                    raise
                if records is _END:
                    break
                unique, repeated = _dedupe(records)
                if flight is not None and not flight.prepared.unique.keys().isdisjoint(unique):
                    yield self._settle(flight)
                    flight = None
                try:
                    prepared = self._prepare(records, unique, repeated)
                except BaseException:
                    self._cases.clear()
                    if flight is not None:
                        yield self._settle(flight)
                    raise
                if flight is not None:
                    landed = self._land(flight)
                    if landed is None:  # lost a race: `prepared` assumed it had won
                        yield self.record(flight.prepared.records)
                        yield self.record(records)
                        flight = None
                        continue
                    yield landed
                    flight = None
                if prepared.save is None:
                    yield prepared.results(0)
                else:
                    flight = _InFlight(prepared, writer.submit(self.store.commit, prepared.save))
            if flight is not None:
                yield self._settle(flight)

    def _settle(self, flight: _InFlight) -> list[RecordResult]:
        """A batch's results once written: its own save's, or a redo's if that lost a race."""
        landed = self._land(flight)
        return landed if landed is not None else self.record(flight.prepared.records)

    def _land(self, flight: _InFlight) -> list[RecordResult] | None:
        """Wait for a batch's save: its results, or None if another writer got there first."""
        try:
            position = flight.position.result()
        except IntegrityError:
            self._cases.clear()
            return None
        except BaseException:
            self._cases.clear()
            raise
        return flight.prepared.results(position)

    def _prepare(
        self,
        records: Sequence[ExecutionRecord],
        unique: dict[UUID, ExecutionRecord],
        repeated: list[RecordResult],
    ) -> _Prepared:
        prepared = _Prepared(records, unique, repeated, {})
        with correlated():  # one batch, one operation
            for key in self.store.existing(unique):
                stored = self.store.get(key)
                assert isinstance(stored, Execution)
                seen = stored.update(unique[key])  # progress becomes events; a conflict, none
                if stored.pending_events:
                    prepared.updated[key] = (stored, seen.changed or ["tags"])
                else:
                    prepared.found[key] = _result(unique[key], seen.conflicts)
            seen_before = prepared.found.keys() | prepared.updated.keys()
            new = [r for k, r in unique.items() if k not in seen_before]
            updated = [execution for execution, _ in prepared.updated.values()]
            if not new and not updated:
                return prepared
            cases = self._load_cases([*new, *(e.record for e in updated)])
            executions = [Execution.record_new(r) for r in new]
            for execution in [*executions, *updated]:
                case = cases[execution.case_id]
                case.take_group(execution.record.group)
                if case.choose_first_successful(execution.id, execution.record):
                    prepared.chosen.add(execution.id)
            prepared.created = [(e.id, e.record) for e in executions]
            touched = [c for c in cases.values() if c.pending_events]
            # Cases first: read models see a case opened before its executions arrive.
            prepared.save = self.store.prepare(*touched, *executions, *updated)
        self._remember(cases.values())
        return prepared

    def _load_cases(self, records: list[ExecutionRecord]) -> dict[UUID, Case]:
        wanted: dict[UUID, ExecutionRecord] = {}
        for r in records:
            wanted.setdefault(case_id(r.namespace, r.case), r)
        cases = {k: self._cases[k] for k in wanted if k in self._cases}
        missing = [k for k in wanted if k not in cases]
        stored = self.store.existing(missing)
        for key in missing:
            if key in stored:
                case = self.store.get(key)
                assert isinstance(case, Case)
                cases[key] = case
            else:
                first = wanted[key]
                cases[key] = Case.open(first.namespace, first.case, first.group)
        return cases

    def _remember(self, cases: Iterable[Case]) -> None:
        for case in cases:
            self._cases[case.id] = case
            self._cases.move_to_end(case.id)
        while len(self._cases) > self._cache_size:
            self._cases.popitem(last=False)


def _dedupe(
    records: Sequence[ExecutionRecord],
) -> tuple[dict[UUID, ExecutionRecord], list[RecordResult]]:
    """A batch's executions by id, in batch order (start time, then id), and its repeats."""
    unique: dict[UUID, ExecutionRecord] = {}
    repeated: list[RecordResult] = []
    for record in sorted(records, key=batch_order_key):
        key = execution_id(case_id(record.namespace, record.case), record.execution_id)
        if key in unique:  # the same execution twice in a batch: one record, merged
            seen = progress(unique[key], record)
            if seen.record is not None:
                unique[key] = seen.record
            elif seen.tags and not seen.conflicts:
                tags = {**unique[key].tags, **seen.tags}
                unique[key] = msgspec.structs.replace(unique[key], tags=tags)
            if seen.is_news:
                changed = seen.changed or ["tags"]
                repeated.append(
                    RecordResult(
                        record.execution_id,
                        record.case_key,
                        Outcome.UPDATED,
                        unique[key].status,
                        changed_fields=changed,
                    )
                )
            else:
                repeated.append(_result(record, seen.conflicts))
        else:
            unique[key] = record
    return unique, repeated


def _result(incoming: ExecutionRecord, conflicts: list[str]) -> RecordResult:
    """A record that added nothing: a duplicate, or a conflict naming what differs."""
    return RecordResult(
        incoming.execution_id,
        incoming.case_key,
        Outcome.CONFLICT if conflicts else Outcome.DUPLICATE,
        incoming.status,
        conflicting_fields=conflicts,
    )
