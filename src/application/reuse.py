"""Use cases of reuse: find a succeeded execution with the same reuse key, record a reuse, and
explain why nearby executions could not be reused (domain/reuse.py, docs/capture.md "Reuse").

Looking a key up is one index scan of the search projection's (kind, name, value) index
(`reuse_key = K`), narrowed to succeeded executions that are not reuses themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ..domain.errors import ExecutionStateError
from ..domain.execution import Execution
from ..domain.query import Compare, Field
from ..domain.record import ExecutionRecord, Status
from ..domain.reuse import Difference, NotReusable, differences, key_parts
from .capture import Finished, finish_execution
from .ledger import Ledger
from .ports import ExecutionFilter

# Why a candidate's outputs cannot be restored (None: they can), given the wanted output uris.
Availability = Callable[[ExecutionRecord], str | None]
NEAREST_SCANNED = 200  # executions of the same case compared by `explain`
KEY_ROWS = 50  # executions with one key read per lookup (reuses included), newest first


@dataclass(frozen=True)
class Candidate:
    id: UUID
    record: ExecutionRecord


def with_key(ledger: Ledger, key: str, *, limit: int = 5) -> list[Candidate]:
    """Succeeded executions with this reuse key that ran (not reuses), newest first."""
    # The key alone in SQL, so that the plan starts from the value index (a status filter would
    # let the database walk every succeeded execution by its (status, started) index instead);
    # the few executions sharing a key are narrowed here.
    page = ledger.queries.list_executions(
        sort="-started", limit=KEY_ROWS, query=Compare(Field("reuse_key"), "=", key)
    )
    ids = [row["id"] for row in page.items if row["status"] == Status.SUCCEEDED.value]
    found = [c for c in _records(ledger, ids) if c.record.reused_from is None]
    return found[:limit]


def _records(ledger: Ledger, ids: list[str]) -> list[Candidate]:
    found = []
    for item in ids:
        execution = ledger.events.get(UUID(item))
        if isinstance(execution, Execution):
            found.append(Candidate(execution.id, execution.record))
    return found


@dataclass(frozen=True)
class Lookup:
    """What `run --reuse` found: the original to restore, or why there is none."""

    key: str | None
    original: Candidate | None = None
    reason: str | None = None  # why nothing can be reused
    unavailable: list[tuple[Candidate, str]] = field(default_factory=list)


def look_up(ledger: Ledger, record: ExecutionRecord, available: Availability) -> Lookup:
    """The newest succeeded execution with `record`'s key whose kept outputs can be restored."""
    try:
        key = key_parts(record).key
    except NotReusable as e:
        return Lookup(None, reason=f"no reuse key: {e}")
    hits = with_key(ledger, key)
    if not hits:
        return Lookup(key, reason="no succeeded execution with the same reuse key")
    unavailable: list[tuple[Candidate, str]] = []
    for hit in hits:
        why = available(hit.record)
        if why is None:
            return Lookup(key, hit, unavailable=unavailable)
        unavailable.append((hit, why))
    first, why = unavailable[0]
    return Lookup(
        key,
        reason=f"{_name(first.record)} has the same key but its outputs are not available: {why}",
        unavailable=unavailable,
    )


def _name(record: ExecutionRecord) -> str:
    return f"{record.namespace}/{record.case}/{record.execution_id}"


def finish_reused(
    ledger: Ledger,
    final: ExecutionRecord,
    original: Candidate,
    files: list[str],
    *,
    catch_up: bool = True,
) -> Finished:
    """Finish a started execution as reused: `ExecutionFinished` (its record names the original
    in `reused_from`) and `ExecutionReused`, with the case's canonical choice when it is the
    case's first success, in one atomic save (retried if another writer saved first)."""
    original_ref, reuse_key = final.reused_from, final.reuse_key
    if final.status is not Status.SUCCEEDED or original_ref is None or reuse_key is None:
        raise ExecutionStateError("a reused execution is succeeded, with reused_from and its key")
    return finish_execution(
        ledger,
        final,
        catch_up=catch_up,
        also=lambda execution: execution.mark_reused(original.id, original_ref, reuse_key, files),
    )


@dataclass(frozen=True)
class Explained:
    """One candidate next to the explained record: what differs, and whether it is usable."""

    record: ExecutionRecord
    differences: list[Difference]
    unavailable: str | None  # why its outputs cannot be restored (None: they can)

    @property
    def same_key(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Explanation:
    key: str | None
    not_reusable: str | None  # why the record has no key
    nearest: list[Explained]


def explain(
    ledger: Ledger,
    record: ExecutionRecord,
    available: Availability,
    *,
    limit: int = 3,
    exclude: str | None = None,
) -> Explanation:
    """For the nearest succeeded executions (same key first, then the same case's, fewest
    differing parts first, newest first), which part of the key differs."""
    try:
        parts = key_parts(record)
    except NotReusable as e:
        return Explanation(None, str(e), [])
    key = parts.key
    seen: dict[UUID, Candidate] = {c.id: c for c in with_key(ledger, key, limit=limit)}
    page = ledger.queries.list_executions(
        ExecutionFilter(case=f"{record.namespace}/{record.case}", status=Status.SUCCEEDED.value),
        sort="-started",
        limit=NEAREST_SCANNED,
        query=Compare(Field("reused"), "=", False),
    )
    for candidate in _records(ledger, [r["id"] for r in page.items if UUID(r["id"]) not in seen]):
        seen[candidate.id] = candidate
    ranked = []
    for candidate in seen.values():
        if exclude is not None and candidate.id == UUID(exclude):
            continue
        try:
            theirs = key_parts(candidate.record)
        except NotReusable:
            continue
        ranked.append((candidate, differences(parts, theirs)))
    ranked.sort(key=lambda item: (len(item[1]), -_started(item[0].record)))
    return Explanation(
        key,
        None,
        [
            Explained(c.record, diffs, None if diffs else available(c.record))
            for c, diffs in ranked[:limit]
        ],
    )


def _started(record: ExecutionRecord) -> float:
    return record.started.timestamp() if record.started else 0.0


KEPT_REUSED = "a reused execution restores it (gc --files --all drops it)"


def reused_sha256s(ledger: Ledger) -> set[str]:
    """The sha256s of the outputs that reused executions restored (their originals' kept
    files): `gc` keeps local copies of them unless told to drop everything."""
    found: set[str] = set()
    cursor: str | None = None
    while True:
        page = ledger.queries.list_executions(
            query=Compare(Field("reused"), "=", True), limit=1000, cursor=cursor
        )
        for candidate in _records(ledger, [row["id"] for row in page.items]):
            record = candidate.record
            found.update(str(k.get("sha256")) for k in record.attributes.get("kept") or [])
            found.update(o.sha256 for o in record.outputs if o.sha256)
        if not page.next_cursor:
            return found
        cursor = page.next_cursor


class Guarded:
    """A data store whose files in `protected` gc does not see (so never drops)."""

    def __init__(self, store: Any, protected: set[str]) -> None:
        self.store, self.protected = store, protected

    def entries(self) -> list[Any]:
        return [e for e in self.store.entries() if e.sha256 not in self.protected]

    def held(self) -> list[Any]:
        return [e for e in self.store.entries() if e.sha256 in self.protected]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
