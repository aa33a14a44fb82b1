"""The local content-addressed data store: `<PROVLEDGER_HOME>/data/<sha256[:2]>/<sha256>`.

Each file has a sidecar `<sha256>.json` saying where it came from (`pulled` from a remote, or a
`local` snapshot taken by `commit`) and whether it is restricted; `gc` decides by these. A file
without a sidecar (written before sidecars existed) counts as a pulled copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

from ...application.sync.ports import LOCAL, PULLED, StoredFile
from ...application.sync.wire import SyncError

CHUNK = 1 << 20


class DataStore:
    def __init__(self, home: Path) -> None:
        self.root = home / "data"

    def path_for(self, sha256: str) -> str:
        return str(self.root / sha256[:2] / sha256)

    def _meta_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.json"

    def has(self, sha256: str) -> bool:
        return Path(self.path_for(sha256)).is_file()

    def put(self, sha256: str, data: bytes, *, restricted: bool = False) -> str:
        """Write verified bytes atomically (read-only); refuse bytes that hash otherwise."""
        return self.put_stream(sha256, [data], restricted=restricted)

    def put_stream(self, sha256: str, chunks: Iterable[bytes], *, restricted: bool = False) -> str:
        """Write chunks to a temporary file while hashing; keep it (read-only, atomically)
        only if it hashes to `sha256`."""
        target = Path(self.path_for(sha256))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{os.getpid()}.{threading.get_ident()}.tmp")
        digest = hashlib.sha256()
        try:
            with tmp.open("wb") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
            actual = digest.hexdigest()
            if actual != sha256:
                raise SyncError(f"downloaded file hashes to {actual}, not {sha256}: not kept")
            if not self._meta_path(sha256).exists():
                self._write_meta(sha256, PULLED, restricted)
            tmp.chmod(0o444)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return str(target)

    def adopt(self, path: Path, sha256: str, *, restricted: bool = False) -> bool:
        """Copy a local file in (streamed, verified while copying) as a local data file."""
        target = Path(self.path_for(sha256))
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            self._write_meta(sha256, LOCAL, restricted or self._restricted(sha256))
            return True
        tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        digest = hashlib.sha256()
        try:
            with path.open("rb") as src, tmp.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        if digest.hexdigest() != sha256:
            tmp.unlink(missing_ok=True)
            return False
        self._write_meta(sha256, LOCAL, restricted)
        tmp.chmod(0o444)
        os.replace(tmp, target)
        return True

    def entries(self) -> list[StoredFile]:
        if not self.root.is_dir():
            return []
        found = []
        for p in sorted(self.root.glob("??/*")):
            if len(p.name) != 64 or not p.is_file():
                continue
            origin, restricted = self._meta(p.name)
            found.append(StoredFile(p.name, origin, restricted, p.stat().st_size))
        return found

    def remove(self, sha256: str) -> None:
        Path(self.path_for(sha256)).unlink(missing_ok=True)
        self._meta_path(sha256).unlink(missing_ok=True)

    def _meta(self, sha256: str) -> tuple[str, bool]:
        try:
            meta = json.loads(self._meta_path(sha256).read_text())
            return str(meta.get("origin", PULLED)), bool(meta.get("restricted", False))
        except (OSError, ValueError):
            return PULLED, False

    def _restricted(self, sha256: str) -> bool:
        return self._meta(sha256)[1]

    def _write_meta(self, sha256: str, origin: str, restricted: bool) -> None:
        meta = self._meta_path(sha256)
        tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"origin": origin, "restricted": restricted}))
        os.replace(tmp, meta)


def clear_cache(home: Path, *, dry_run: bool) -> list[str]:
    """Files under `<home>/cache` (rebuilt on demand, e.g. the installed-packages list)."""
    root = home / "cache"
    if not root.is_dir():
        return []
    found = sorted(str(p.relative_to(home)) for p in root.rglob("*") if p.is_file())
    if not dry_run:
        shutil.rmtree(root, ignore_errors=True)
    return found
