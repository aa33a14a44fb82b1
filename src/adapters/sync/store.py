"""The local content-addressed data store: `<PROVLEDGER_HOME>/data/<sha256[:2]>/<sha256>`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...application.sync.wire import SyncError


class DataStore:
    def __init__(self, home: Path) -> None:
        self.root = home / "data"

    def path_for(self, sha256: str) -> str:
        return str(self.root / sha256[:2] / sha256)

    def has(self, sha256: str) -> bool:
        return Path(self.path_for(sha256)).is_file()

    def put(self, sha256: str, data: bytes) -> str:
        """Write verified bytes atomically (read-only); refuse bytes that hash otherwise."""
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise SyncError(f"downloaded file hashes to {actual}, not {sha256}: not kept")
        target = Path(self.path_for(sha256))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o444)
        os.replace(tmp, target)
        return str(target)

    def list(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("??/*") if len(p.name) == 64)

    def remove(self, sha256: str) -> None:
        Path(self.path_for(sha256)).unlink(missing_ok=True)
