"""The Execution aggregate: one run of a case, recorded once, annotated and synced later."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from .base import LedgerEvent
from .errors import ExecutionStateError
from .ids import case_id, execution_id
from .progress import Progress, appended, progress
from .record import ExecutionRecord, MetricPoint, ProcessingStep, Status


class Execution(Aggregate, created_event_name="Recorded"):
    TOPIC = "provledger:Execution"

    class Event(LedgerEvent):
        TOPIC = "provledger:Execution.Event"

    class Created(Event, Aggregate.Created):
        """Unused base creation event (the library defines one; its topic must be unique)."""

        TOPIC = "provledger:Execution.Created"

    class Recorded(Event, Aggregate.Created):
        """ExecutionRecorded: the whole record, as it arrived."""

        TOPIC = "provledger:ExecutionRecorded"
        case_id: UUID
        record: ExecutionRecord

        def apply(self, aggregate: Any) -> None:
            aggregate.case_id = self.case_id
            aggregate.record = self.record
            aggregate.tags = dict(self.record.tags)
            aggregate.notes = []
            aggregate.persisted = {}
            aggregate.committed = False
            aggregate.pushed = {}
            aggregate.published = {}
            aggregate.retracted = False

    class Annotated(Event):
        """ExecutionAnnotated: tags set or removed and a note added; the record stays as is."""

        TOPIC = "provledger:ExecutionAnnotated"
        tags: dict[str, str]
        removed_tags: list[str]
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.tags.update(self.tags)
            for name in self.removed_tags:
                aggregate.tags.pop(name, None)
            if self.note:
                aggregate.notes.append(self.note)

    class RecordPersisted(Event):
        TOPIC = "provledger:RecordPersisted"
        location: str
        sha256: str
        size: int

        def apply(self, aggregate: Any) -> None:
            aggregate.persisted[self.location] = self.sha256

    class Finished(Event):
        """ExecutionFinished: a `running` execution's final record (capture: `provledger run`)."""

        TOPIC = "provledger:ExecutionFinished"
        record: ExecutionRecord

        def apply(self, aggregate: Any) -> None:
            aggregate.record = self.record
            aggregate.tags.update(self.record.tags)

    class Updated(Event):
        """ExecutionUpdated: the record seen again with progress (domain/progress.py): the
        merged record, the fields that moved and the status it had before."""

        TOPIC = "provledger:ExecutionUpdated"
        record: ExecutionRecord
        previous_status: Status
        changed: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.record = self.record
            aggregate.tags.update(self.record.tags)

    class Observed(Event):
        """ExecutionObserved: the record seen again only appended observations (metric points,
        log lines, steps), as a run that logs while it runs does; the event holds just those,
        so a run logged a step at a time stores each point once (ExecutionUpdated would store
        the whole record each time)."""

        TOPIC = "provledger:ExecutionObserved"
        metrics: dict[str, list[MetricPoint]]
        logs: list[str]
        steps: list[ProcessingStep]

        def apply(self, aggregate: Any) -> None:
            aggregate.record = observed(aggregate.record, self.metrics, self.logs, self.steps)

    class Reused(Event):
        """ExecutionReused: this execution restored the kept outputs of an identical succeeded
        one (same reuse key, domain/reuse.py) instead of running. Saved with its Finished."""

        TOPIC = "provledger:ExecutionReused"
        original: str  # the original's aggregate id
        original_execution: str  # namespace/case/execution_id
        reuse_key: str
        files: list[str]  # the kept files restored (uris), each verified by its sha256

    class ReproductionRequested(Event):
        TOPIC = "provledger:ReproductionRequested"
        note: str | None

    class Published(Event):
        TOPIC = "provledger:Published"
        location: str
        sha256: str

        def apply(self, aggregate: Any) -> None:
            aggregate.published[self.location] = self.sha256

    class Retracted(Event):
        TOPIC = "provledger:Retracted"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.retracted = True

    class Committed(Event):
        TOPIC = "provledger:Committed"

        def apply(self, aggregate: Any) -> None:
            aggregate.committed = True

    class Pushed(Event):
        TOPIC = "provledger:Pushed"
        remote: str
        remote_position: int

        def apply(self, aggregate: Any) -> None:
            aggregate.pushed[self.remote] = self.remote_position

    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        case_id: UUID
        record: ExecutionRecord
        tags: dict[str, str]
        notes: list[str]
        persisted: dict[str, str]
        committed: bool
        pushed: dict[str, int]
        published: dict[str, str]
        retracted: bool

    @classmethod
    def record_new(cls, record: ExecutionRecord) -> Execution:
        case = case_id(record.namespace, record.case)
        return cls._create(
            cls.Recorded, id=execution_id(case, record.execution_id), case_id=case, record=record
        )

    def annotate(
        self,
        tags: dict[str, str] | None = None,
        remove: list[str] | None = None,
        note: str | None = None,
    ) -> None:
        self.trigger_event(
            self.Annotated, tags=dict(tags or {}), removed_tags=list(remove or []), note=note
        )

    def finish(self, record: ExecutionRecord) -> None:
        """Replace a running execution's record with its final one (same id and case)."""
        if self.record.status is not Status.RUNNING:
            raise ExecutionStateError(
                f"execution {self.record.execution_id!r} is {self.record.status.value}, "
                "not running: its record is final"
            )
        if (record.execution_id, record.case_key) != (
            self.record.execution_id,
            self.record.case_key,
        ):
            raise ExecutionStateError("a finished record must keep its execution id and case")
        self.trigger_event(self.Finished, record=record)

    def update(self, seen: ExecutionRecord) -> Progress:
        """Record what `seen` adds to this execution: ExecutionUpdated for the record's
        progress, ExecutionAnnotated for new or changed tags. A conflict changes nothing."""
        found = progress(self.record, seen, self.tags)
        if found.is_conflict:
            return found
        if found.record is not None and found.observations_only:
            metrics, logs, steps = appended(self.record, found.record)
            self.trigger_event(self.Observed, metrics=metrics, logs=logs, steps=steps)
        elif found.record is not None:
            self.trigger_event(
                self.Updated,
                record=found.record,
                previous_status=self.record.status,
                changed=found.changed,
            )
        elif found.tags:  # an update carries its tags in the record
            self.annotate(tags=found.tags)
        return found

    def mark_reused(
        self, original: UUID, original_execution: str, reuse_key: str, files: list[str]
    ) -> None:
        if self.record.reused_from != original_execution:
            raise ExecutionStateError(
                f"execution {self.record.execution_id!r} does not record that it reused "
                f"{original_execution!r}"
            )
        self.trigger_event(
            self.Reused,
            original=str(original),
            original_execution=original_execution,
            reuse_key=reuse_key,
            files=list(files),
        )

    def request_reproduction(self, note: str | None = None) -> None:
        self.trigger_event(self.ReproductionRequested, note=note)

    def publish(self, location: str, sha256: str) -> None:
        if self.record.status is not Status.SUCCEEDED:
            raise ExecutionStateError(
                f"execution {self.record.execution_id!r} is {self.record.status.value}: "
                "only succeeded executions can be published"
            )
        self.trigger_event(self.Published, location=location, sha256=sha256)

    def retract(self, reason: str) -> None:
        if self.retracted:
            raise ExecutionStateError(
                f"execution {self.record.execution_id!r} is already retracted"
            )
        self.trigger_event(self.Retracted, reason=reason)

    def mark_persisted(self, location: str, sha256: str, size: int) -> None:
        if self.persisted.get(location) == sha256:
            return
        self.trigger_event(self.RecordPersisted, location=location, sha256=sha256, size=size)


# The events that carry an execution's whole record, as it stands after them.
RECORD_EVENTS = (Execution.Recorded, Execution.Finished, Execution.Updated)


def observed(
    record: ExecutionRecord,
    metrics: dict[str, list[MetricPoint]],
    logs: list[str],
    steps: list[ProcessingStep],
) -> ExecutionRecord:
    """`record` with observations appended (what ExecutionObserved does)."""
    merged = {**record.metrics, **{n: [*record.metrics.get(n, []), *p] for n, p in metrics.items()}}
    return msgspec.structs.replace(
        record, metrics=merged, logs=[*record.logs, *logs], steps=[*record.steps, *steps]
    )


# Events after which the execution's record changed (the persister writes it again).
RECORD_CHANGES = (*RECORD_EVENTS, Execution.Observed)
