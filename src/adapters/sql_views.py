"""Read-model tables in the event store's own database (SQLite or Postgres), one SQL for both."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from operator import itemgetter
from typing import Any

import msgspec

from ..projections.runner import RebuildConflictError
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
    """A batch's unit of work: rows cached by key, dirty ones written on flush: appended when
    the table does not hold them (a row put without being read is new: it was recorded
    just now), upserted when it does."""

    def __init__(self, cursor: Any, dialect: SqlDialect, suffix: str) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self.suffix = suffix
        self.scratch: dict[str, Any] = {}
        self.positions: dict[str, int] = {}
        self._rows: defaultdict[str, dict[str, Row]] = defaultdict(dict)
        self._dirty: defaultdict[str, dict[str, Row]] = defaultdict(dict)
        self._absent: defaultdict[str, set[str]] = defaultdict(set)
        self._stored: defaultdict[str, set[str]] = defaultdict(set)  # keys the tables hold
        self._tables: dict[str, Table] = {}

    def _name(self, table: Table) -> str:
        return table.name + self.suffix

    def get(self, table: Table, key: str) -> Row | None:
        cached = self._rows[table.name]
        row = cached.get(key)
        if row is not None or key in self._absent[table.name]:
            return row
        self.prefetch(table, [key])
        return cached.get(key)

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        """Load many rows in one query; remember which keys have no row."""
        cached = self._rows[table.name]
        absent = self._absent[table.name]
        wanted = [k for k in dict.fromkeys(keys) if k not in cached and k not in absent]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            statement = (
                f"SELECT * FROM {self._name(table)} WHERE {table.key} IN "
                f"({', '.join('?' * len(chunk))})"
            )
            stored = self._stored[table.name]
            for raw in self._query(statement, chunk):
                row = _decode(table, raw)
                cached[row[table.key]] = row
                stored.add(row[table.key])
            absent.update(k for k in chunk if k not in cached)

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        self.cursor.execute(self.dialect.sql(statement), params)
        return list(self.cursor.fetchall())

    def put(self, table: Table, row: Row) -> None:
        key = row[table.key]
        self._tables[table.name] = table
        self._rows[table.name][key] = row
        self._absent[table.name].discard(key)
        self._dirty[table.name][key] = row

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        cached = self._rows[table.name]
        found: dict[str, Row] = {}
        if stored:
            statement = f"SELECT * FROM {self._name(table)} WHERE {column} = ?"
            held = self._stored[table.name]
            for raw in self._query(statement, (value,)):
                row = _decode(table, raw)
                key = row[table.key]
                found[key] = cached.setdefault(key, row)
                held.add(key)
        for key, row in cached.items():
            if key not in found and row.get(column) == value:
                found[key] = row
        return list(found.values())

    def flush(self) -> None:
        """Write every dirty row, many rows per statement."""
        for name in list(self._dirty):
            self._write(self.cursor, *self._snapshot(name))
        self._dirty.clear()

    def _snapshot(self, name: str) -> tuple[Table, list[list[Any]], list[list[Any]]]:
        """A table's dirty rows, encoded: (table, rows it lacks, rows it holds). They count as
        held from now on."""
        table, rows, stored = self._tables[name], self._dirty.pop(name), self._stored[name]
        new = _encoded(table, (row for key, row in rows.items() if key not in stored))
        known = _encoded(table, (row for key, row in rows.items() if key in stored))
        stored.update(rows)
        return table, new, known

    def _write(
        self, cursor: Any, table: Table, new: list[list[Any]], known: list[list[Any]]
    ) -> None:
        _append_rows(cursor, self.dialect, self._name(table), table, new)
        if known:
            _upsert_rows(cursor, self.dialect, self._name(table), table, known)


def _encoded(table: Table, rows: Iterable[Row]) -> list[list[Any]]:
    """Each row's column values in table order, JSON columns encoded: a snapshot that later
    changes to the rows do not reach."""
    values_of = itemgetter(*table.column_names)
    json_at = [i for i, col in enumerate(table.column_names) if col in table.json_columns]
    out = []
    for row in rows:
        values = list(values_of(row))
        for i in json_at:
            if values[i] is not None:
                values[i] = _json_encode(values[i]).decode()
        out.append(values)
    return out


def _upsert_rows(
    cursor: Any, dialect: SqlDialect, name: str, table: Table, rows: list[list[Any]]
) -> None:
    cols = table.column_names
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != table.key)
    target = f"INSERT INTO {name} ({', '.join(cols)}) "
    conflict = f" ON CONFLICT ({table.key}) DO UPDATE SET {updates}"
    if dialect.name == "postgres":
        # One array per column: a short statement whatever the row count.
        arrays = ", ".join(f"%b::{dialect.type_of(kind).lower()}[]" for _, kind in table.columns)
        columns = [list(column) for column in zip(*rows, strict=True)]
        cursor.execute(f"{target}SELECT * FROM unnest({arrays}){conflict}", columns, binary=True)
        return
    one = f"({', '.join('?' * len(cols))})"
    per_statement = max(1, 8000 // len(cols))  # well under SQLite's variable limit
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor.execute(
            f"{target}VALUES {', '.join([one] * len(chunk))}{conflict}",
            [value for row in chunk for value in row],
        )


def _append_rows(
    cursor: Any, dialect: SqlDialect, name: str, table: Table, rows: list[list[Any]]
) -> None:
    """Insert rows the table should not hold yet: one binary COPY on Postgres. Should a key
    be there after all (a row dropped from a bulk session's cache, then put without being
    read), the COPY is undone and the rows upserted."""
    if not rows:
        return
    if dialect.name != "postgres":
        _upsert_rows(cursor, dialect, name, table, rows)
        return
    import psycopg

    cursor.execute("SAVEPOINT provledger_append")
    try:
        with cursor.copy(
            f"COPY {name} ({', '.join(table.column_names)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([dialect.type_of(kind).lower() for _, kind in table.columns])
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT provledger_append")
        _upsert_rows(cursor, dialect, name, table, rows)
    else:
        cursor.execute("RELEASE SAVEPOINT provledger_append")


def _decode(table: Table, raw: Any) -> Row:
    row = dict(raw)
    for c in table.json_columns:
        if row.get(c) is not None:
            row[c] = _json_decode(row[c])
    return row


class BulkSqlSession(SqlSession):
    """A rebuild's session (ViewStore.bulk): it spans every batch of the rebuild.

    Rows stay cached from batch to batch, so a case's canonical row is read once rather than
    once per batch, and a row changed by many events is written once. A table is written out
    when `flush_rows` of its rows have changed (every table when the session closes), in a
    transaction of its own: rows the table does not hold yet are appended (Postgres: one
    binary COPY), rows it holds are upserted. Each write-out then drops from the cache the
    written rows that the last stretch of the log did not touch, so memory stays bounded
    however long the log, and the projections' scratch (hints that hold only while their
    rows are cached) starts afresh.
    """

    def __init__(self, store: SqlViewStore, names: Sequence[str], suffix: str, flush_rows: int):
        super().__init__(None, store.dialect, suffix)
        self.store = store
        self.flush_rows = flush_rows
        self.positions = dict.fromkeys(names, 0)
        self._written_positions = self._claim()
        self._touched: defaultdict[str, set[str]] = defaultdict(set)  # used since write-out
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provledger-flush")
        self._in_flight: Future[None] | None = None

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self.store.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(statement), params)
            return list(cursor.fetchall())

    def get(self, table: Table, key: str) -> Row | None:
        row = super().get(table, key)
        if row is not None:
            self._touched[table.name].add(key)
        return row

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        wanted = set(keys)
        super().prefetch(table, wanted)
        cached = self._rows[table.name]
        self._touched[table.name].update(k for k in wanted if k in cached)

    def put(self, table: Table, row: Row) -> None:
        super().put(table, row)
        self._touched[table.name].add(row[table.key])

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        found = super().where(table, column, value, stored=stored)
        self._touched[table.name].update(row[table.key] for row in found)
        return found

    def checkpoint(self, position: int) -> None:
        for name in self.positions:
            self.positions[name] = position
        if any(len(rows) >= self.flush_rows for rows in self._dirty.values()):
            self.flush(everything=False)

    def flush(self, *, everything: bool = True) -> None:
        """Hand the changed rows of every table (or of the tables with `flush_rows` of them)
        and the positions to the writer, once the previous write-out is done."""
        self._settle()
        self._evict()
        due = [n for n, rows in self._dirty.items() if everything or len(rows) >= self.flush_rows]
        tables = [self._snapshot(name) for name in due]
        expected, self._written_positions = self._written_positions, dict(self.positions)
        self._in_flight = self._writer.submit(
            self._write_out, tables, expected, dict(self.positions)
        )

    def close(self, *, complete: bool) -> None:
        """Write out the rest (if `complete`) and wait for the writer either way."""
        try:
            if complete:
                self.flush()
                self._settle()
        finally:
            self._writer.shutdown(wait=True)

    def _settle(self) -> None:
        """Wait for the write-out in flight; its error, if any, is this session's."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def _write_out(
        self,
        tables: list[tuple[Table, list[list[Any]], list[list[Any]]]],
        expected: dict[str, int],
        positions: dict[str, int],
    ) -> None:
        """On the writer thread: one transaction with the rows and the positions."""
        with self.store.write() as cursor:
            if self.dialect.name == "postgres":
                # No wait for the WAL flush: a crash loses at most fresh tables that a
                # rebuild starts over anyway, and the swap's own commit flushes them all.
                cursor.execute("SET LOCAL synchronous_commit = off")
            self._check_positions(cursor, expected)
            for table, new, known in tables:
                self._write(cursor, table, new, known)
            for name, position in positions.items():
                cursor.execute(
                    self.dialect.sql(f"UPDATE {TRACKING} SET position = ? WHERE name = ?"),
                    (position, name + self.suffix),
                )

    def _claim(self) -> dict[str, int]:
        """Mark the fresh tables as this session's: their tracking rows get a random negative
        position, which every write-out checks, so a second rebuild that recreated them is
        noticed instead of mixed in."""
        claim = -1 - secrets.randbits(62)
        with self.store.write() as cursor:
            for name in self.positions:
                cursor.execute(
                    self.dialect.sql(f"UPDATE {TRACKING} SET position = ? WHERE name = ?"),
                    (claim, name + self.suffix),
                )
        return dict.fromkeys(self.positions, claim)

    def _check_positions(self, cursor: Any, expected: dict[str, int]) -> None:
        tracked = [n + self.suffix for n in expected]
        lock = " FOR UPDATE" if self.dialect.name == "postgres" else ""
        cursor.execute(
            self.dialect.sql(
                f"SELECT name, position FROM {TRACKING} "
                f"WHERE name IN ({', '.join('?' * len(tracked))}){lock}"
            ),
            tracked,
        )
        stored = {row["name"]: int(row["position"]) for row in cursor.fetchall()}
        for name, position in expected.items():
            if stored.get(name + self.suffix) != position:
                msg = (
                    f"projection {name!r}: another rebuild is writing the same fresh tables "
                    "(its position moved under this one); this rebuild stops, run it again "
                    "once the other has finished"
                )
                raise RebuildConflictError(msg)

    def _evict(self) -> None:
        """Drop the written rows not touched since the last write-out (which is done: the
        tables hold them); start the projections' scratch afresh."""
        for name, cached in self._rows.items():
            keep = self._touched[name] | self._dirty[name].keys()
            self._rows[name] = {k: row for k, row in cached.items() if k in keep}
            self._stored[name] &= keep
        self._touched.clear()
        self._absent.clear()
        self.scratch.clear()


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

    @contextmanager
    def bulk(self, names: Sequence[str], suffix: str, flush_rows: int) -> Iterator[BulkSqlSession]:
        session = BulkSqlSession(self, names, suffix, flush_rows)
        complete = False
        try:
            yield session
            complete = True
        finally:
            session.close(complete=complete)

    def swap_in(self, projection: Projection, suffix: str, position: int) -> None:
        with self.write(ddl=True) as c:  # under the lock that drop and ensure take too
            self.dialect.lock(c)
            c.execute(
                self.dialect.sql(f"SELECT position FROM {TRACKING} WHERE name = ?"),
                (projection.name + suffix,),
            )
            found = c.fetchone()
            if found is None or int(found["position"]) != position:
                msg = (
                    f"projection {projection.name!r}: another rebuild recreated the fresh "
                    "tables before this one could swap them in; the live tables are unchanged"
                )
                raise RebuildConflictError(msg)
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table.name}")
                c.execute(f"ALTER TABLE {table.name}{suffix} RENAME TO {table.name}")
                self._ensure_indexes(c, table, table.name)
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
