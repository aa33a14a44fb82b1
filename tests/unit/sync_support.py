"""Two in-memory ledgers and a fake remote that goes through the JSON wire format."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from provledger.application.ledger import Ledger
from provledger.application.sync.ports import LOCAL, PULLED, StoredFile
from provledger.application.sync.receive import IncomingExecution, ReceiveResult, receive
from provledger.application.sync.wire import RemoteUnavailableError, SyncError, WireEvent, to_wire
from provledger.domain.case import Case
from provledger.domain.context import acting_as
from provledger.domain.execution import Execution
from provledger.domain.ids import case_id
from tests.fakes import memory_ledger

T = TypeVar("T")


def ledger_named(name: str) -> Ledger:
    ledger, _ = memory_ledger()
    ledger.ledger_id = name
    return ledger


class FakeRemote:
    """A remote ledger in memory; `fail_after_receive` drops the answer like a killed push."""

    def __init__(self, ledger: Ledger, name: str = "origin") -> None:
        self.name = name
        self.ledger = ledger
        self.files: dict[str, bytes] = {}
        self.fail_after_receive = False
        self.down = False

    def ledger_id(self) -> str:
        if self.down:
            raise RemoteUnavailableError("remote 'origin' is not reachable")
        return self.ledger.ledger_id

    def push(self, items: Sequence[IncomingExecution]) -> list[ReceiveResult]:
        wired = [
            IncomingExecution(
                UUID(str(i.id)),
                [
                    WireEvent(e.topic, msgspec.json.decode(msgspec.json.encode(e.state)))
                    for e in i.events
                ],
            )
            for i in items
        ]
        with acting_as(actor="token:laptop", ledger=self.ledger.ledger_id):
            results = receive(self.ledger, wired)
        if self.fail_after_receive:
            raise RemoteUnavailableError("connection lost after the remote took the batch")
        return results

    def missing_files(self, sha256s: Sequence[str]) -> list[str] | None:
        return [s for s in sha256s if s not in self.files]

    def put_file(self, sha256: str, data: bytes | Path) -> None:
        self.files[sha256] = data.read_bytes() if isinstance(data, Path) else data

    def case_keys(self) -> list[str]:
        return [f"{c.namespace}/{c.name}" for c in self._aggregates(Case)]

    def case(self, key: str) -> dict[str, Any] | None:
        namespace, _, name = key.partition("/")
        case = self.ledger.events.get(case_id(namespace, name))
        if not isinstance(case, Case):
            return None
        rows = [
            {
                "id": str(e.id),
                "execution_id": e.record.execution_id,
                "status": e.record.status.value,
                "is_canonical": e.id == case.canonical,
                "started": str(e.record.started),
            }
            for e in self._aggregates(Execution)
            if e.case_id == case.id
        ]
        return {"key": key, "executions": rows}

    @contextmanager
    def file_chunks(self, sha256: str) -> Iterator[Iterator[bytes] | None]:
        data = self.files.get(sha256)
        yield None if data is None else iter([data[: len(data) // 2], data[len(data) // 2 :]])

    def _aggregates(self, cls: type[T]) -> list[T]:
        found: list[T] = []
        for pe in self.ledger.events.read(0, 100_000):
            if isinstance(pe.event, (Case.Opened, Execution.Recorded)):
                aggregate = self.ledger.events.get(pe.event.originator_id)
                if isinstance(aggregate, cls):
                    found.append(aggregate)
        return found

    def execution(self, id: UUID) -> dict[str, Any] | None:
        history = self.ledger.events.history(id)
        if not history:
            return None
        events = [to_wire(pe.event).to_builtins() for pe in history]
        return {"events": events, "position": history[-1].position}


class MemoryDataStore:
    """The content-addressed data store, in memory; refuses bytes that hash otherwise."""

    def __init__(self, pulled: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self.meta: dict[str, tuple[str, bool]] = {}
        for sha, data in (pulled or {}).items():
            self.files[sha] = data
            self.meta[sha] = (PULLED, False)

    def has(self, sha256: str) -> bool:
        return sha256 in self.files

    def path_for(self, sha256: str) -> str:
        return f"data/{sha256[:2]}/{sha256}"

    def put(self, sha256: str, data: bytes, *, restricted: bool = False) -> str:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise SyncError(f"downloaded file does not hash to {sha256}: not kept")
        self.files[sha256] = data
        self.meta.setdefault(sha256, (PULLED, restricted))
        return self.path_for(sha256)

    def put_stream(self, sha256: str, chunks: Iterable[bytes], *, restricted: bool = False) -> str:
        return self.put(sha256, b"".join(chunks), restricted=restricted)

    def adopt(self, path: Path, sha256: str, *, restricted: bool = False) -> bool:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            return False
        self.files[sha256] = data
        self.meta[sha256] = (LOCAL, restricted)
        return True

    def entries(self) -> list[StoredFile]:
        return [
            StoredFile(sha, *self.meta[sha], len(data)) for sha, data in sorted(self.files.items())
        ]

    def list(self) -> list[str]:
        return sorted(self.files)

    def remove(self, sha256: str) -> None:
        self.files.pop(sha256, None)
        self.meta.pop(sha256, None)
