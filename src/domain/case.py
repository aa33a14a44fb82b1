"""The Case aggregate: a named group of executions with one canonical baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from .base import LedgerEvent
from .canonical import FIRST_SUCCESSFUL, MANUAL
from .errors import CanonicalRuleError
from .ids import case_id
from .record import ExecutionRecord, Status


class Case(Aggregate, created_event_name="Opened"):
    TOPIC = "provledger:Case"

    class Event(LedgerEvent):
        TOPIC = "provledger:Case.Event"

    class Created(Event, Aggregate.Created):
        """Unused base creation event (the library defines one; its topic must be unique)."""

        TOPIC = "provledger:Case.Created"

    class Opened(Event, Aggregate.Created):
        """CaseOpened: the first execution of this case arrived."""

        TOPIC = "provledger:CaseOpened"
        namespace: str
        name: str
        group: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.namespace = self.namespace
            aggregate.name = self.name
            aggregate.group = self.group
            aggregate.canonical = None
            aggregate.canonical_external_id = None

    class CanonicalChosen(Event):
        TOPIC = "provledger:CanonicalChosen"
        execution: UUID
        execution_id: str
        reason: str
        previous: UUID | None
        previous_execution_id: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.canonical = self.execution
            aggregate.canonical_external_id = self.execution_id

    class Grouped(Event):
        """CaseGrouped: a case opened without a group takes the first one an execution names."""

        TOPIC = "provledger:CaseGrouped"
        group: str

        def apply(self, aggregate: Any) -> None:
            aggregate.group = self.group

    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        namespace: str
        name: str
        group: str | None
        canonical: UUID | None
        canonical_external_id: str | None

    @classmethod
    def open(cls, namespace: str, name: str, group: str | None = None) -> Case:
        return cls._create(
            cls.Opened, id=case_id(namespace, name), namespace=namespace, name=name, group=group
        )

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def take_group(self, group: str | None) -> None:
        """A case without a group takes the first group an execution names; a group once set
        stays (another execution naming another group changes nothing)."""
        if self.group is None and group:
            self.trigger_event(self.Grouped, group=group)

    def choose_first_successful(self, execution: UUID, record: ExecutionRecord) -> bool:
        """Make `record` canonical if the case has none yet and it succeeded. A child run
        (`parent` set) is never the case's baseline; neither is a later success replacing an
        earlier canonical, whenever the later one started."""
        if (
            self.canonical is not None
            or record.status is not Status.SUCCEEDED
            or record.parent is not None
        ):
            return False
        self._choose(execution, record.execution_id, FIRST_SUCCESSFUL, None)
        return True

    def choose_manually(self, execution: UUID, record: ExecutionRecord, note: str) -> None:
        if not note or not note.strip():
            raise CanonicalRuleError("a manual canonical choice needs a reason")
        if record.status is not Status.SUCCEEDED:
            raise CanonicalRuleError(
                f"execution {record.execution_id!r} is {record.status.value}: "
                "only a succeeded execution can be canonical"
            )
        if execution == self.canonical:
            raise CanonicalRuleError(f"execution {record.execution_id!r} is already canonical")
        self._choose(execution, record.execution_id, MANUAL, note.strip())

    def _choose(self, execution: UUID, external_id: str, reason: str, note: str | None) -> None:
        self.trigger_event(
            self.CanonicalChosen,
            execution=execution,
            execution_id=external_id,
            reason=reason,
            previous=self.canonical,
            previous_execution_id=self.canonical_external_id,
            note=note,
        )
