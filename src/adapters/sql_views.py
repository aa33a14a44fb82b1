"""Read-model tables in the event store's own database (SQLite or Postgres), one SQL for both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from ..projections.tables import Table
from ..projections.views import Projection, Row

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
        """Serialise runners: one batch at a time across processes."""
        if self.name == "postgres":
            cursor.execute("SELECT pg_advisory_xact_lock(7301173)")
        else:  # take SQLite's write lock now rather than failing to upgrade later
            cursor.execute(f"UPDATE {TRACKING} SET position = position WHERE name = ''")


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
        self._tables: dict[str, Table] = {}

    def _name(self, table: Table) -> str:
        return table.name + self.suffix

    def get(self, table: Table, key: str) -> Row | None:
        cached = self._rows.setdefault(table.name, {})
        if key in cached:
            return cached[key]
        self.cursor.execute(
            self.dialect.sql(f"SELECT * FROM {self._name(table)} WHERE {table.key} = ?"), (key,)
        )
        found = self.cursor.fetchone()
        row = _decode(table, found) if found is not None else None
        if row is not None:
            cached[key] = row
        return row

    def put(self, table: Table, row: Row) -> None:
        key = row[table.key]
        self._tables[table.name] = table
        self._rows.setdefault(table.name, {})[key] = row
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
        for name, rows in self._dirty.items():
            if not rows:
                continue
            table = self._tables[name]
            cols = table.column_names
            updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != table.key)
            statement = self.dialect.sql(
                f"INSERT INTO {self._name(table)} ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))}) "
                f"ON CONFLICT ({table.key}) DO UPDATE SET {updates}"
            )
            json_cols = table.json_columns
            params = [
                tuple(
                    _json_encode(row[c]).decode()
                    if c in json_cols and row[c] is not None
                    else row[c]
                    for c in cols
                )
                for row in rows.values()
            ]
            self.cursor.executemany(statement, params)
        self._dirty.clear()


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
        with self.datastore.transaction(commit=True) as c:
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

    def ledger_id(self) -> str:
        """This ledger's own id, made once when the database is first used."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT)")
            c.execute(
                self.dialect.sql(
                    "INSERT INTO ledger_meta (key, value) VALUES ('ledger_id', ?) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                (uuid.uuid4().hex,),
            )
            c.execute("SELECT value FROM ledger_meta WHERE key = 'ledger_id'")
            return str(c.fetchone()["value"])

    def ensure(self, projection: Projection, suffix: str = "") -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in projection.tables:
                name = table.name + suffix
                columns = ", ".join(
                    f"{col} {self.dialect.type_of(kind)}"
                    + (" PRIMARY KEY" if col == table.key else "")
                    for col, kind in table.columns
                )
                c.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                for index in table.indexes:
                    # Unique per generation: a rebuilt table keeps its index names when renamed.
                    tag = uuid.uuid4().hex[:8]
                    ix = f"ix_{table.name}_{'_'.join(index)}_{tag}"
                    if not self._has_index_on(c, name, index):
                        c.execute(f"CREATE INDEX {ix} ON {name} ({', '.join(index)})")
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TRACKING} (name, position) VALUES (?, 0) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                (projection.name + suffix,),
            )

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
        with self.datastore.transaction(commit=True) as c:
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
        with self.datastore.transaction(commit=True) as c:
            self.dialect.lock(c)
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}")
                c.execute(f"ALTER TABLE {table.name}{suffix} RENAME TO {table.name}")
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
        with self.datastore.transaction(commit=True) as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}{suffix}")
            c.execute(
                self.dialect.sql(f"DELETE FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )
