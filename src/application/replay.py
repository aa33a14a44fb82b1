"""Use case: the cases and executions as they were at a past position or time.

The projections run over the log up to that point into an in-memory session of their own;
the live read models are never touched. Callers pass the cases and executions projections:
a snapshot shows those two, and the search projection (typed values, metrics, files for
queries and lineage) adds nothing to them, so replaying it would only cost time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..projections.tables import CASES, EXECUTIONS, Table
from ..projections.views import Projection, Row
from .ports import EventStore


class MemorySession:
    """A ViewSession over plain dicts: every row of every table in memory."""

    def __init__(self) -> None:
        self.scratch: dict[str, Any] = {}
        self.tables: dict[str, dict[str, Row]] = {}

    def get(self, table: Table, key: str) -> Row | None:
        row = self.tables.get(table.name, {}).get(key)
        return dict(row) if row is not None else None

    def put(self, table: Table, row: Row) -> None:
        self.tables.setdefault(table.name, {})[row[table.key]] = dict(row)

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        return [dict(r) for r in self.tables.get(table.name, {}).values() if r.get(column) == value]

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        """Everything is in memory already."""


@dataclass
class Snapshot:
    position: int
    at: datetime | None
    cases: list[Row] = field(default_factory=list)
    executions: list[Row] = field(default_factory=list)


def replay(
    events: EventStore,
    projections: Sequence[Projection],
    *,
    position: int | None = None,
    as_of: datetime | None = None,
    batch_size: int = 1000,
) -> Snapshot:
    """Apply events up to `position` (inclusive) or up to the last one stamped <= `as_of`."""
    if position is None and as_of is None:
        raise ValueError("replay needs a position or a timestamp")
    if position is not None and position < 0:
        raise ValueError(f"position must be 0 or more, not {position}")
    session = MemorySession()
    reached, at, after = 0, None, 0
    limit = position if position is not None else events.max_position()
    done = False
    while not done and after < limit:
        batch = events.read(after, min(batch_size, limit - after))
        if not batch:
            break
        for item in batch:
            stamp = getattr(item.event, "timestamp", None)
            if as_of is not None and stamp is not None and _aware(stamp) > _aware(as_of):
                done = True
                break
            for projection in projections:
                projection.handle(session, item.position, item.event)
            reached, at = item.position, stamp
        after = batch[-1].position
    session.scratch.clear()
    return Snapshot(
        reached,
        at,
        sorted(
            session.tables.get(CASES.name, {}).values(), key=lambda r: (r["namespace"], r["name"])
        ),
        sorted(
            session.tables.get(EXECUTIONS.name, {}).values(),
            key=lambda r: (r["case_id"], r["started"] or "", r["execution_id"]),
        ),
    )


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
