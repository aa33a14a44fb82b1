"""The local side of sync: which executions made which files, commit, and sync states."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ...domain.errors import ExecutionNotFoundError, ExecutionStateError
from ...domain.execution import RECORD_EVENTS, Execution
from ..ledger import Ledger
from ..ports import PositionedEvent
from .ports import DataFiles
from .wire import is_synced

SCAN_BATCH = 5000


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LogIndex:
    """One scan of the log: file producers by sha256, and the committed executions."""

    producers: dict[str, set[UUID]] = field(default_factory=dict)
    committed: list[UUID] = field(default_factory=list)


def scan(ledger: Ledger) -> LogIndex:
    index = LogIndex()
    seen: set[UUID] = set()
    after = 0
    while True:
        batch = ledger.events.read(after, SCAN_BATCH)
        if not batch:
            return index
        for pe in batch:
            event = pe.event
            if isinstance(event, RECORD_EVENTS):
                for ref in event.record.outputs:
                    if ref.sha256:
                        index.producers.setdefault(ref.sha256, set()).add(event.originator_id)
            elif isinstance(event, Execution.Committed) and event.originator_id not in seen:
                seen.add(event.originator_id)
                index.committed.append(event.originator_id)
        after = batch[-1].position


def resolve(ledger: Ledger, ref: str, index: LogIndex | None = None) -> Execution:
    """An execution by id or uuid, or the execution that produced the file at path `ref`."""
    path = Path(ref)
    if path.is_file():
        sha = sha256_of(path)
        found = (index or scan(ledger)).producers.get(sha, set())
        if not found:
            raise ExecutionNotFoundError(f"no execution produced {ref} (sha256 {sha[:12]}…)")
        if len(found) > 1:
            raise ExecutionNotFoundError(
                f"{len(found)} executions produced {ref} (sha256 {sha[:12]}…): name one by id"
            )
        execution = ledger.events.get(next(iter(found)))
        assert isinstance(execution, Execution)
        return execution
    return ledger.execution(ref)


def input_chain(ledger: Ledger, start: Execution, index: LogIndex) -> list[Execution]:
    """`start` and every execution its inputs came from (by sha256), transitively."""
    chain: dict[UUID, Execution] = {start.id: start}
    todo = [start]
    while todo:
        current = todo.pop()
        for ref in current.record.inputs:
            for producer in index.producers.get(ref.sha256 or "", ()):
                if producer not in chain:
                    found = ledger.events.get(producer)
                    assert isinstance(found, Execution)
                    chain[producer] = found
                    todo.append(found)
    return list(chain.values())


@dataclass(frozen=True)
class CommitResult:
    committed: list[str]
    already: list[str]
    position: int
    snapshotted: int = 0  # output files copied into the local data store
    not_snapshotted: list[str] = field(default_factory=list)  # gone or changed since the run


def local_path(uri: str, base: str | None = None) -> Path | None:
    """Where a record's file uri points on this machine (relative: to the run's directory)."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    if not path.is_absolute() and base and (Path(base) / path).exists():
        return Path(base) / path
    return path


def snapshot_outputs(executions: list[Execution], store: DataFiles) -> tuple[int, list[str]]:
    """Copy each execution's output files into the data store, so that push sends exactly
    what was committed even if the working copy changes afterwards."""
    taken, missed = 0, []
    for execution in executions:
        base = execution.record.attributes.get("cwd")
        for ref in execution.record.outputs:
            if not ref.sha256:
                continue
            path = local_path(ref.uri, base if isinstance(base, str) else None)
            if (
                path is not None
                and path.is_file()
                and store.adopt(path, ref.sha256, restricted=ref.restricted)
            ):
                taken += 1
            elif not store.has(ref.sha256):
                missed.append(ref.uri)
    return taken, missed


def commit(ledger: Ledger, ref: str, store: DataFiles | None = None) -> CommitResult:
    """Mark an execution and the chain its inputs came from for pushing (`Committed`), and
    snapshot their output files into the local data store (when given one)."""
    index = scan(ledger)
    for _ in range(5):
        start = resolve(ledger, ref, index)
        if start.retracted:
            raise ExecutionStateError(f"execution {start.record.execution_id!r} is retracted")
        chain = input_chain(ledger, start, index)
        new = [e for e in chain if not e.committed and not e.retracted]
        for e in new:
            e.trigger_event(e.Committed)
        try:
            position = ledger.events.save(*new) if new else 0
        except IntegrityError:
            continue
        ledger.catch_up()
        live = [e for e in chain if not e.retracted]
        taken, missed = snapshot_outputs(live, store) if store is not None else (0, [])
        return CommitResult(
            [_name(e) for e in new],
            [_name(e) for e in chain if e not in new],
            position,
            taken,
            missed,
        )
    raise IntegrityError("executions kept changing; try again")


def _name(e: Execution) -> str:
    return f"{e.record.case_key}/{e.record.execution_id}"


class SyncState(StrEnum):
    LOCAL = "local only"
    PULLED = "pulled"
    COMMITTED = "committed"
    PUSHED = "pushed"
    CHANGED = "changed since push"
    RETRACTED = "retracted"


@dataclass
class Tracker:
    """An execution's sync state, fed its events in log order."""

    remote: str | None = None
    here: str | None = None
    name: str = ""
    origin: str | None = None
    committed: bool = False
    retracted: bool = False
    pushed: bool = False
    changed: bool = False

    def feed(self, event: Any) -> None:
        if self.origin is None:
            self.origin = getattr(event, "ledger", None)
        if isinstance(event, Execution.Recorded):
            self.name = f"{event.record.case_key}/{event.record.execution_id}"
        if isinstance(event, Execution.Committed):
            self.committed = True
        elif isinstance(event, Execution.Pushed) and self.remote in (None, event.remote):
            self.pushed, self.changed = True, False
        elif is_synced(event):
            self.changed = True
            self.retracted = self.retracted or isinstance(event, Execution.Retracted)

    @property
    def state(self) -> SyncState:
        if self.pushed:
            return SyncState.CHANGED if self.changed else SyncState.PUSHED
        if self.retracted:
            return SyncState.RETRACTED
        if self.committed:
            return SyncState.COMMITTED
        pulled = self.here is not None and self.origin not in (self.here, "local")
        return SyncState.PULLED if pulled else SyncState.LOCAL


def state_of(
    history: Iterable[PositionedEvent], remote: str | None, here: str | None = None
) -> SyncState:
    """Sync state from an execution's history, for one remote ledger id (or any); `here` is
    this ledger's id: an execution first recorded elsewhere and not committed here was pulled."""
    tracker = Tracker(remote, here)
    for pe in history:
        tracker.feed(pe.event)
    return tracker.state


def all_states(ledger: Ledger) -> dict[UUID, Tracker]:
    """Every execution's sync state in one pass over the log."""
    trackers: dict[UUID, Tracker] = {}
    after = 0
    while batch := ledger.events.read(after, SCAN_BATCH):
        for pe in batch:
            event = pe.event
            if isinstance(event, Execution.Event):
                key = event.originator_id
                if key not in trackers:
                    trackers[key] = Tracker(None, ledger.ledger_id)
                trackers[key].feed(event)
        after = batch[-1].position
    return trackers


def describe(ledger: Ledger, execution: Execution, remote: str | None) -> dict[str, Any]:
    history = ledger.events.history(execution.id)
    return {
        "id": str(execution.id),
        "execution_id": execution.record.execution_id,
        "case": execution.record.case_key,
        "status": execution.record.status.value,
        "sync": state_of(history, remote, ledger.ledger_id).value,
        "pushed": dict(execution.pushed),
        "retracted": execution.retracted,
    }
