"""In-memory fakes beside the real adapters, for unit tests with no I/O."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from provledger.adapters.events.store import EventsourcingEventStore
from provledger.application.ledger import Ledger, ReadSide
from provledger.domain.deltas import DeltaPolicies
from provledger.projections.runner import ProjectionRunner
from provledger.projections.tables import Table
from provledger.projections.views import CasesView, ExecutionsView, Projection, Row, SearchView


def memory_event_store() -> EventsourcingEventStore:
    """The real event-store adapter on eventsourcing's in-memory (POPO) recorder."""
    return EventsourcingEventStore({"PERSISTENCE_MODULE": "eventsourcing.popo"})


class MemorySession:
    def __init__(self, tables: dict[str, dict[str, Row]], positions: dict[str, int]) -> None:
        self.tables = tables
        self.positions = positions
        self.scratch: dict[str, Any] = {}

    def get(self, table: Table, key: str) -> Row | None:
        row = self.tables.setdefault(table.name, {}).get(key)
        return copy.deepcopy(row) if row is not None else None

    def put(self, table: Table, row: Row) -> None:
        self.tables.setdefault(table.name, {})[row[table.key]] = copy.deepcopy(row)

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        pass

    def checkpoint(self, position: int) -> None:
        for name in self.positions:
            self.positions[name] = position

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        return [
            copy.deepcopy(r)
            for r in self.tables.setdefault(table.name, {}).values()
            if r.get(column) == value
        ]


class MemoryViewStore:
    """ViewStore fake: tables as dicts; a batch commits by replacing them (all or nothing)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Row]]] = {}  # suffix+table -> rows
        self.tracking: dict[str, int] = {}

    def ensure(self, projection: Projection, suffix: str = "") -> None:
        self.tracking.setdefault(projection.name + suffix, 0)

    def positions(self) -> dict[str, int]:
        return {k: v for k, v in self.tracking.items() if "__" not in k}

    def batch(self, names: Sequence[str]) -> AbstractContextManager[MemorySession]:
        return self._session(names, "")

    @contextmanager
    def _session(
        self, names: Sequence[str], suffix: str, part: str = ""
    ) -> Iterator[MemorySession]:
        working = copy.deepcopy(self.tables.get(suffix, {}))
        positions = {n: self.tracking.get(n + suffix + part, 0) for n in names}
        session = MemorySession(working, positions)
        yield session
        self.tables[suffix] = working
        for name, position in session.positions.items():
            self.tracking[name + suffix + part] = position

    def bulk(
        self, names: Sequence[str], suffix: str, flush_rows: int, part: str = ""
    ) -> AbstractContextManager[MemorySession]:
        return self._session(names, suffix, part)

    def part_positions(self, names: Sequence[str], suffix: str) -> dict[str, int]:
        prefixes = tuple(f"{name}{suffix}_" for name in names)
        return {k: v for k, v in self.tracking.items() if k.startswith(prefixes)}

    def join_parts(
        self, names: Sequence[str], suffix: str, parts: Sequence[str], position: int
    ) -> None:
        for name in names:
            for part in parts:
                assert self.tracking.pop(name + suffix + part) == position
            self.tracking[name + suffix] = position

    def swap_in(self, projection: Projection, suffix: str, position: int) -> None:
        live = self.tables.setdefault("", {})
        rebuilt = self.tables.get(suffix, {})
        for table in projection.tables:
            live[table.name] = rebuilt.get(table.name, {})
        self.tracking[projection.name] = self.tracking.pop(projection.name + suffix)

    def drop(self, projection: Projection, suffix: str) -> None:
        for table in projection.tables:
            self.tables.get(suffix, {}).pop(table.name, None)
        self.tracking.pop(projection.name + suffix, None)

    def rows(self, table: str) -> dict[str, Row]:
        return self.tables.get("", {}).get(table, {})


class MemoryQueries:
    """Just enough of ReadModels for the use cases, over a MemoryViewStore."""

    def __init__(self, views: MemoryViewStore) -> None:
        self.views = views

    def executions_matching(self, ref: str) -> list[Row]:
        rows = self.views.rows("executions").values()
        return [r for r in rows if ref in (r["id"], r["execution_id"])]

    def cases_matching(self, ref: str) -> list[Row]:
        rows = self.views.rows("cases").values()
        return [
            r for r in rows if ref in (r["case_id"], r["name"], f"{r['namespace']}/{r['name']}")
        ]


def memory_ledger(batch_size: int = 100) -> tuple[Ledger, MemoryViewStore]:
    events = memory_event_store()
    views = MemoryViewStore()
    policies = DeltaPolicies()
    projections = [CasesView(), ExecutionsView(policies), SearchView()]  # bootstrap's three
    runner = ProjectionRunner(events, views, projections)
    read_side = ReadSide(runner, MemoryQueries(views))
    ledger = Ledger(events, lambda: read_side, batch_size=batch_size, policies=policies)
    return ledger, views
