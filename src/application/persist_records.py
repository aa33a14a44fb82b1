"""Use case: follow the log and persist every final execution record, verified, exactly once.

For each ExecutionRecorded/ExecutionFinished/ExecutionUpdated the persister writes the
execution's current record to `experiments/{namespace}/{case}/{execution_id}/record.json` in
the archive (an update after that: `record.<sha256 prefix>.json` beside it, since objects are
immutable) and, when the primary output is a local file that exists, to `<stem>.record.json`
beside it; after each verified write it appends RecordPersisted(location, sha256, size). A
running execution waits until it ends. The position reached is kept in the database; after
a crash the persister continues from there, and writes already recorded are
skipped by their sha256, so nothing is missed or persisted twice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from ..domain.execution import RECORD_CHANGES, Execution
from ..domain.record import ExecutionRecord, Status
from .ports import Archive, EventStore
from .stored_log import ArchiveUnavailableError, RawLog, flush, iter_executions

POSITION_KEY = "persister"


@dataclass
class PersistSummary:
    records: int = 0
    side_files: int = 0
    waiting_running: int = 0
    conflicts: list[str] = field(default_factory=list)
    position: int = 0


def record_key(namespace: str, case: str, execution_id: str) -> str:
    """Namespace and case are in the key: execution ids are only unique within a case."""
    return (
        f"experiments/{_segment(namespace)}/{_segment(case)}/{_segment(execution_id)}/record.json"
    )


def revision_key(key: str, digest: str) -> str:
    """Where an updated record goes once `key` holds an earlier one: `record.<sha256>.json`."""
    return f"{key.removesuffix('.json')}.{digest[:16]}.json"


def _segment(text: str) -> str:
    """One key segment from any name: percent-encoded, never `.` or `..`."""
    quoted = quote(text, safe="-_.~@+=,")
    return quoted.replace(".", "%2E") if set(quoted) <= {"."} else quoted


def record_bytes(record: ExecutionRecord) -> bytes:
    """The record file: provledger's own record format, re-ingestable as a duplicate."""
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"


def side_file_of(record: ExecutionRecord) -> Path | None:
    """`<stem>.record.json` beside the primary output, when that is an existing local file."""
    output = record.primary_output
    if output is None:
        return None
    parsed = urlparse(output.uri)
    if parsed.scheme not in ("", "file") or (parsed.scheme == "file" and parsed.netloc):
        return None
    path = Path(unquote(parsed.path) if parsed.scheme else output.uri)
    if not path.is_absolute() and record.source and record.source.path:
        path = Path(record.source.path).parent / path
    if not path.is_absolute() or not path.is_file():
        return None
    return path.with_name(f"{path.stem}.record.json")


class RecordPersister:
    def __init__(
        self, events: EventStore, log: RawLog, archive: Archive, *, batch_size: int = 500
    ) -> None:
        self.events = events
        self.log = log
        self.archive = archive
        self.batch_size = batch_size

    def run(self, until: int | None = None) -> PersistSummary:
        """Persist everything recorded so far (or up to `until`). ArchiveUnavailableError
        propagates after saving the progress made; call again to retry."""
        summary = PersistSummary(position=int(self.log.get_state(POSITION_KEY) or 0))
        head = self.events.max_position() if until is None else until
        while summary.position < head:
            batch = self.events.read(
                summary.position, min(self.batch_size, head - summary.position)
            )
            if not batch:
                break
            touched: dict[UUID, Execution] = {}
            done = summary.position
            try:
                for item in batch:
                    event = item.event
                    if isinstance(event, RECORD_CHANGES):
                        execution = touched.get(event.originator_id) or self._load(
                            event.originator_id
                        )
                        if execution is not None:
                            self._persist(execution, summary)
                            touched[execution.id] = execution
                    done = item.position
            finally:
                self._save(touched, summary)
                summary.position = done
                self.log.set_state(POSITION_KEY, str(done))
        return summary

    def _load(self, aggregate_id: UUID) -> Execution | None:
        execution = self.events.get(aggregate_id)
        return execution if isinstance(execution, Execution) else None

    def _persist(self, execution: Execution, summary: PersistSummary) -> None:
        record = execution.record
        if record.status is Status.RUNNING:
            summary.waiting_running += 1
            return
        data = record_bytes(record)
        digest = hashlib.sha256(data).hexdigest()
        key = record_key(record.namespace, record.case, record.execution_id)
        location = f"{self.archive.url}/{key}"
        if execution.persisted.get(location, digest) != digest:
            # Updated after it was persisted: archive objects never change, so the new record
            # goes beside the first, named by its content.
            key = revision_key(key, digest)
            location = f"{self.archive.url}/{key}"
        if execution.persisted.get(location) != digest:
            written = self.archive.put(key, data)
            execution.mark_persisted(location, written.sha256, written.size)
            summary.records += 1
        side = side_file_of(record)
        if side is not None and execution.persisted.get(side.as_uri()) != digest:
            if write_side_file(side, data, replaces=execution.persisted.get(side.as_uri())):
                execution.mark_persisted(side.as_uri(), digest, len(data))
                summary.side_files += 1
            else:
                summary.conflicts.append(str(side))

    def _save(self, touched: dict[UUID, Execution], summary: PersistSummary) -> None:
        changed = [e for e in touched.values() if e.pending_events]
        if not changed:
            return
        flush(self.archive)  # durable before it is recorded as persisted
        try:
            self.events.save(*changed)  # many RecordPersisted per save
        except IntegrityError:  # another writer appended to one of them: one by one, reloaded
            for stale in changed:
                self._save_one(stale.id, summary)

    def _save_one(self, aggregate_id: UUID, summary: PersistSummary) -> None:
        for _ in range(5):
            execution = self._load(aggregate_id)
            if execution is None:
                return
            self._persist(execution, summary)
            if not execution.pending_events:
                return
            try:
                self.events.save(execution)
                return
            except IntegrityError:
                continue
        raise IntegrityError(f"execution {aggregate_id} kept changing; persist it again")


def write_side_file(path: Path, data: bytes, replaces: str | None = None) -> bool:
    """Write atomically and read back; False when a different file is already there, unless
    it is the earlier record this ledger wrote there (sha256 `replaces`: an update)."""
    if path.exists():
        current = path.read_bytes()
        if current == data:
            return True
        if replaces is None or hashlib.sha256(current).hexdigest() != replaces:
            return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.read_bytes() == data


def unpersisted(log: RawLog, archive: Archive) -> Iterator[dict[str, Any]]:
    """Executions whose record is not (yet) in the archive, from the executions read model."""
    for row in iter_executions(log):
        key = record_key(row["namespace"], row["case_name"], row["execution_id"])
        if f"{archive.url}/{key}" not in row["persisted"]:
            yield row


def backoff_delays(start: float = 0.5, cap: float = 60.0) -> Iterator[float]:
    delay = start
    while True:
        yield delay
        delay = min(cap, delay * 2)


__all__ = ["ArchiveUnavailableError", "RecordPersister", "record_key", "unpersisted"]
