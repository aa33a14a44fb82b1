"""Write transactions that concurrent processes may race on, on either database.

On SQLite a deferred transaction that reads and then writes fails at once ("database is
locked") when another process wrote in between, instead of waiting its turn: every write takes
the lock up front (BEGIN IMMEDIATE). On Postgres two sessions running `CREATE TABLE IF NOT
EXISTS` for the same table at once can both pass the check and one fails with a unique
violation on `pg_type`: every lazily created table is created under one transaction-scoped
advisory lock.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DDL_LOCK = 7301174


@contextmanager
def write_transaction(datastore: Any, backend: str, *, schema: bool = False) -> Iterator[Any]:
    """A committing transaction; `schema`: it may create tables (Postgres waits its turn)."""
    if backend == "sqlite":
        with datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        return
    with datastore.transaction(commit=True) as cursor:
        if schema:
            cursor.execute(f"SELECT pg_advisory_xact_lock({DDL_LOCK})")
        yield cursor


def ledger_id(datastore: Any, backend: str) -> str:
    """This ledger's own id, made once when the database is first used (read without a lock
    when it is there, as it almost always is)."""
    mark = "?" if backend == "sqlite" else "%s"
    # No table yet raises, and each driver names that error its own way: then create it.
    with contextlib.suppress(Exception), datastore.transaction(commit=False) as c:
        c.execute("SELECT value FROM ledger_meta WHERE key = 'ledger_id'")
        row = c.fetchone()
        if row is not None:
            return str(row["value"])
    with write_transaction(datastore, backend, schema=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT)")
        c.execute(
            "INSERT INTO ledger_meta (key, value) VALUES ('ledger_id', "
            f"{mark}) ON CONFLICT (key) DO NOTHING",
            (uuid.uuid4().hex,),
        )
        c.execute("SELECT value FROM ledger_meta WHERE key = 'ledger_id'")
        return str(c.fetchone()["value"])
