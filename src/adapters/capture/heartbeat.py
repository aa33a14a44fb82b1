"""Heartbeats of running captures: files under PROVLEDGER_HOME/heartbeats (see docs/capture.md).

One file per running execution, `<execution uuid>.json`, rewritten every `interval` seconds by a
daemon thread; its mtime is the last beat. A file (not a ledger table) keeps beats off the
event log and off the database's write lock; `provledger stale` reads them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from ...application.capture import Heartbeats


class FileHeartbeats:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, execution: UUID) -> Path:
        return self.directory / f"{execution}.json"

    def beat(self, execution: UUID, info: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(execution)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**info, "beat": datetime.now(UTC).isoformat()}))
        os.replace(tmp, path)

    def last(self, execution: UUID) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(execution).stat().st_mtime, UTC)
        except OSError:
            return None

    def info(self, execution: UUID) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._path(execution).read_text())
        except (OSError, ValueError):
            return {}
        return data

    def clear(self, execution: UUID) -> None:
        with contextlib.suppress(OSError):
            self._path(execution).unlink()


class MemoryHeartbeats:
    """In-memory fake for tests."""

    def __init__(self) -> None:
        self.beats: dict[UUID, datetime] = {}
        self.infos: dict[UUID, dict[str, Any]] = {}

    def beat(self, execution: UUID, info: dict[str, Any]) -> None:
        self.beats[execution] = datetime.now(UTC)
        self.infos[execution] = info

    def last(self, execution: UUID) -> datetime | None:
        return self.beats.get(execution)

    def info(self, execution: UUID) -> dict[str, Any]:
        return self.infos.get(execution, {})

    def clear(self, execution: UUID) -> None:
        self.beats.pop(execution, None)


@contextlib.contextmanager
def beating(
    store: Heartbeats,
    execution: UUID,
    info: dict[str, Any],
    interval: float = 10.0,
) -> Iterator[None]:
    """Beat now and every `interval` seconds until the block ends; then clear."""
    stop = threading.Event()
    store.beat(execution, info)

    def loop() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(OSError):
                store.beat(execution, info)

    thread = threading.Thread(target=loop, name="provledger-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1)
        store.clear(execution)
