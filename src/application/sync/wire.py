"""Events on the wire: an execution's syncable events as plain JSON, keeping their provenance.

An event travels as `{"topic", "state"}`; `state` is the event's fields (timestamp, actor,
correlation id, origin ledger, payload) without its originator id and version, which the
receiving ledger assigns. Only events that describe the execution itself travel: what one ledger
did with it locally (`Committed`, `Pushed`, `RecordPersisted`, `Published`) stays local.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import get_topic, resolve_topic

from ...domain.errors import DomainError
from ...domain.execution import Execution
from ...domain.topics import register_topics

SYNCED = (
    Execution.Recorded,
    Execution.Finished,
    Execution.Updated,
    Execution.Observed,
    Execution.Annotated,
    Execution.Reused,
    Execution.Retracted,
    Execution.ReproductionRequested,
)
SYNCED_TOPICS = frozenset(cls.TOPIC for cls in SYNCED)


class SyncError(DomainError):
    """A sync request or answer that cannot be used as it is."""


class RemoteUnavailableError(SyncError):
    """The remote ledger did not answer (down, unreachable, or refusing)."""


@dataclass(frozen=True)
class WireEvent:
    topic: str
    state: dict[str, Any]

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies one event on every ledger: type, time, who, why, where first."""
        s = self.state
        return (
            self.topic,
            str(s.get("timestamp")),
            str(s.get("actor")),
            str(s.get("correlation_id")),
            str(s.get("ledger")),
        )

    def decode(self, originator_id: UUID, version: int) -> Any:
        """The typed domain event, numbered `version` on the receiving aggregate."""
        register_topics()
        if self.topic not in SYNCED_TOPICS:
            raise SyncError(f"event topic {self.topic!r} is not synced between ledgers")
        cls = resolve_topic(self.topic)
        state = {**self.state, "originator_id": originator_id, "originator_version": version}
        try:
            return msgspec.convert(state, cls, strict=False)
        except (msgspec.ValidationError, TypeError) as e:
            raise SyncError(f"event {self.topic!r} v{version} is not valid: {e}") from e

    def to_builtins(self) -> dict[str, Any]:
        return {"topic": self.topic, "state": self.state}


def to_wire(event: Any) -> WireEvent:
    state = dict(vars(event))
    state.pop("originator_id", None)
    state.pop("originator_version", None)
    return WireEvent(get_topic(type(event)), msgspec.to_builtins(state))


def is_synced(event: Any) -> bool:
    return isinstance(event, SYNCED)


def synced_wire(events: list[Any]) -> list[WireEvent]:
    return [to_wire(e) for e in events if is_synced(e)]
