"""Units of work over the read-model tables: a catch-up batch, and a rebuild's bulk session."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ...projections.runner import RebuildConflictError
from ...projections.tables import Table
from ...projections.views import Row
from ..events.ddl import write_transaction
from .rows import (
    SqlDialect,
    append_rows,
    decode_row,
    encoded,
    set_position,
    tracked_positions,
    upsert_rows,
)


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
                row = decode_row(table, raw)
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
                row = decode_row(table, raw)
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
        new = encoded(table, (row for key, row in rows.items() if key not in stored))
        known = encoded(table, (row for key, row in rows.items() if key in stored))
        stored.update(rows)
        return table, new, known

    def _write(
        self, cursor: Any, table: Table, new: list[list[Any]], known: list[list[Any]]
    ) -> None:
        append_rows(cursor, self.dialect, self._name(table), table, new)
        if known:
            upsert_rows(cursor, self.dialect, self._name(table), table, known)


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

    def __init__(
        self,
        datastore: Any,
        dialect: SqlDialect,
        names: Sequence[str],
        suffix: str,
        flush_rows: int,
        part: str = "",
    ) -> None:
        super().__init__(None, dialect, suffix)
        self.datastore = datastore
        self.flush_rows = flush_rows
        self._tracked = [name + suffix + part for name in names]  # every name moves together
        self._position = 0
        self._written_position = self._claim()
        self._touched: defaultdict[str, set[str]] = defaultdict(set)  # used since write-out
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provledger-flush")
        self._in_flight: Future[None] | None = None

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self.datastore.transaction(commit=False) as cursor:
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
        self._position = position
        if any(len(rows) >= self.flush_rows for rows in self._dirty.values()):
            self.flush(everything=False)

    def flush(self, *, everything: bool = True) -> None:
        """Hand the changed rows of every table (or of the tables with `flush_rows` of them)
        and the position to the writer, once the previous write-out is done."""
        self._settle()
        self._evict()
        due = [  # tables with changed rows (a table only read has none to write)
            n
            for n, rows in self._dirty.items()
            if rows and (everything or len(rows) >= self.flush_rows)
        ]
        tables = [self._snapshot(name) for name in due]
        expected, self._written_position = self._written_position, self._position
        self._in_flight = self._writer.submit(self._write_out, tables, expected, self._position)

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
        expected: int,
        position: int,
    ) -> None:
        """On the writer thread: one transaction with the rows and the position."""
        with write_transaction(self.datastore, self.dialect.name) as cursor:
            if self.dialect.name == "postgres":
                # No wait for the WAL flush: a crash loses at most fresh tables that a
                # rebuild starts over anyway, and the swap's own commit flushes them all.
                cursor.execute("SET LOCAL synchronous_commit = off")
            self._check_position(cursor, expected)
            for table, new, known in tables:
                self._write(cursor, table, new, known)
            for name in self._tracked:
                set_position(cursor, self.dialect, name, position)

    def _claim(self) -> int:
        """Mark the fresh tables as this session's: their tracking rows get a random negative
        position, which every write-out checks, so a second rebuild that recreated them is
        noticed instead of mixed in."""
        claim = -1 - secrets.randbits(62)
        with write_transaction(self.datastore, self.dialect.name) as cursor:
            for name in self._tracked:
                set_position(cursor, self.dialect, name, claim)
        return claim

    def _check_position(self, cursor: Any, expected: int) -> None:
        stored = tracked_positions(cursor, self.dialect, self._tracked, for_update=True)
        for name in self._tracked:
            if stored.get(name) != expected:
                msg = (
                    f"projection {name.split(self.suffix)[0]!r}: another rebuild is writing "
                    "the same fresh tables (its position moved under this one); this rebuild "
                    "stops, run it again once the other has finished"
                )
                raise RebuildConflictError(msg)

    def _evict(self) -> None:
        """Drop the written rows not touched since the last write-out (which is done: the
        tables hold them); start the projections' scratch afresh."""
        for name, cached in self._rows.items():
            keep = self._touched[name] | self._dirty.get(name, {}).keys()
            self._rows[name] = {k: row for k, row in cached.items() if k in keep}
            self._stored[name] &= keep
        self._touched.clear()
        self._absent.clear()
        self.scratch.clear()
