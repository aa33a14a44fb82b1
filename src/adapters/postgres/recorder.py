"""The Postgres application recorder, without psycopg's pipeline mode for inserts.

eventsourcing 9.5 inserts events inside `conn.pipeline()`. With large parameters (a batch of
~2 KB records is megabytes) psycopg 3.2/3.3 can hang for ever in `pipeline.sync()`: the server
waits in ClientRead for bytes the client never flushes (measured here, see docs/adr/0004).
This recorder runs the same statements (table lock, insert, notification ids) in one ordinary
transaction. It costs one round trip more per save, which bulk batches amortise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

TOPIC = f"{__name__}:UnpipelinedPostgresApplicationRecorder"


class UnpipelinedPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Four arrays sent in binary, rather than an array of composites sent as escaped text:
        # the same rows, in the same order, without hex-escaping every state byte.
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        self.copy_events_statement = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        self.last_id_statement = SQL(
            "SELECT currval(pg_get_serial_sequence(%s, 'notification_id')) AS last"
        )

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_events_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return []
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def copy_events(self, stored_events: Sequence[StoredEvent]) -> int:
        """Bulk insert by binary COPY (rows formatted in C, not dumped array by array in
        Python), under the same table lock and notification; returns the last notification id.

        The ids COPY draws are the column default's nextval(), and under the EXCLUSIVE table
        lock no other transaction draws from that sequence, so the last id is currval()."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            with curs.copy(self.copy_events_statement) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for e in stored_events:
                    copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
            table = f"{self.datastore.schema}.{self.events_table_name}"
            curs.execute(self.last_id_statement, (table,))
            row = curs.fetchone()
            return int(row["last"]) if row else 0
