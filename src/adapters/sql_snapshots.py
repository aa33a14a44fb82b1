"""Read-model snapshots over the SQL read models (application/snapshots.py).

Reading: one transaction sees every table and the tracking positions as of one moment
(SQLite: a read transaction in WAL mode; Postgres: REPEATABLE READ, rows streamed through a
server-side cursor, so memory stays flat however large the tables). Loading: the rows go into
fresh tables (the rebuild's machinery: lookup indexes only, binary COPY on Postgres), which are
swapped in at the snapshot's positions once every table has loaded and checked out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from ..application.stored_log import CorruptArchiveError
from ..projections.views import Projection
from .ddl import write_transaction
from .sql_rows import TRACKING, append_rows, set_position
from .sql_views import SqlViewStore

SUFFIX = "__snapshot"
CHUNK = 5000


class _Reader:
    def __init__(self, cursor_of: Any, projections: Sequence[Projection]) -> None:
        self._cursor_of = cursor_of
        self._projections = projections
        self.positions: dict[str, int] = {}

    def tables(self) -> list[tuple[str, list[str]]]:
        return [(t.name, list(t.column_names)) for p in self._projections for t in p.tables]

    def rows(self, table: str) -> Iterator[list[Any]]:
        columns = dict(self.tables())[table]
        cursor = self._cursor_of()
        cursor = getattr(cursor, "sqlite_cursor", cursor)  # eventsourcing's wrapper lacks fetchmany
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
        while batch := cursor.fetchmany(CHUNK):
            for row in batch:
                yield [row[c] for c in columns]


class SqlSnapshots:
    def __init__(self, views: SqlViewStore, projections: Sequence[Projection]) -> None:
        self.views = views
        self.projections = list(projections)

    @contextmanager
    def reading(self) -> Iterator[_Reader]:
        names = [p.name for p in self.projections]
        datastore, dialect = self.views.datastore, self.views.dialect
        if dialect.name == "sqlite":
            with datastore.transaction(commit=False) as c:  # BEGIN: one WAL snapshot
                reader = _Reader(lambda: c, self.projections)
                reader.positions = _positions(c, names)
                yield reader
            return
        with datastore.get_connection() as conn, conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            counter = iter(range(1 << 30))
            reader = _Reader(
                lambda: conn.cursor(name=f"provledger_snapshot_{next(counter)}"),
                self.projections,
            )
            reader.positions = _positions(conn.cursor(), names)
            yield reader

    def load(
        self,
        tables: dict[str, Iterable[list[Any]]],
        columns: dict[str, list[str]],
        positions: dict[str, int],
    ) -> None:
        for projection in self.projections:
            for table in projection.tables:
                if columns.get(table.name) != list(table.column_names):
                    raise CorruptArchiveError(
                        f"table {table.name}: the snapshot's columns are not this release's"
                    )
        try:
            for projection in self.projections:
                self.views.drop(projection, SUFFIX)
                self.views.ensure(projection, SUFFIX)
                for table in projection.tables:
                    self._fill(table, tables[table.name])
            with write_transaction(self.views.datastore, self.views.dialect.name) as c:
                for projection in self.projections:
                    set_position(
                        c, self.views.dialect, projection.name + SUFFIX, positions[projection.name]
                    )
        except BaseException:
            for projection in self.projections:
                self.views.drop(projection, SUFFIX)
            raise
        for projection in self.projections:
            self.views.swap_in(projection, SUFFIX, positions[projection.name])

    def _fill(self, table: Any, rows: Iterable[list[Any]]) -> None:
        iterator = iter(rows)
        while chunk := list(islice(iterator, CHUNK)):
            with write_transaction(self.views.datastore, self.views.dialect.name) as c:
                append_rows(c, self.views.dialect, table.name + SUFFIX, table, chunk)


def _positions(cursor: Any, names: list[str]) -> dict[str, int]:
    cursor.execute(f"SELECT name, position FROM {TRACKING}")
    found = {row["name"]: int(row["position"]) for row in cursor.fetchall()}
    return {name: found.get(name, 0) for name in names}
