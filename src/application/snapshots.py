"""Use cases: read-model snapshots in the archive, and restoring from the newest valid one.

A snapshot holds every read-model table at the positions its projections had reached, read in
one consistent transaction. Each table is one gzip'd object in PostgreSQL's COPY text format
(a row a line, tab-separated, as the database stores the values: Postgres writes and reads it
itself, SQLite through adapters/copy_text.py); the manifest names the projections' positions,
each table's rows, size and sha256, and the log manifest that covers those positions, so a
snapshot is chained to the archived log and `audit` can check both together.

    snapshots/<position>-<taken at>/manifest.json
    snapshots/<position>-<taken at>/<table>.tsv.gz

A restore then loads the log and the newest snapshot whose checks pass, and applies only the
events after it. A snapshot that fails a check is refused and the read models are rebuilt
from the log instead; the summary says which it was.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from .archive_log import Manifest, iter_manifests, ship_log
from .ports import Archive
from .stored_log import CorruptArchiveError, RawLog

FORMAT = "provledger.snapshot/1"
PREFIX = "snapshots/"


class TableDump(msgspec.Struct, frozen=True):
    key: str
    rows: int
    sha256: str
    size: int
    columns: list[str]


class LogLink(msgspec.Struct, frozen=True):
    seq: int  # the log manifest that covers the snapshot
    last: int
    manifest_sha256: str


class SnapshotManifest(msgspec.Struct, frozen=True):
    format: str
    ledger: str
    position: int  # the lowest projection position: events after it are applied on restore
    projections: dict[str, int]
    tables: dict[str, TableDump]
    log: LogLink
    taken_at: str


class SnapshotReader(Protocol):
    """One consistent read of every read-model table."""

    positions: dict[str, int]

    def tables(self) -> list[tuple[str, list[str]]]:
        """(table name, column names) of every read-model table."""
        ...

    def copy_text(self, table: str) -> Iterator[bytes]:
        """The table's rows in COPY text format, in chunks."""
        ...


class SnapshotStore(Protocol):
    """The read-model side of snapshots (adapters/sql_snapshots.py)."""

    def reading(self) -> AbstractContextManager[SnapshotReader]: ...

    def load(
        self,
        tables: dict[str, Iterable[bytes]],
        columns: dict[str, list[str]],
        positions: dict[str, int],
    ) -> None:
        """Replace the read models with these rows at these positions (fresh tables, one
        swap); raise before the swap if a table's rows fail (the live ones stay)."""
        ...


@dataclass
class SnapshotSummary:
    key: str
    position: int
    rows: int
    bytes: int


@dataclass
class LoadedSnapshot:
    used: str | None = None  # the manifest's key, or None (replayed everything)
    position: int = 0
    refused: list[str] = field(default_factory=list)  # why newer snapshots were not used


def take_snapshot(
    store: SnapshotStore, archive: Archive, log: RawLog, ledger_id: str, *, segment_events: int
) -> SnapshotSummary:
    """Write the read models (as they stand) to the archive, after shipping the log."""
    with store.reading() as reader:
        positions = dict(reader.positions)
        head = ship_log(log, archive, ledger_id, segment_events=segment_events).head
        if head.last < max(positions.values(), default=0):
            raise CorruptArchiveError("the archived log does not reach the read models' position")
        position = min(positions.values(), default=0)
        taken = datetime.now(UTC)
        base = f"{PREFIX}{position:012d}-{taken.strftime('%Y%m%dT%H%M%S%fZ')}/"
        tables: dict[str, TableDump] = {}
        for name, columns in reader.tables():
            key = f"{base}{name}.tsv.gz"
            tables[name] = _put_table(archive, key, reader.copy_text(name), columns)
    manifest = SnapshotManifest(
        FORMAT,
        ledger_id,
        position,
        positions,
        tables,
        LogLink(head.seq, head.last, head.manifest),
        taken.isoformat(),
    )
    archive.put(f"{base}manifest.json", msgspec.json.encode(manifest))
    return SnapshotSummary(
        f"{base}manifest.json",
        position,
        sum(t.rows for t in tables.values()),
        sum(t.size for t in tables.values()),
    )


def snapshot_if_moved(
    store: SnapshotStore, archive: Archive, log: RawLog, ledger_id: str, *, segment_events: int
) -> int:
    """The worker's scheduled step: a snapshot when the read models moved since the newest
    one (1), else nothing (0)."""
    newest = next(
        (m for _, m, _ in snapshot_manifests(archive) if m is not None and m.ledger == ledger_id),
        None,
    )
    with store.reading() as reader:
        positions = dict(reader.positions)
    if newest is not None and newest.projections == positions:
        return 0
    take_snapshot(store, archive, log, ledger_id, segment_events=segment_events)
    return 1


def _put_table(
    archive: Archive, key: str, chunks: Iterator[bytes], columns: list[str]
) -> TableDump:
    fd, tmp = tempfile.mkstemp(prefix="provledger-snapshot-", suffix=".tsv.gz")
    count = 0
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) as out,
        ):
            for chunk in chunks:
                out.write(chunk)
                count += chunk.count(b"\n")  # COPY text escapes newlines inside values
        stored = archive.put_path(key, Path(tmp))
    finally:
        Path(tmp).unlink(missing_ok=True)
    return TableDump(key, count, stored.sha256, stored.size, columns)


def snapshot_manifests(archive: Archive) -> list[tuple[str, SnapshotManifest | None, str]]:
    """Every snapshot manifest, newest (highest position) first: (key, manifest or None, why
    it could not be read)."""
    found: list[tuple[str, SnapshotManifest | None, str]] = []
    for key in archive.list(PREFIX):
        if not key.endswith("/manifest.json"):
            continue
        raw = archive.get(key)
        try:
            manifest = msgspec.json.decode(raw or b"", type=SnapshotManifest)
        except msgspec.DecodeError as e:
            found.append((key, None, f"unreadable manifest: {e}"))
            continue
        found.append((key, manifest, ""))
    return sorted(found, key=lambda f: f[0], reverse=True)


def check_snapshot(
    manifest: SnapshotManifest, chain: Sequence[tuple[Manifest, str]], ledger_id: str | None
) -> str | None:
    """Why this snapshot cannot serve the log `chain` (None: it can, its tables aside)."""
    if manifest.format != FORMAT:
        return f"unknown format {manifest.format!r}"
    if ledger_id is not None and manifest.ledger != ledger_id:
        return f"it is of ledger {manifest.ledger}, not {ledger_id}"
    by_seq = {m.seq: sha for m, sha in chain}
    if by_seq.get(manifest.log.seq) != manifest.log.manifest_sha256:
        return f"its log manifest {manifest.log.seq} is not the archived one"
    if max(manifest.projections.values(), default=0) > manifest.log.last:
        return "its positions lie beyond the log it names"
    return None


def load_newest_snapshot(
    store: SnapshotStore, archive: Archive, ledger_id: str | None, known: Sequence[str]
) -> LoadedSnapshot:
    """Load the newest snapshot that passes its checks (log chain, ledger, each table's
    sha256, size and rows, the projections this release has); the read models then catch up
    from its position. None passing: nothing loaded, and the caller rebuilds."""
    result = LoadedSnapshot()
    chain = list(iter_manifests(archive))
    for key, manifest, unreadable in snapshot_manifests(archive):
        why = unreadable or (manifest and check_snapshot(manifest, chain, ledger_id))
        if manifest is not None and not why and set(manifest.projections) != set(known):
            why = f"it holds projections {sorted(manifest.projections)}, not {sorted(known)}"
        if why or manifest is None:
            result.refused.append(f"{key}: {why}")
            continue
        try:
            store.load(
                {name: _chunks(archive, t) for name, t in manifest.tables.items()},
                {name: t.columns for name, t in manifest.tables.items()},
                manifest.projections,
            )
        except CorruptArchiveError as e:
            result.refused.append(f"{key}: {e}")
            continue
        result.used, result.position = key, manifest.position
        return result
    return result


def _chunks(archive: Archive, table: TableDump) -> Iterator[bytes]:
    """A table's COPY text, decompressed as it is read; the sha256, size and row count are
    checked at the end (before the caller's swap), and a mismatch raises CorruptArchiveError."""
    chunks = archive.chunks(table.key)
    if chunks is None:
        raise CorruptArchiveError(f"{table.key} is missing")
    digest, size = hashlib.sha256(), 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    count = 0
    try:
        with gzip.GzipFile(fileobj=io.BufferedReader(_ChunkStream(counted())), mode="rb") as f:
            while data := f.read(1 << 20):
                count += data.count(b"\n")
                yield data
    except (OSError, EOFError) as e:
        raise CorruptArchiveError(f"{table.key}: {e}") from e
    if (digest.hexdigest(), size, count) != (table.sha256, table.size, table.rows):
        raise CorruptArchiveError(f"{table.key} does not match its manifest (sha256, size, rows)")


class _ChunkStream(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (for GzipFile)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


def audit_snapshots(
    archive: Archive, chain: Sequence[tuple[Manifest, str]], ledger_id: str | None
) -> list[str]:
    """Each snapshot that does not fit the archived log, or whose tables do not match."""
    problems = []
    for key, manifest, unreadable in snapshot_manifests(archive):
        why = unreadable or (manifest and check_snapshot(manifest, chain, ledger_id))
        if not why and manifest is not None:
            for table in manifest.tables.values():
                try:
                    for _ in _chunks(archive, table):
                        pass
                except CorruptArchiveError as e:
                    why = str(e)
                    break
        if why:
            problems.append(f"{key}: {why}")
    return problems
