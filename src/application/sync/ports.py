"""What sync needs from a remote ledger and from the local data store (real adapters and fakes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
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

    def put_file(self, sha256: str, data: bytes | Path) -> None:
        """Upload a file's bytes (a path is streamed, not read into memory)."""
        ...

    def execution(self, id: UUID) -> dict[str, Any] | None:
        """What the remote knows of one execution (None when it has none)."""
        ...


PULLED = "pulled"  # downloaded from a remote by `pull`/`update`: the remote has it
LOCAL = "local"  # a snapshot `commit` took of a local output: push uploads these bytes


@dataclass(frozen=True)
class StoredFile:
    """One file in the local content-addressed data store."""

    sha256: str
    origin: str  # PULLED or LOCAL
    restricted: bool
    size: int


class DataFiles(Protocol):
    """The local content-addressed data store (a folder; a dict in unit tests)."""

    def has(self, sha256: str) -> bool: ...

    def path_for(self, sha256: str) -> str: ...

    def put(self, sha256: str, data: bytes, *, restricted: bool = False) -> str:
        """Keep downloaded bytes (verified) as a pulled copy; return the local path."""
        ...

    def put_stream(self, sha256: str, chunks: Iterable[bytes], *, restricted: bool = False) -> str:
        """As put, written as the chunks arrive (never all in memory)."""
        ...

    def adopt(self, path: Path, sha256: str, *, restricted: bool = False) -> bool:
        """Snapshot a local file as a local data file; False when it no longer hashes so."""
        ...

    def entries(self) -> list[StoredFile]: ...

    def remove(self, sha256: str) -> None: ...
