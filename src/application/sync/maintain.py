"""update, delete and gc: keep pulled copies fresh, retract, and drop cached files safely."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ...domain.errors import ExecutionStateError
from ...domain.execution import Execution
from ..ledger import Ledger
from .local import SyncState, resolve, state_of
from .ports import LOCAL, DataFiles, Remote, StoredFile
from .receive import IncomingExecution, Received, ReceiveResult, receive
from .wire import SYNCED_TOPICS, WireEvent

UNPUSHED = (SyncState.LOCAL, SyncState.COMMITTED, SyncState.CHANGED)


def executions(ledger: Ledger) -> list[Execution]:
    found: list[Execution] = []
    after = 0
    while batch := ledger.events.read(after, 5000):
        for pe in batch:
            if isinstance(pe.event, Execution.Recorded):
                execution = ledger.events.get(pe.event.originator_id)
                assert isinstance(execution, Execution)
                found.append(execution)
        after = batch[-1].position
    return found


def _state(ledger: Ledger, execution: Execution) -> SyncState:
    return state_of(ledger.events.history(execution.id), None, ledger.ledger_id)


@dataclass
class UpdateReport:
    checked: int = 0
    results: list[ReceiveResult] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


def update(ledger: Ledger, remote: Remote) -> UpdateReport:
    """Fetch the remote's newest events of every execution recorded on another ledger.

    An execution that was in sync with the remote (pushed) stays so: `Pushed(remote, its
    remote position)` follows what came from there.
    """
    remote_ledger = remote.ledger_id()
    report = UpdateReport()
    here = ledger.ledger_id
    items: list[IncomingExecution] = []
    in_sync: dict[UUID, int] = {}
    for execution in executions(ledger):
        history = ledger.events.history(execution.id)
        if str(history[0].event.ledger) in (here, "local"):
            continue
        report.checked += 1
        found = remote.execution(execution.id)
        if found is None:
            report.absent.append(execution.record.execution_id)
            continue
        if state_of(history, remote_ledger) is SyncState.PUSHED:
            in_sync[execution.id] = int(found["position"])
        events = [WireEvent(e["topic"], e["state"]) for e in found["events"]]
        synced = [e for e in events if e.topic in SYNCED_TOPICS]
        items.append(IncomingExecution(execution.id, synced))
    if items:
        report.results = receive(ledger, items)
    marked = []
    for r in report.results:
        if r.outcome is Received.UPDATED and r.id in in_sync:
            fresh = ledger.events.get(r.id)
            assert isinstance(fresh, Execution)
            fresh.trigger_event(fresh.Pushed, remote=remote_ledger, remote_position=in_sync[r.id])
            marked.append(fresh)
    if marked:
        ledger.events.save(*marked)
        ledger.catch_up()
    return report


def counts(results: list[ReceiveResult]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.outcome.value] = out.get(r.outcome.value, 0) + 1
    return out


@dataclass(frozen=True)
class Deleted:
    execution_id: str
    case: str
    state: str
    files_removed: list[str]


def protected_files(ledger: Ledger, skip: UUID | None = None) -> set[str]:
    """sha256s that unpushed local work reads or wrote: never removed."""
    keep: set[str] = set()
    for execution in executions(ledger):
        if execution.id == skip or execution.retracted:
            continue
        if _state(ledger, execution) in UNPUSHED:
            refs = [*execution.record.inputs, *execution.record.outputs]
            keep |= {r.sha256 for r in refs if r.sha256}
    return keep


def delete(ledger: Ledger, ref: str, store: DataFiles, *, force: bool, reason: str) -> Deleted:
    """Retract an execution (history keeps it) and drop its cached files no other work needs."""
    execution = resolve(ledger, ref)
    state = _state(ledger, execution)
    if state in UNPUSHED and not force:
        raise ExecutionStateError(
            f"execution {execution.record.execution_id!r} is {state.value}: it has work that "
            "is on no remote; use --force to retract it anyway"
        )
    for _ in range(5):
        execution.retract(reason)
        try:
            ledger.events.save(execution)
            break
        except IntegrityError:
            execution = resolve(ledger, str(execution.id))
    else:
        raise IntegrityError("execution kept changing; try again")
    ledger.catch_up()
    keep = protected_files(ledger, skip=execution.id)
    cached = {entry.sha256 for entry in store.entries()}
    mine = {r.sha256 for r in [*execution.record.outputs] if r.sha256}
    removed = sorted((mine & cached) - keep)
    for sha in removed:
        store.remove(sha)
    return Deleted(execution.record.execution_id, execution.record.case_key, state.value, removed)


@dataclass(frozen=True)
class GcPlan:
    removable: list[StoredFile]
    kept: dict[str, list[StoredFile]]  # reason -> files

    @property
    def freed_bytes(self) -> int:
        return sum(f.size for f in self.removable)


KEPT_UNPUSHED = "unpushed work uses it"
KEPT_LOCAL = "local data file (gc --files drops it once pushed)"
KEPT_RESTRICTED = "restricted (gc --files --all drops it)"


def gc(
    ledger: Ledger,
    store: DataFiles,
    *,
    files: bool = False,
    everything: bool = False,
    dry_run: bool = False,
) -> GcPlan:
    """Drop pulled copies (and, with `files`, local data files) no unpushed work depends on.

    Restricted files stay unless `everything` (`--files --all`): getting them back may need
    rights the user lacks. Anything an unpushed execution read or wrote always stays."""
    if everything and not files:
        raise ValueError("--all only goes with --files: gc --files --all")
    keep = protected_files(ledger)
    removable: list[StoredFile] = []
    kept: dict[str, list[StoredFile]] = {}
    for entry in store.entries():
        if entry.sha256 in keep:
            reason: str | None = KEPT_UNPUSHED
        elif entry.origin == LOCAL and not files:
            reason = KEPT_LOCAL
        elif entry.restricted and not everything:
            reason = KEPT_RESTRICTED
        else:
            reason = None
        if reason:
            kept.setdefault(reason, []).append(entry)
        else:
            removable.append(entry)
    if not dry_run:
        for entry in removable:
            store.remove(entry.sha256)
    return GcPlan(removable, kept)
