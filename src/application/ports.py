"""The ports use cases depend on. Adapters implement them; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class PositionedEvent:
    """A stored domain event and its position in the ledger's log."""

    position: int
    event: Any


class EventStore(Protocol):
    """The append-only log of domain events, with the aggregates built from it."""

    def get(self, aggregate_id: UUID) -> Aggregate | None: ...

    def save(self, *aggregates: Aggregate) -> int:
        """Append every pending event atomically; return the last position written."""
        ...

    def existing(self, aggregate_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates have events already (one query, not one per id)."""
        ...

    def history(self, aggregate_id: UUID) -> list[PositionedEvent]: ...

    def read(self, after: int, limit: int) -> Sequence[PositionedEvent]: ...

    def max_position(self) -> int: ...

    def close(self) -> None: ...


class ReadModels(Protocol):
    """Lookups the use cases need from the read models."""

    def executions_matching(self, ref: str) -> list[dict[str, Any]]: ...

    def cases_matching(self, ref: str) -> list[dict[str, Any]]: ...
