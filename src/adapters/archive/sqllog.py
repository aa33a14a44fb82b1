"""RawLog over the eventsourcing recorder's own tables (SQLite or Postgres).

Restore writes rows with their original positions (rowid / notification_id): the restored log
is the archived log, so the archive's chain continues and read models (which store positions)
come out identical. Postgres restores with COPY, SQLite with one executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec

from ...application.stored_log import StoredRow
from ..events.ddl import write_transaction

STATE_TABLE = "archive_state"
_decode_json = msgspec.json.Decoder().decode


class SqlRawLog:
    def __init__(self, recorder: Any, backend: str) -> None:
        if backend not in ("sqlite", "postgres"):
            raise ValueError(f"archiving needs an SQLite or Postgres event store, not {backend!r}")
        self.recorder = recorder
        self.datastore = recorder.datastore
        self.backend = backend
        table = recorder.events_table_name
        if backend == "postgres":
            self.table = f'"{self.datastore.schema}"."{table}"'
            self.mark = "%s"
            self.pos = "notification_id"
        else:
            self.table = table
            self.mark = "?"
            self.pos = "rowid"
        with write_transaction(self.datastore, backend, schema=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key TEXT PRIMARY KEY, value TEXT)"
            )

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def _oid(self, hex_id: str) -> Any:
        return UUID(hex_id) if self.backend == "postgres" else hex_id

    # -- the log ---------------------------------------------------------------------------
    def rows(self, after: int, limit: int) -> Sequence[StoredRow]:
        found = self.recorder.select_notifications(
            start=after + 1, limit=limit, inclusive_of_start=True
        )
        return [
            StoredRow(n.id, _hex(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in found
        ]

    def rows_by_aggregate(self, after: tuple[str, int] | None, limit: int) -> Sequence[StoredRow]:
        cols = f"{self.pos} AS position, originator_id, originator_version, topic, state"
        where, params = "", [limit]
        if after is not None:
            where = "WHERE originator_id > ? OR (originator_id = ? AND originator_version > ?)"
            oid = self._oid(after[0])
            params = [oid, oid, after[1], limit]
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self._sql(
                    f"SELECT {cols} FROM {self.table} {where} "
                    "ORDER BY originator_id, originator_version LIMIT ?"
                ),
                params,
            )
            return [
                StoredRow(
                    int(r["position"]),
                    _hex(r["originator_id"]),
                    int(r["originator_version"]),
                    r["topic"],
                    bytes(r["state"]),
                )
                for r in c.fetchall()
            ]

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def count(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) AS n FROM {self.table}")
            return int(c.fetchone()["n"])

    def is_empty(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT 1 AS one FROM {self.table} LIMIT 1")
            return c.fetchone() is None

    def insert_rows(self, rows: Sequence[StoredRow]) -> None:
        if not rows:
            return
        if self.backend == "postgres":
            with self.datastore.transaction(commit=True) as c:
                c.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")
                statement = (
                    f"COPY {self.table} (originator_id, originator_version, topic, state, "
                    "notification_id) FROM STDIN (FORMAT BINARY)"
                )
                with c.copy(statement) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
                    for r in rows:
                        copy.write_row(
                            (UUID(r.originator_id), r.version, r.topic, r.state, r.position)
                        )
            return
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT INTO {self.table} (rowid, originator_id, originator_version, topic, "
                "state) VALUES (?, ?, ?, ?, ?)",
                [(r.position, r.originator_id, r.version, r.topic, r.state) for r in rows],
            )

    def finish_restore(self, ledger_id: str | None) -> None:
        with self.datastore.transaction(commit=True) as c:
            if self.backend == "postgres":
                c.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                    f"(SELECT COALESCE(MAX(notification_id), 0) + 1 FROM {self.table}), false)",
                    (self.table,),
                )
            if ledger_id:
                c.execute(
                    self._sql("UPDATE ledger_meta SET value = ? WHERE key = 'ledger_id'"),
                    (ledger_id,),
                )

    # -- bookkeeping -----------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._sql(f"SELECT value FROM {STATE_TABLE} WHERE key = ?"), (key,))
            row = c.fetchone()
            return None if row is None else str(row["value"])

    def set_state(self, key: str, value: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self._sql(
                    f"INSERT INTO {STATE_TABLE} (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (key, value),
            )

    def executions(self, after: str | None, limit: int) -> Sequence[dict[str, Any]]:
        cols = "id, execution_id, namespace, case_name, status, persisted"
        with self.datastore.transaction(commit=False) as c:
            if after is None:
                c.execute(self._sql(f"SELECT {cols} FROM executions ORDER BY id LIMIT ?"), (limit,))
            else:
                c.execute(
                    self._sql(f"SELECT {cols} FROM executions WHERE id > ? ORDER BY id LIMIT ?"),
                    (after, limit),
                )
            out = []
            for r in c.fetchall():
                row = dict(r)
                row["persisted"] = _decode_json(row["persisted"]) if row["persisted"] else {}
                out.append(row)
            return out


def _hex(originator_id: Any) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(str(originator_id)).hex
