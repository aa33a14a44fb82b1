"""Use case: record executions, idempotently, choosing canonicals in the same atomic save."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ..domain.canonical import batch_order_key
from ..domain.case import Case
from ..domain.context import correlated
from ..domain.execution import Execution
from ..domain.ids import case_id, execution_id
from ..domain.record import ExecutionRecord, Status, differing_fields
from .ports import EventStore

MAX_ATTEMPTS = 8


class Outcome(StrEnum):
    CREATED = "created"
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

    @property
    def message(self) -> str:
        if self.outcome is Outcome.CONFLICT:
            return (
                f"execution {self.execution_id!r} of {self.case} was recorded before with "
                f"different content in: {', '.join(self.conflicting_fields)} (nothing changed)"
            )
        if self.outcome is Outcome.DUPLICATE:
            return f"execution {self.execution_id!r} of {self.case} is already recorded"
        return f"recorded {self.execution_id!r} of {self.case}"


class ExecutionRecorder:
    """Records batches of executions; keeps recently used cases in memory between batches."""

    def __init__(self, store: EventStore, case_cache_size: int = 10_000) -> None:
        self.store = store
        self._cases: OrderedDict[UUID, Case] = OrderedDict()
        self._cache_size = case_cache_size

    def record(self, records: Sequence[ExecutionRecord]) -> list[RecordResult]:
        """Record a batch in one atomic save. Order within the batch: start time, then id."""
        results: dict[UUID, RecordResult] = {}
        unique: dict[UUID, ExecutionRecord] = {}
        repeated: list[RecordResult] = []
        for record in sorted(records, key=batch_order_key):
            key = execution_id(case_id(record.namespace, record.case), record.execution_id)
            if key in unique:
                repeated.append(_compare(unique[key], record, position=0))
            else:
                unique[key] = record
        for attempt in range(MAX_ATTEMPTS):
            try:
                with correlated():  # one batch, one operation
                    results = self._attempt(unique)
                break
            except IntegrityError:
                # Another writer appended to one of these aggregates first: reload and retry.
                self._cases.clear()
                if attempt == MAX_ATTEMPTS - 1:
                    raise
            except BaseException:
                self._cases.clear()  # cached cases may hold events that were never saved
                raise
        return [*results.values(), *repeated]

    def _attempt(self, unique: dict[UUID, ExecutionRecord]) -> dict[UUID, RecordResult]:
        results: dict[UUID, RecordResult] = {}
        for key in self.store.existing(unique):
            stored = self.store.get(key)
            assert isinstance(stored, Execution)
            results[key] = _compare(stored.record, unique[key], position=0)
        new_records = [r for k, r in unique.items() if k not in results]
        if not new_records:
            return results
        cases = self._load_cases(new_records)
        executions = [Execution.record_new(r) for r in new_records]
        chosen = {
            e.id
            for e, r in zip(executions, new_records, strict=True)
            if cases[e.case_id].choose_first_successful(e.id, r)
        }
        touched = [c for c in cases.values() if c.pending_events]
        # Cases first: read models see a case opened before its executions arrive.
        position = self.store.save(*touched, *executions)
        for execution, record in zip(executions, new_records, strict=True):
            results[execution.id] = RecordResult(
                record.execution_id,
                record.case_key,
                Outcome.CREATED,
                record.status,
                position=position,
                canonical=execution.id in chosen,
            )
        self._remember(cases.values())
        return {k: results[k] for k in unique if k in results}

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


def _compare(stored: ExecutionRecord, incoming: ExecutionRecord, position: int) -> RecordResult:
    fields = differing_fields(stored, incoming)
    outcome = Outcome.CONFLICT if fields else Outcome.DUPLICATE
    return RecordResult(
        incoming.execution_id,
        incoming.case_key,
        outcome,
        incoming.status,
        position=position,
        conflicting_fields=fields,
    )
