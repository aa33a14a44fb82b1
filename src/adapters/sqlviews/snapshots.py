"""Read-model snapshots over the SQL read models (application/snapshots.py), in COPY text.

Reading: one transaction sees every table and the tracking positions as of one moment
(SQLite: a read transaction in WAL mode, rows encoded by adapters/copy_text.py; Postgres:
REPEATABLE READ and `COPY (SELECT …) TO STDOUT`, streamed, so memory stays flat however large
the tables). Loading: the rows go into fresh tables (the rebuild's machinery: lookup indexes
only; Postgres: `COPY … FROM STDIN` of the very bytes), which are swapped in at the snapshot's
positions once every table has loaded and checked out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from ...application.stored_log import CorruptArchiveError
from ...projections.tables import Table
from ...projections.views import Projection
from ..events.ddl import write_transaction
from .copy_text import decode_rows, encode_rows
from .rows import TRACKING, set_position
from .views import SqlViewStore

SUFFIX = "__snapshot"
CHUNK = 5000


class _Reader:
    def __init__(self, cursor: Any, dialect: str, projections: Sequence[Projection]) -> None:
        self._cursor = cursor
        self._dialect = dialect
        self._projections = projections
        self.positions: dict[str, int] = {}

    def tables(self) -> list[tuple[str, list[str]]]:
        return [(t.name, list(t.column_names)) for p in self._projections for t in p.tables]

    def copy_text(self, table: str) -> Iterator[bytes]:
        columns = ", ".join(dict(self.tables())[table])
        if self._dialect == "postgres":
            with self._cursor.copy(f"COPY (SELECT {columns} FROM {table}) TO STDOUT") as copy:
                for data in copy:
                    yield bytes(data)
            return
        cursor = getattr(self._cursor, "sqlite_cursor", self._cursor)  # the raw sqlite3 one
        cursor.execute(f"SELECT {columns} FROM {table}")
        yield from encode_rows(iter(lambda: cursor.fetchmany(CHUNK), []), flat=True)


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
                reader = _Reader(c, "sqlite", self.projections)
                reader.positions = _positions(c, names)
                yield reader
            return
        with datastore.get_connection() as conn, conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor = conn.cursor()
            reader = _Reader(cursor, "postgres", self.projections)
            reader.positions = _positions(cursor, names)
            yield reader

    def load(
        self,
        tables: dict[str, Iterable[bytes]],
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
                    position = positions[projection.name]
                    set_position(c, self.views.dialect, projection.name + SUFFIX, position)
        except BaseException:
            for projection in self.projections:
                self.views.drop(projection, SUFFIX)
            raise
        for projection in self.projections:
            self.views.swap_in(projection, SUFFIX, positions[projection.name])

    def _fill(self, table: Table, chunks: Iterable[bytes]) -> None:
        name = table.name + SUFFIX
        dialect = self.views.dialect
        with write_transaction(self.views.datastore, dialect.name) as c:
            if dialect.name == "postgres":
                # A fresh table with no reader: indexes are built once the rows are in (a
                # sorted build beats maintaining them row by row), and the commit need not
                # wait for the WAL flush (a crash loses only the fresh table; the swap's
                # commit is durable and flushes it all).
                c.execute("SET LOCAL synchronous_commit = off")
                c.execute(f"ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {name}_pkey")
                c.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = %s "
                    "AND schemaname = current_schema()",
                    (name,),
                )
                for row in c.fetchall():
                    c.execute(f"DROP INDEX {row['indexname']}")
                statement = f"COPY {name} ({', '.join(table.column_names)}) FROM STDIN"
                with c.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)
                c.execute(f"ALTER TABLE {name} ADD PRIMARY KEY ({table.key})")
                for column in table.lookups:
                    c.execute(f"CREATE INDEX ON {name} ({column})")
                return
            kinds = [kind for _, kind in table.columns]
            insert = (
                f"INSERT INTO {name} ({', '.join(table.column_names)}) "
                f"VALUES ({', '.join('?' * len(kinds))})"
            )
            rows = decode_rows(chunks, kinds)
            while batch := list(islice(rows, CHUNK)):
                c.executemany(insert, batch)


def _positions(cursor: Any, names: list[str]) -> dict[str, int]:
    cursor.execute(f"SELECT name, position FROM {TRACKING}")
    found = {row["name"]: int(row["position"]) for row in cursor.fetchall()}
    return {name: found.get(name, 0) for name in names}


def snapshot_store(ledger: Any) -> SqlSnapshots:
    """The snapshot store of a bootstrapped ledger's read models (not caught up first)."""
    runner = ledger.runner_as_is()
    return SqlSnapshots(runner.views, list(runner.projections.values()))
