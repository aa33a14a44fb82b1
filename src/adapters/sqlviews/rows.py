"""SQL for read-model rows, shared by SQLite and Postgres: the dialect, and rows read,
encoded, appended and upserted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import msgspec

from ...projections.tables import Table
from ...projections.views import Row

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode
TRACKING = "projection_tracking"


def tracked_positions(
    cursor: Any, dialect: SqlDialect, names: Sequence[str], *, for_update: bool = False
) -> dict[str, int]:
    """The tracking table's positions of these names (the ones it has)."""
    lock = " FOR UPDATE" if for_update and dialect.name == "postgres" else ""
    cursor.execute(
        dialect.sql(
            f"SELECT name, position FROM {TRACKING} "
            f"WHERE name IN ({', '.join('?' * len(names))}){lock}"
        ),
        list(names),
    )
    return {row["name"]: int(row["position"]) for row in cursor.fetchall()}


def set_position(cursor: Any, dialect: SqlDialect, name: str, position: int) -> None:
    cursor.execute(
        dialect.sql(f"UPDATE {TRACKING} SET position = ? WHERE name = ?"), (position, name)
    )


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


def encoded(table: Table, rows: Iterable[Row]) -> list[list[Any]]:
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


def upsert_rows(
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


def append_rows(
    cursor: Any, dialect: SqlDialect, name: str, table: Table, rows: list[list[Any]]
) -> None:
    """Insert rows the table should not hold yet: one binary COPY on Postgres. Should a key
    be there after all (a row dropped from a bulk session's cache, then put without being
    read), the COPY is undone and the rows upserted."""
    if not rows:
        return
    if dialect.name != "postgres":
        upsert_rows(cursor, dialect, name, table, rows)
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
        upsert_rows(cursor, dialect, name, table, rows)
    else:
        cursor.execute("RELEASE SAVEPOINT provledger_append")


def decode_row(table: Table, raw: Any) -> Row:
    row = dict(raw)
    for c in table.json_columns:
        if row.get(c) is not None:
            row[c] = _json_decode(row[c])
    return row
