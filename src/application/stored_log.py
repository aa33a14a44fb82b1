"""The raw event log as stored (bytes, not domain events): what archive, restore and audit
work on, so that what they ship and check is byte-for-byte what the database holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from ..domain.errors import DomainError

CHAIN_KEY = "_prev"  # in each stored state: the digest of the aggregate's previous event
GENESIS = "0" * 64  # the `_prev` of every aggregate's first event


def event_digest(originator_id: UUID | str, version: int, topic: str, state: bytes) -> str:
    """What the next event of the aggregate carries: identity, topic and exact state bytes."""
    oid = originator_id.hex if isinstance(originator_id, UUID) else UUID(str(originator_id)).hex
    head = f"{oid}:{version}:{topic}\n".encode()
    return hashlib.sha256(head + bytes(state)).hexdigest()


class ArchiveError(DomainError):
    """The archive is misconfigured, missing, or holds something other than expected."""


class ArchiveUnavailableError(ArchiveError):
    """The archive cannot be reached now (S3 down, network): retry later."""


class CorruptArchiveError(ArchiveError):
    """A segment or manifest does not match its hash, or the manifest chain is broken."""


class StoreNotEmptyError(DomainError):
    """Restore only writes into an empty event store."""


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One stored event exactly as the recorder holds it."""

    position: int
    originator_id: str  # uuid hex, 32 chars
    version: int
    topic: str
    state: bytes


class RawLog(Protocol):
    """Byte-level access to the event store and the archive's own bookkeeping in it."""

    def rows(self, after: int, limit: int) -> Sequence[StoredRow]:
        """Stored events with position > after, in position order."""
        ...

    def rows_by_aggregate(self, after: tuple[str, int] | None, limit: int) -> Sequence[StoredRow]:
        """Stored events ordered by (originator_id, version), after a key (keyset paging)."""
        ...

    def head(self) -> int: ...

    def count(self) -> int: ...

    def is_empty(self) -> bool: ...

    def insert_rows(self, rows: Sequence[StoredRow]) -> None:
        """Bulk-append rows keeping their positions (only into a store being restored)."""
        ...

    def finish_restore(self, ledger_id: str | None) -> None:
        """After a restore: sequences past the last position; the ledger keeps its id."""
        ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def executions(self, after: str | None, limit: int) -> Sequence[dict[str, Any]]:
        """Rows of the executions read model (id, execution_id, namespace, case_name, status,
        persisted), ordered by id, after an id (keyset paging)."""
        ...


def iter_rows(
    log: RawLog, after: int = 0, until: int | None = None, page: int = 5000
) -> Iterator[StoredRow]:
    """Every stored row after `after` (up to `until`), paged so memory stays flat."""
    while True:
        batch = log.rows(after, page)
        for row in batch:
            if until is not None and row.position > until:
                return
            yield row
        if len(batch) < page:
            return
        after = batch[-1].position


def iter_by_aggregate(log: RawLog, page: int = 5000) -> Iterator[StoredRow]:
    key: tuple[str, int] | None = None
    while True:
        batch = log.rows_by_aggregate(key, page)
        yield from batch
        if len(batch) < page:
            return
        key = (batch[-1].originator_id, batch[-1].version)


def iter_executions(log: RawLog, page: int = 2000) -> Iterator[dict[str, Any]]:
    after: str | None = None
    while True:
        batch = log.executions(after, page)
        yield from batch
        if len(batch) < page:
            return
        after = str(batch[-1]["id"])


def chunked(items: Iterable[StoredRow], size: int) -> Iterator[list[StoredRow]]:
    chunk: list[StoredRow] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def flush(archive: object) -> None:
    """Make the archive's writes so far durable, if it defers that (a folder archive can)."""
    flush_writes = getattr(archive, "flush", None)
    if callable(flush_writes):
        flush_writes()
