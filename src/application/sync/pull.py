"""Pull: fetch the executions a run config reads from a remote, and their files, by sha256.

Pulled executions are appended to the local ledger as the same events (their ids, actors,
times and origin ledger kept), through the same rules as a push on the server. Their files land
in the local content-addressed store, verified. The result pins every read to one execution and
one sha256, so the working config means the same thing whatever happens to either ledger later.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, Protocol
from uuid import UUID

from ...domain.record import FileRef
from ..ledger import Ledger
from .ports import DataFiles, Remote
from .receive import IncomingExecution, Received, check, receive
from .wire import SYNCED_TOPICS, SyncError, WireEvent

SELECTORS = ("canonical", "latest")
TRANSFERS = 4  # files in flight at once


class PullRemote(Remote, Protocol):
    def case_keys(self) -> list[str]: ...

    def case(self, key: str) -> dict[str, Any] | None: ...

    def file_chunks(self, sha256: str) -> AbstractContextManager[Iterator[bytes] | None]:
        """The file's bytes as they arrive (None when the remote has no such file)."""
        ...


@dataclass(frozen=True)
class ReadSpec:
    """One `read:` entry: which case(s), which execution, which output(s)."""

    case: str
    execution: str = "canonical"
    output: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class PinnedInput:
    name: str
    case: str
    execution_id: str
    execution: str
    selected_by: str
    role: str | None
    uri: str
    sha256: str
    size: int | None
    path: str


@dataclass
class PullResult:
    remote_ledger: str
    inputs: list[PinnedInput] = field(default_factory=list)
    executions: dict[str, str] = field(default_factory=dict)  # uuid -> outcome
    downloaded: int = 0
    cached: int = 0


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _cases(remote: PullRemote, spec: ReadSpec, where: str) -> list[str]:
    if _is_glob(spec.case):
        keys = sorted(k for k in remote.case_keys() if fnmatchcase(k, spec.case))
        if not keys:
            raise SyncError(f"{where}: no case on {remote.name!r} matches {spec.case!r}")
        return keys
    return [spec.case]


def _choose(case: dict[str, Any], spec: ReadSpec, where: str) -> dict[str, Any]:
    executions: list[dict[str, Any]] = case["executions"]
    if spec.execution == "canonical":
        found = [e for e in executions if e["is_canonical"]]
        if not found:
            raise SyncError(f"{where}: case {case['key']!r} has no canonical execution")
        return found[0]
    if spec.execution == "latest":
        done = [e for e in executions if e["status"] == "succeeded"]
        if not done:
            raise SyncError(f"{where}: case {case['key']!r} has no succeeded execution")
        return max(done, key=lambda e: (e["started"] or "", e["execution_id"]))
    found = [e for e in executions if spec.execution in (e["execution_id"], e["id"])]
    if not found:
        raise SyncError(f"{where}: case {case['key']!r} has no execution {spec.execution!r}")
    return found[0]


def _outputs(refs: list[FileRef], spec: ReadSpec) -> list[FileRef]:
    refs = [r for r in refs if r.sha256]
    if spec.output is not None:
        wanted = spec.output
        refs = [
            r
            for r in refs
            if r.role == wanted
            or fnmatchcase(r.uri, wanted)
            or fnmatchcase(PurePosixPath(r.uri).name, wanted)
        ]
    return refs


def pull(ledger: Ledger, remote: PullRemote, specs: list[ReadSpec], store: DataFiles) -> PullResult:
    """Resolve every read, append the executions locally, download and verify their files."""
    if not specs:
        raise SyncError("the config reads nothing: add a `read:` list")
    result = PullResult(remote.ledger_id())
    chosen: list[tuple[int, ReadSpec, dict[str, Any], str]] = []
    for i, spec in enumerate(specs):
        where = f"read[{i}]"
        if spec.execution not in SELECTORS and _is_glob(spec.execution):
            raise SyncError(f"{where}: execution must be canonical, latest or an id")
        for key in _cases(remote, spec, where):
            case = remote.case(key)
            if case is None:
                raise SyncError(f"{where}: no case {key!r} on {remote.name!r}")
            chosen.append((i, spec, _choose(case, spec, where), case["key"]))
    fetched: dict[UUID, IncomingExecution] = {}
    for _, _, row, _ in chosen:
        ident = UUID(row["id"])
        if ident not in fetched:
            found = remote.execution(ident)
            if found is None:
                raise SyncError(f"execution {row['execution_id']!r} vanished from the remote")
            events = [WireEvent(e["topic"], e["state"]) for e in found["events"]]
            fetched[ident] = IncomingExecution(ident, [e for e in events if _synced(e)])
    finals = {key: check(item).final for key, item in fetched.items()}
    picked: list[tuple[ReadSpec, dict[str, Any], str, FileRef]] = []
    for i, spec in enumerate(specs):
        entry = [(row, key) for j, _, row, key in chosen if j == i]
        matches = [
            (spec, row, key, ref)
            for row, key in entry
            for ref in _outputs(list(finals[UUID(row["id"])].outputs), spec)
        ]
        if not matches:
            what = f" matching {spec.output!r}" if spec.output else ""
            raise SyncError(f"read[{i}]: no chosen execution has an output with a sha256{what}")
        picked += matches
    used = {UUID(row["id"]) for _, row, _, _ in picked}
    for r in receive(ledger, [item for key, item in fetched.items() if key in used]):
        if r.outcome in (Received.CONFLICT, Received.INVALID):
            detail = ", ".join(r.conflicting_fields) or r.error or ""
            raise SyncError(
                f"execution {r.execution_id or r.id} on the remote differs from the local one "
                f"({detail}); nothing was pulled over it"
            )
        result.executions[str(r.id)] = r.outcome.value
    restricted = {ref.sha256 or "": ref.restricted for _, _, _, ref in picked}
    paths = _fetch_all(remote, store, restricted, result)
    for spec, row, case_key, ref in picked:
        sha = ref.sha256 or ""
        result.inputs.append(
            PinnedInput(
                name=_name(spec, ref, {p.name for p in result.inputs}),
                case=case_key,
                execution_id=row["execution_id"],
                execution=row["id"],
                selected_by=spec.execution,
                role=ref.role,
                uri=ref.uri,
                sha256=sha,
                size=ref.size,
                path=paths[sha],
            )
        )
    return result


def _synced(event: WireEvent) -> bool:
    return event.topic in SYNCED_TOPICS


def _name(spec: ReadSpec, ref: FileRef, taken: set[str]) -> str:
    """`as`, else the output's role, else its file name; `.2`, `.3`… when already taken."""
    base = spec.name or ref.role or PurePosixPath(ref.uri).name
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}.{n}"
    return name


def _fetch_all(
    remote: PullRemote, store: DataFiles, restricted: dict[str, bool], result: PullResult
) -> dict[str, str]:
    """Local paths of these files: cached ones as they are, the others downloaded (verified)."""
    paths = {sha: store.path_for(sha) for sha in restricted if store.has(sha)}
    result.cached += len(paths)
    todo = [sha for sha in restricted if sha not in paths]

    def fetch(sha: str) -> str:
        with remote.file_chunks(sha) as chunks:
            if chunks is None:
                raise SyncError(f"the remote has no file with sha256 {sha}: it was never pushed")
            return store.put_stream(sha, chunks, restricted=restricted[sha])

    with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
        paths.update(zip(todo, pool.map(fetch, todo), strict=True))
    result.downloaded += len(todo)
    return paths
