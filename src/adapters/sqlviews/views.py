"""Read-model tables in the event store's own database (SQLite or Postgres), one SQL for both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ...projections.runner import RebuildConflictError
from ...projections.tables import Table
from ...projections.views import Projection
from ..events.ddl import write_transaction
from ..postgres.compression import lz4_supported
from .rows import TRACKING, SqlDialect, set_position, tracked_positions
from .sessions import BulkSqlSession, SqlSession


class SqlViewStore:
    """ViewStore over the eventsourcing datastore's connections."""

    def __init__(self, datastore: Any, dialect: SqlDialect) -> None:
        self.datastore = datastore
        self.dialect = dialect
        with self.write(ddl=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING} "
                f"(name TEXT PRIMARY KEY, position {self.dialect.type_of('INTEGER')} NOT NULL)"
            )
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TRACKING} (name, position) VALUES ('', 0) "
                    "ON CONFLICT (name) DO NOTHING"
                )
            )

    def write(self, *, ddl: bool = False) -> AbstractContextManager[Any]:
        """A write transaction, the write lock taken up front (see adapters/ddl.py)."""
        return write_transaction(self.datastore, self.dialect.name, schema=ddl)

    def ensure(self, projection: Projection, suffix: str = "") -> None:
        with self.write(ddl=True) as c:
            lz4 = self.dialect.name == "postgres" and lz4_supported(c)
            if self._outdated(c, projection, suffix):
                # A read model whose columns changed (a new release): its tables are dropped
                # and it starts again from position 0; the next catch-up rebuilds it from the log.
                for table in projection.tables:
                    c.execute(f"DROP TABLE IF EXISTS {table.name}{suffix}")
                set_position(c, self.dialect, projection.name + suffix, 0)
            for table in projection.tables:
                name = table.name + suffix
                columns = ", ".join(
                    f"{col} {self.dialect.type_of(kind)}"
                    + (" PRIMARY KEY" if col == table.key else "")
                    + (" COMPRESSION lz4" if lz4 and kind == "JSON" else "")
                    for col, kind in table.columns
                )
                c.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                # A table being rebuilt gets only the indexes its lookups need; the rest
                # come when it is swapped in (building them once is faster than keeping them).
                self._ensure_indexes(c, table, name, lookups_only=bool(suffix))
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TRACKING} (name, position) VALUES (?, 0) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                (projection.name + suffix,),
            )

    def _outdated(self, c: Any, projection: Projection, suffix: str) -> bool:
        """Whether a table of `projection` exists with other columns than it defines."""
        for table in projection.tables:
            found = self._columns_of(c, table.name + suffix)
            if found and found != set(table.column_names):
                return True
        return False

    def _columns_of(self, c: Any, name: str) -> set[str]:
        if self.dialect.name == "sqlite":
            c.execute(f"PRAGMA table_info({name})")
            return {row["name"] for row in c.fetchall()}
        c.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = current_schema()",
            (name,),
        )
        return {row["column_name"] for row in c.fetchall()}

    def _ensure_indexes(
        self, c: Any, table: Table, name: str, *, lookups_only: bool = False
    ) -> None:
        for index in table.lookup_indexes if lookups_only else table.indexes:
            if not self._has_index_on(c, name, index):
                # Unique per generation: a rebuilt table keeps its index names when renamed.
                ix = f"ix_{table.name}_{'_'.join(index)}_{uuid.uuid4().hex[:8]}"
                c.execute(f"CREATE INDEX {ix} ON {name} ({', '.join(index)})")

    def _has_index_on(self, c: Any, table: str, columns: tuple[str, ...]) -> bool:
        if self.dialect.name == "sqlite":
            c.execute(f"PRAGMA index_list({table})")
            for ix in c.fetchall():
                c.execute(f"PRAGMA index_info({ix['name']})")
                if tuple(r["name"] for r in c.fetchall()) == columns:
                    return True
            return False
        c.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname LIKE 'ix_%%'",
            (table,),
        )
        wanted = f"({', '.join(columns)})"
        return any(row["indexdef"].endswith(wanted) for row in c.fetchall())

    def positions(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT name, position FROM {TRACKING}")
            return {row["name"]: int(row["position"]) for row in c.fetchall() if row["name"]}

    @contextmanager
    def batch(self, names: Sequence[str]) -> Iterator[SqlSession]:
        with self.write() as c:
            self.dialect.lock(c)
            session = SqlSession(c, self.dialect, "")
            stored = tracked_positions(c, self.dialect, names)
            session.positions = {n: stored.get(n, 0) for n in names}
            before = dict(session.positions)
            yield session
            session.flush()
            for name, position in session.positions.items():
                if position != before[name]:
                    set_position(c, self.dialect, name, position)

    @contextmanager
    def bulk(
        self, names: Sequence[str], suffix: str, flush_rows: int, part: str = ""
    ) -> Iterator[BulkSqlSession]:
        if part:  # a part of a split rebuild tracks its own position
            with self.write() as c:
                for name in names:
                    c.execute(
                        self.dialect.sql(
                            f"INSERT INTO {TRACKING} (name, position) VALUES (?, 0) "
                            "ON CONFLICT (name) DO NOTHING"
                        ),
                        (name + suffix + part,),
                    )
        session = BulkSqlSession(self.datastore, self.dialect, names, suffix, flush_rows, part)
        complete = False
        try:
            yield session
            complete = True
        finally:
            session.close(complete=complete)

    def part_positions(self, names: Sequence[str], suffix: str) -> dict[str, int]:
        prefixes = tuple(f"{name}{suffix}_" for name in names)
        return {n: p for n, p in self.positions().items() if n.startswith(prefixes)}

    def join_parts(
        self, names: Sequence[str], suffix: str, parts: Sequence[str], position: int
    ) -> None:
        with self.write() as c:
            self.dialect.lock(c)
            wanted = [name + suffix + part for name in names for part in parts]
            found = tracked_positions(c, self.dialect, wanted, for_update=True)
            behind = [n for n in wanted if found.get(n) != position]
            if behind:
                msg = (
                    f"rebuild parts {', '.join(behind)} did not reach position {position} "
                    "(another rebuild recreated the fresh tables?); the live tables are unchanged"
                )
                raise RebuildConflictError(msg)
            for name in names:
                set_position(c, self.dialect, name + suffix, position)
            for part_name in wanted:
                c.execute(self.dialect.sql(f"DELETE FROM {TRACKING} WHERE name = ?"), (part_name,))

    def swap_in(self, projection: Projection, suffix: str, position: int) -> None:
        with self.write(ddl=True) as c:  # under the lock that drop and ensure take too
            self.dialect.lock(c)
            found = tracked_positions(c, self.dialect, [projection.name + suffix])
            if found.get(projection.name + suffix) != position:
                msg = (
                    f"projection {projection.name!r}: another rebuild recreated the fresh "
                    "tables before this one could swap them in; the live tables are unchanged"
                )
                raise RebuildConflictError(msg)
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}")
                c.execute(f"ALTER TABLE {table.name}{suffix} RENAME TO {table.name}")
                self._ensure_indexes(c, table, table.name)
            set_position(c, self.dialect, projection.name, position)
            c.execute(
                self.dialect.sql(f"DELETE FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )

    def drop(self, projection: Projection, suffix: str) -> None:
        parts = f"{projection.name}{suffix}_"  # the tracking rows of a split rebuild's parts
        with self.write(ddl=True) as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}{suffix}")
            c.execute(
                self.dialect.sql(
                    f"DELETE FROM {TRACKING} WHERE name = ? OR substr(name, 1, ?) = ?"
                ),
                (projection.name + suffix, len(parts), parts),
            )
