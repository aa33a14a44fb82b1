"""Two in-memory ledgers and a fake remote that goes through the JSON wire format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec

from provledger.application.ledger import Ledger
from provledger.application.sync.receive import IncomingExecution, ReceiveResult, receive
from provledger.application.sync.wire import RemoteUnavailableError, WireEvent, to_wire
from provledger.domain.context import acting_as
from tests.fakes import memory_ledger


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

    def put_file(self, sha256: str, data: bytes) -> None:
        self.files[sha256] = data

    def execution(self, id: UUID) -> dict[str, Any] | None:
        history = self.ledger.events.history(id)
        if not history:
            return None
        return {"events": [to_wire(pe.event).to_builtins() for pe in history]}
