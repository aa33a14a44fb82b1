"""The ledger's use cases behind one object: what the CLI, the API and the SDK call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ..domain.case import Case
from ..domain.deltas import Delta, DeltaPolicies, config_deltas
from ..domain.errors import CaseNotFoundError, ExecutionNotFoundError
from ..domain.execution import Execution
from ..domain.record import ExecutionRecord
from .ports import EventStore, PositionedEvent, ReadModels
from .record_executions import ExecutionRecorder, RecordResult

if TYPE_CHECKING:
    from ..projections.runner import ProjectionRunner

BatchProgress = Callable[[int], None]


class AmbiguousReferenceError(ExecutionNotFoundError):
    """A bare id that matches more than one execution or case."""


@dataclass(frozen=True)
class ReadSide:
    """The projections that keep the read models, and the queries over them."""

    runner: ProjectionRunner
    queries: ReadModels


class Ledger:
    """The use cases. The read side is built, and caught up, on first use: a writer that never
    reads (`provledger run`) never imports or opens it."""

    def __init__(
        self,
        events: EventStore,
        read_side: Callable[[], ReadSide],
        *,
        batch_size: int = 1000,
        policies: DeltaPolicies | None = None,
        ledger_id: str = "local",
    ) -> None:
        self.events = events
        self.batch_size = batch_size
        self.policies = policies or DeltaPolicies()
        self.ledger_id = ledger_id
        self.recorder = ExecutionRecorder(events)
        self._build_read_side = read_side
        self._read_side: ReadSide | None = None
        self._read_side_lock = threading.Lock()

    @property
    def read_side(self) -> ReadSide:
        return self._read_side or self._first_read_side()

    def _first_read_side(self) -> ReadSide:
        with self._read_side_lock:
            if self._read_side is None:
                side = self._build_read_side()
                # Current when first handed out: writes that skipped catching up (`run`, in
                # this or another process) are in it before any lookup.
                side.runner.catch_up()
                self._read_side = side
            return self._read_side

    @property
    def runner(self) -> ProjectionRunner:
        return self.read_side.runner

    def runner_as_is(self) -> ProjectionRunner:
        """The projection runner without the first catch-up: a restore loads a snapshot into
        the read models before anything is applied to them."""
        with self._read_side_lock:
            if self._read_side is None:
                self._read_side = self._build_read_side()
            return self._read_side.runner

    @property
    def queries(self) -> ReadModels:
        return self.read_side.queries

    # -- writes -----------------------------------------------------------------------------
    def record(
        self,
        records: Sequence[ExecutionRecord],
        on_batch: BatchProgress | None = None,
        *,
        catch_up: bool = True,
    ) -> list[RecordResult]:
        """Record in batches of `batch_size` (one atomic save each); read models caught up
        unless `catch_up=False` leaves them to their next reader (every read catches up)."""
        results: list[RecordResult] = []
        chunks = (
            records[start : start + self.batch_size]
            for start in range(0, len(records), self.batch_size)
        )
        for chunk_results in self.recorder.record_batches(chunks):
            results += chunk_results
            if on_batch:
                on_batch(len(chunk_results))
        if catch_up:
            self.catch_up()
        return results

    def choose_canonical(self, case_ref: str, execution_ref: str, reason: str) -> int:
        case_row = self.case_row(case_ref)
        execution_row = self.execution_row(execution_ref, case_id=case_row["case_id"])
        for _ in range(5):
            case = self.events.get(UUID(case_row["case_id"]))
            execution = self.events.get(UUID(execution_row["id"]))
            assert isinstance(case, Case)
            assert isinstance(execution, Execution)
            case.choose_manually(execution.id, execution.record, reason)
            try:
                position = self.events.save(case)
            except IntegrityError:
                continue
            self.catch_up()
            return position
        raise IntegrityError("case kept changing; try again")

    def annotate(
        self,
        execution_ref: str,
        tags: dict[str, str] | None = None,
        remove: list[str] | None = None,
        note: str | None = None,
    ) -> int:
        row = self.execution_row(execution_ref)
        for _ in range(5):
            execution = self.events.get(UUID(row["id"]))
            assert isinstance(execution, Execution)
            execution.annotate(tags, remove, note)
            try:
                position = self.events.save(execution)
            except IntegrityError:
                continue
            self.catch_up()
            return position
        raise IntegrityError("execution kept changing; try again")

    # -- reads ------------------------------------------------------------------------------
    def case_row(self, ref: str) -> dict[str, Any]:
        rows = self.queries.cases_matching(ref)
        if not rows:
            raise CaseNotFoundError(f"no case {ref!r}")
        if len(rows) > 1:
            names = ", ".join(f"{r['namespace']}/{r['name']}" for r in rows)
            raise CaseNotFoundError(f"case name {ref!r} is ambiguous: {names}")
        return rows[0]

    def execution_row(self, ref: str, case_id: str | None = None) -> dict[str, Any]:
        rows = self.queries.executions_matching(ref)
        if case_id is not None:
            rows = [r for r in rows if r["case_id"] == case_id]
        if not rows:
            raise ExecutionNotFoundError(f"no execution {ref!r}")
        if len(rows) > 1:
            names = ", ".join(
                f"{r['namespace']}/{r['case_name']}/{r['execution_id']}" for r in rows
            )
            raise AmbiguousReferenceError(f"execution id {ref!r} is ambiguous: {names}")
        return rows[0]

    def execution(self, ref: str) -> Execution:
        row = self.execution_row(ref)
        execution = self.events.get(UUID(row["id"]))
        if not isinstance(execution, Execution):
            raise ExecutionNotFoundError(f"no execution {ref!r}")
        return execution

    def record_of(self, ref: str) -> ExecutionRecord:
        return self.execution(ref).record

    def history(self, ref: str) -> list[PositionedEvent]:
        """The execution aggregate's own events (what `history` shows is `history_with_case`)."""
        return self.events.history(UUID(self.execution_row(ref)["id"]))

    def history_with_case(self, ref: str, case_id: str | None = None) -> list[PositionedEvent]:
        """What `provledger history` and `GET /executions/{id}/history` show (`history_of`)."""
        row = self.execution_row(ref, case_id)
        return self.history_of(UUID(row["id"]), UUID(row["case_id"]))

    def history_of(self, execution: UUID, case: UUID) -> list[PositionedEvent]:
        """The execution's events and its case's canonical choices that name it (chosen, or
        replaced: `CanonicalChosen.previous`), in log order."""
        concerning = [
            item
            for item in self.events.history(case)
            if isinstance(item.event, Case.CanonicalChosen)
            and execution in (item.event.execution, item.event.previous)
        ]
        return sorted([*self.events.history(execution), *concerning], key=lambda e: e.position)

    def diff(self, ref_a: str, ref_b: str) -> Delta:
        a, b = self.record_of(ref_a), self.record_of(ref_b)
        return config_deltas(a, b, self.policies.for_record(b))

    def catch_up(self) -> None:
        """Bring the read models up to the log (building the read side does that itself)."""
        if self._read_side is None:
            self._first_read_side()
        else:
            self._read_side.runner.catch_up()

    def close(self) -> None:
        self.events.close()
