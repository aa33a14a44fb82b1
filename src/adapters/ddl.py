"""Schema changes that concurrent first starts may race on.

On Postgres two sessions running `CREATE TABLE IF NOT EXISTS` for the same table at once can
both pass the check and one fails with a unique violation on `pg_type`. Every lazily created
table is therefore created under one transaction-scoped advisory lock; SQLite serialises writers
itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DDL_LOCK = 7301174


@contextmanager
def schema_change(datastore: Any, backend: str) -> Iterator[Any]:
    """A committing transaction; on Postgres it first waits its turn for schema changes."""
    with datastore.transaction(commit=True) as cursor:
        if backend == "postgres":
            cursor.execute(f"SELECT pg_advisory_xact_lock({DDL_LOCK})")
        yield cursor
