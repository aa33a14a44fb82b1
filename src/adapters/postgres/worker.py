"""The worker's Postgres pieces: LISTEN for appended events, advisory locks as leases.

Every save already sends `NOTIFY <channel>` in its transaction (the eventsourcing recorder does,
for inserts and for our binary COPY alike), so a listener hears every writer, in any process,
once the save commits. Leases are session advisory locks on one connection of their own: the
server releases them when that connection ends, which is what makes a killed owner's work free
for another worker to take over.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger("provledger.worker")

LEASE_NAMESPACE = 7301180  # two-key advisory locks: (namespace, crc32 of the kind)
SLICE = 0.5  # longest block on the socket, so a stop is noticed quickly


def connect_kwargs(datastore: Any) -> dict[str, Any]:
    """The pool's own connection parameters (host, port, dbname, user, password)."""
    kwargs = dict(datastore.pool.kwargs or {})
    kwargs.pop("row_factory", None)
    kwargs.setdefault("connect_timeout", 10)
    return kwargs


def lease_key(kind: str) -> int:
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


class PgListener:
    """Wakeup: `LISTEN` on the recorder's channel; falls back to polling while it cannot."""

    def __init__(self, kwargs: dict[str, Any], channel: str) -> None:
        self.kwargs = kwargs
        self.channel = channel
        self.conn: psycopg.Connection[Any] | None = None
        self._connect()

    def _connect(self) -> None:
        try:
            conn = psycopg.connect(**self.kwargs, autocommit=True)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.conn = conn
        except psycopg.Error as e:
            log.warning("cannot LISTEN (polling instead): %s", e)
            self.conn = None

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        remaining = timeout
        while remaining > 0 and not stop.is_set():
            piece = min(SLICE, remaining)
            remaining -= piece
            if self.conn is None:
                if stop.wait(piece):
                    return False
                self._connect()
                continue
            try:
                for _ in self.conn.notifies(timeout=piece, stop_after=1):
                    return True
            except psycopg.Error as e:
                log.warning("lost the LISTEN connection (polling until it is back): %s", e)
                self.close()
        return False

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None


class PgAdvisoryLeases:
    """Leases: one session advisory lock per kind of work, on a connection of their own."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.conn: psycopg.Connection[Any] | None = None
        self.held: set[str] = set()

    def hold(self, kind: str) -> bool:
        try:
            conn = self._alive()
            if kind in self.held:
                return True
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LEASE_NAMESPACE, lease_key(kind))
            ).fetchone()
        except psycopg.Error as e:
            log.warning("lease connection lost; holding nothing until it is back: %s", e)
            self._drop()
            return False
        if row and row[0]:
            self.held.add(kind)
            return True
        return False

    def _alive(self) -> psycopg.Connection[Any]:
        """The lease connection, checked: if it died its locks died with it."""
        if self.conn is not None:
            try:
                self.conn.execute("SELECT 1")
                return self.conn
            except psycopg.Error:
                self._drop()
        self.conn = psycopg.connect(
            **self.kwargs, autocommit=True, application_name=f"provledger worker {os.getpid()}"
        )
        return self.conn

    def _drop(self) -> None:
        self.held.clear()
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def close(self) -> None:
        self._drop()  # closing the session releases every lock it held


def owners(kwargs: dict[str, Any], kinds: list[str]) -> dict[str, str | None]:
    """Who holds each kind's lease ("provledger worker <pid>"; None: nobody)."""
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        found: dict[str, str | None] = {}
        for kind in kinds:
            row = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid::int8 = %s AND l.objid::int8 = %s AND l.objsubid = 2",
                (LEASE_NAMESPACE, lease_key(kind)),
            ).fetchone()
            found[kind] = str(row[0]) if row else None
        return found
