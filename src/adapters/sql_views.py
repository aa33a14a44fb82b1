"""Read-model tables in the event store's own database (SQLite or Postgres), one SQL for both."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import msgspec

from ..projections.tables import Table
from ..projections.views import Projection, Row
from .ddl import write_transaction
from .postgres.compression import lz4_supported

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode
TRACKING = "projection_tracking"


class SqlDialect:
    """What differs between SQLite and Postgres for the read models."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mark = "?" if name == "sqlite" else "%s"

    def sql(self, statement: str) -> str:
        return statement if self.mark == "?" else statement.replace("?", "%s")

    def type_of(self, portable: str) -> str:
        if self.name == "postgres" and portable == "INTEGER":
            return "BIGINT"
        return "TEXT" if portable == "JSON" else portable

    def lock(self, cursor: Any) -> None:
        """Serialise runners: one batch at a time across processes (SQLite: BEGIN IMMEDIATE)."""
        if self.name == "postgres":
            cursor.execute("SELECT pg_advisory_xact_lock(7301173)")


class SqlSession:
    """A batch's unit of work: rows cached by key, dirty ones upserted on flush."""

    def __init__(self, cursor: Any, dialect: SqlDialect, suffix: str) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self.suffix = suffix
        self.scratch: dict[str, Any] = {}
        self.positions: dict[str, int] = {}
        self._rows: dict[str, dict[str, Row]] = {}
        self._dirty: dict[str, dict[str, Row]] = {}
        self._absent: dict[str, set[str]] = {}
        self._tables: dict[str, Table] = {}

    def _name(self, table: Table) -> str:
        return table.name + self.suffix

    def get(self, table: Table, key: str) -> Row | None:
        cached = self._rows.setdefault(table.name, {})
        if key in cached:
            return cached[key]
        absent = self._absent.setdefault(table.name, set())
        if key in absent:
            return None
        self.prefetch(table, [key])
        return cached.get(key)

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        """Load many rows in one query; remember which keys have no row."""
        cached = self._rows.setdefault(table.name, {})
        absent = self._absent.setdefault(table.name, set())
        wanted = [k for k in dict.fromkeys(keys) if k not in cached and k not in absent]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            self.cursor.execute(
                self.dialect.sql(
                    f"SELECT * FROM {self._name(table)} WHERE {table.key} IN "
                    f"({', '.join('?' * len(chunk))})"
                ),
                chunk,
            )
            for raw in self.cursor.fetchall():
                row = _decode(table, raw)
                cached[row[table.key]] = row
            absent.update(k for k in chunk if k not in cached)

    def put(self, table: Table, row: Row) -> None:
        key = row[table.key]
        self._tables[table.name] = table
        self._rows.setdefault(table.name, {})[key] = row
        self._absent.get(table.name, set()).discard(key)
        self._dirty.setdefault(table.name, {})[key] = row

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        cached = self._rows.setdefault(table.name, {})
        found: dict[str, Row] = {}
        if stored:
            self.cursor.execute(
                self.dialect.sql(f"SELECT * FROM {self._name(table)} WHERE {column} = ?"),
                (value,),
            )
            for raw in self.cursor.fetchall():
                row = _decode(table, raw)
                key = row[table.key]
                found[key] = cached.setdefault(key, row)
        for key, row in cached.items():
            if key not in found and row.get(column) == value:
                found[key] = row
        return list(found.values())

    def flush(self) -> None:
        """Upsert every dirty row, many rows per statement."""
        for name, rows in self._dirty.items():
            if rows:
                self._upsert(self._tables[name], list(rows.values()))
        self._dirty.clear()

    def _upsert(self, table: Table, rows: list[Row]) -> None:
        cols = table.column_names
        json_cols = table.json_columns
        values = [
            [
                _json_encode(row[c]).decode() if c in json_cols and row[c] is not None else row[c]
                for row in rows
            ]
            for c in cols
        ]
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != table.key)
        target = f"INSERT INTO {self._name(table)} ({', '.join(cols)}) "
        conflict = f" ON CONFLICT ({table.key}) DO UPDATE SET {updates}"
        if self.dialect.name == "postgres":
            # One array per column: a short statement whatever the row count.
            arrays = ", ".join(
                f"%b::{self.dialect.type_of(kind).lower()}[]" for _, kind in table.columns
            )
            self.cursor.execute(
                f"{target}SELECT * FROM unnest({arrays}){conflict}", values, binary=True
            )
            return
        one = f"({', '.join('?' * len(cols))})"
        per_statement = max(1, 8000 // len(cols))  # well under SQLite's variable limit
        for start in range(0, len(rows), per_statement):
            stop = min(len(rows), start + per_statement)
            params = [values[c][r] for r in range(start, stop) for c in range(len(cols))]
            self.cursor.execute(
                f"{target}VALUES {', '.join([one] * (stop - start))}{conflict}", params
            )


def _decode(table: Table, raw: Any) -> Row:
    row = dict(raw)
    for c in table.json_columns:
        if row.get(c) is not None:
            row[c] = _json_decode(row[c])
    return row


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
            for table in projection.tables:
                name = table.name + suffix
                columns = ", ".join(
                    f"{col} {self.dialect.type_of(kind)}"
                    + (" PRIMARY KEY" if col == table.key else "")
                    + (" COMPRESSION lz4" if lz4 and kind == "JSON" else "")
                    for col, kind in table.columns
                )
                c.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                if not suffix:  # a table being rebuilt gets its indexes when swapped in
                    self._ensure_indexes(c, table, name)
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TRACKING} (name, position) VALUES (?, 0) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                (projection.name + suffix,),
            )

    def _ensure_indexes(self, c: Any, table: Table, name: str) -> None:
        for index in table.indexes:
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
    def batch(self, names: Sequence[str], suffix: str = "") -> Iterator[SqlSession]:
        with self.write() as c:
            self.dialect.lock(c)
            session = SqlSession(c, self.dialect, suffix)
            tracked = [n + suffix for n in names]
            c.execute(
                self.dialect.sql(
                    f"SELECT name, position FROM {TRACKING} "
                    f"WHERE name IN ({', '.join('?' * len(tracked))})"
                ),
                tracked,
            )
            stored = {row["name"]: int(row["position"]) for row in c.fetchall()}
            session.positions = {n: stored.get(n + suffix, 0) for n in names}
            before = dict(session.positions)
            yield session
            session.flush()
            for name, position in session.positions.items():
                if position != before[name]:
                    c.execute(
                        self.dialect.sql(f"UPDATE {TRACKING} SET position = ? WHERE name = ?"),
                        (position, name + suffix),
                    )

    def swap_in(self, projection: Projection, suffix: str) -> None:
        with self.write(ddl=True) as c:
            self.dialect.lock(c)
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}")
                c.execute(f"ALTER TABLE {table.name}{suffix} RENAME TO {table.name}")
                self._ensure_indexes(c, table, table.name)
            c.execute(
                self.dialect.sql(f"SELECT position FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )
            position = int(c.fetchone()["position"])
            c.execute(
                self.dialect.sql(f"UPDATE {TRACKING} SET position = ? WHERE name = ?"),
                (position, projection.name),
            )
            c.execute(
                self.dialect.sql(f"DELETE FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )

    def drop(self, projection: Projection, suffix: str) -> None:
        with self.write(ddl=True) as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}{suffix}")
            c.execute(
                self.dialect.sql(f"DELETE FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )
