"""In-memory fakes for unit tests: an archive (beside FolderArchive and S3Archive) and a raw
log (beside SqlRawLog)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ...application.ports import StoredObject
from ...application.stored_log import ArchiveUnavailableError, StoredRow
from .keys import checked_key, differs, stored


class InMemoryArchive:
    def __init__(self, url: str = "memory://archive") -> None:
        self.url = url
        self.objects: dict[str, bytes] = {}
        self.down = False  # tests: simulate an unreachable archive

    def _check(self) -> None:
        if self.down:
            raise ArchiveUnavailableError(f"archive {self.url} is unreachable")

    def put(self, key: str, data: bytes) -> StoredObject:
        self._check()
        key = checked_key(key)
        existing = self.objects.get(key)
        if existing is not None and existing != data:
            raise differs(key, self.url)
        self.objects[key] = bytes(data)
        return stored(key, self.objects[key])

    def put_path(self, key: str, path: Path) -> StoredObject:
        return self.put(key, path.read_bytes())

    def chunks(self, key: str) -> Iterator[bytes] | None:
        data = self.get(key)
        return None if data is None else iter([data])

    def get(self, key: str) -> bytes | None:
        self._check()
        return self.objects.get(checked_key(key))

    def exists(self, key: str) -> bool:
        self._check()
        return checked_key(key) in self.objects

    def list(self, prefix: str) -> list[str]:
        self._check()
        return sorted(k for k in self.objects if k.startswith(prefix))


class InMemoryRawLog:
    """RawLog fake: stored rows in a list (position order), bookkeeping in a dict."""

    def __init__(self, rows: Sequence[StoredRow] = ()) -> None:
        self.stored: list[StoredRow] = list(rows)
        self.state: dict[str, str] = {}
        self.execution_rows: list[dict[str, Any]] = []
        self.ledger_id: str | None = None

    def rows(self, after: int, limit: int) -> Sequence[StoredRow]:
        return [r for r in self.stored if r.position > after][:limit]

    def rows_by_aggregate(self, after: tuple[str, int] | None, limit: int) -> Sequence[StoredRow]:
        ordered = sorted(self.stored, key=lambda r: (r.originator_id, r.version))
        return [r for r in ordered if after is None or (r.originator_id, r.version) > after][:limit]

    def head(self) -> int:
        return self.stored[-1].position if self.stored else 0

    def count(self) -> int:
        return len(self.stored)

    def is_empty(self) -> bool:
        return not self.stored

    def insert_rows(self, rows: Sequence[StoredRow]) -> None:
        if rows and self.stored and rows[0].position <= self.stored[-1].position:
            raise ValueError("positions must keep increasing")
        self.stored.extend(rows)

    def finish_restore(self, ledger_id: str | None) -> None:
        self.ledger_id = ledger_id

    def get_state(self, key: str) -> str | None:
        return self.state.get(key)

    def set_state(self, key: str, value: str) -> None:
        self.state[key] = value

    def executions(self, after: str | None, limit: int) -> Sequence[dict[str, Any]]:
        ordered = sorted(self.execution_rows, key=lambda r: str(r["id"]))
        return [r for r in ordered if after is None or str(r["id"]) > after][:limit]
