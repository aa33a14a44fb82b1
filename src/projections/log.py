"""What projections read: the ledger's log of positioned events (the event store's read side).

Defined here, beside the runner, so projections depend on the domain only; the application's
EventStore port (application/ports.py) includes this one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class PositionedEvent:
    """A stored domain event and its position in the ledger's log."""

    position: int
    event: Any


class EventLog(Protocol):
    def read(self, after: int, limit: int) -> Sequence[PositionedEvent]:
        """Up to `limit` events after position `after`, in order."""
        ...

    def max_position(self) -> int: ...
