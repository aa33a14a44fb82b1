"""Push: send committed executions to a remote in dependency order, files first.

Idempotent and resumable: the remote appends only events it lacks, and `Pushed(remote,
remote position)` is appended locally only after the remote answered. An interrupted push
leaves some executions on the remote without a local `Pushed`; the next push sends them again,
the remote answers `unchanged`, and the local `Pushed` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ...domain.execution import Execution
from ..ledger import Ledger
from .local import LogIndex, local_path, scan, sha256_of, state_of
from .ports import DataFiles, Remote
from .receive import IncomingExecution, Received, ReceiveResult
from .wire import synced_wire

BATCH = 200
TRANSFERS = 4  # files in flight at once
# A file's bytes, or the path of a local copy that hashes as recorded (streamed when sent).
FileSource = Callable[[str, str], "bytes | Path | None"]


@dataclass
class PushReport:
    remote: str
    remote_ledger: str
    sent: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[ReceiveResult] = field(default_factory=list)
    invalid: list[ReceiveResult] = field(default_factory=list)
    files_uploaded: int = 0
    files_present: int = 0
    files_missing_locally: list[str] = field(default_factory=list)
    remote_keeps_files: bool = True


def local_file(uri: str, sha256: str) -> Path | None:
    """The file a record's uri names, when it is here and still hashes as recorded."""
    path = local_path(uri)
    try:
        if path is None or not path.is_file() or sha256_of(path) != sha256:
            return None
        return path
    except OSError:
        return None


def stored_or_local(store: DataFiles) -> FileSource:
    """Commit's snapshot in the data store first (the bytes that were committed), else the
    working copy when it still matches."""

    def source(uri: str, sha256: str) -> Path | None:
        if store.has(sha256):
            return Path(store.path_for(sha256))
        return local_file(uri, sha256)

    return source


def pending(ledger: Ledger, remote_ledger: str, index: LogIndex) -> list[Execution]:
    """Committed executions the remote lacks or that changed since they were pushed to it."""
    todo: dict[UUID, Execution] = {}
    for key in index.committed:
        state = state_of(ledger.events.history(key), remote_ledger)
        if state.value in ("committed", "changed since push", "retracted"):
            execution = ledger.events.get(key)
            assert isinstance(execution, Execution)
            todo[key] = execution
    graph: TopologicalSorter[UUID] = TopologicalSorter()
    for key, execution in sorted(todo.items(), key=lambda kv: _order(kv[1])):
        producers = {
            p
            for ref in execution.record.inputs
            for p in index.producers.get(ref.sha256 or "", ())
            if p in todo and p != key
        }
        graph.add(key, *producers)
    return [todo[k] for k in graph.static_order()]


def _order(e: Execution) -> tuple[str, str]:
    return (str(e.record.started or ""), e.record.execution_id)


def push(
    ledger: Ledger,
    remote: Remote,
    *,
    files: FileSource = local_file,
    batch: int = BATCH,
    on_batch: Callable[[int, int], None] | None = None,
) -> PushReport:
    remote_ledger = remote.ledger_id()
    report = PushReport(remote.name, remote_ledger)
    todo = pending(ledger, remote_ledger, scan(ledger))
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        _upload(remote, chunk, files, report)
        items = [IncomingExecution(e.id, synced_wire(_events(ledger, e.id))) for e in chunk]
        results = remote.push(items)
        report.sent += len(items)
        _mark_pushed(ledger, remote_ledger, results, report)
        if on_batch:
            on_batch(len(chunk), len(todo))
    ledger.catch_up()
    return report


def _events(ledger: Ledger, key: UUID) -> list[object]:
    return [pe.event for pe in ledger.events.history(key)]


def _upload(remote: Remote, chunk: list[Execution], files: FileSource, report: PushReport) -> None:
    wanted = {ref.sha256: ref.uri for e in chunk for ref in e.record.outputs if ref.sha256}
    if not wanted or not report.remote_keeps_files:
        return
    missing = remote.missing_files(sorted(wanted))
    if missing is None:
        report.remote_keeps_files = False
        return
    report.files_present += len(wanted) - len(missing)

    def send(sha: str) -> bool:
        data = files(wanted[sha], sha)
        if data is None:
            return False
        remote.put_file(sha, data)
        return True

    with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
        for sha, sent in zip(missing, pool.map(send, missing), strict=True):
            if sent:
                report.files_uploaded += 1
            else:
                report.files_missing_locally.append(wanted[sha])


def _mark_pushed(
    ledger: Ledger, remote_ledger: str, results: list[ReceiveResult], report: PushReport
) -> None:
    done = {
        r.id: r
        for r in results
        if r.outcome in (Received.CREATED, Received.UPDATED, Received.UNCHANGED)
    }
    for r in results:
        if r.outcome is Received.CONFLICT:
            report.conflicts.append(r)
        elif r.outcome is Received.INVALID:
            report.invalid.append(r)
        else:
            setattr(report, r.outcome.value, getattr(report, r.outcome.value) + 1)
    for _ in range(5):
        marked = []
        for key, r in done.items():
            execution = ledger.events.get(key)
            assert isinstance(execution, Execution)
            execution.trigger_event(
                execution.Pushed, remote=remote_ledger, remote_position=r.position
            )
            marked.append(execution)
        try:
            if marked:
                ledger.events.save(*marked)
            return
        except IntegrityError:
            continue
    raise IntegrityError("executions kept changing during push; push again")
