"""What push (and info) need from a remote ledger; the HTTP client and a fake implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from .receive import IncomingExecution, ReceiveResult


class Remote(Protocol):
    name: str

    def ledger_id(self) -> str:
        """The remote ledger's id; raises RemoteUnavailableError when it does not answer."""
        ...

    def push(self, items: Sequence[IncomingExecution]) -> list[ReceiveResult]: ...

    def missing_files(self, sha256s: Sequence[str]) -> list[str] | None:
        """Which of these files the remote lacks; None when the remote keeps no files."""
        ...

    def put_file(self, sha256: str, data: bytes) -> None: ...

    def execution(self, id: UUID) -> dict[str, Any] | None:
        """What the remote knows of one execution (None when it has none)."""
        ...
