"""A folder archive (`file:///path`): the same key layout as S3, written atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ...application.ports import StoredObject
from ...application.stored_log import ArchiveError
from .keys import CHUNK, checked_key, differs, file_digest, stored


class FolderArchive:
    """Objects are files under `root`; a new one appears whole (temp file + link) or not at all."""

    def __init__(self, root: Path, *, defer_sync: bool = False) -> None:
        self.root = root
        self.url = root.as_uri()
        # defer_sync: put() skips the per-file fsync; flush() makes every write so far durable
        # with one sync (the persister flushes before it records anything as persisted).
        self.defer_sync = defer_sync
        self._unsynced = 0
        if root.exists() and not root.is_dir():
            raise ArchiveError(f"archive {self.url} is not a folder")

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes) -> StoredObject:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                        f.flush()
                        if self.defer_sync:
                            self._unsynced += 1
                        else:
                            os.fsync(f.fileno())
                    with contextlib.suppress(FileExistsError):
                        os.link(tmp, path)  # never replaces an existing object
                finally:
                    os.unlink(tmp)
            written = path.read_bytes()
        except OSError as e:
            raise ArchiveError(f"cannot write {self.url}/{key}: {e.strerror or e}") from e
        if written != data:
            raise differs(key, self.url)
        return stored(key, written)

    def put_path(self, key: str, path: Path) -> StoredObject:
        target = self._path(key)
        try:
            digest, size = file_digest(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as dst, path.open("rb") as src:
                        shutil.copyfileobj(src, dst, CHUNK)
                        dst.flush()
                        os.fsync(dst.fileno())
                    with contextlib.suppress(FileExistsError):
                        os.link(tmp, target)
                finally:
                    os.unlink(tmp)
            written = file_digest(target)
        except OSError as e:
            raise ArchiveError(f"cannot write {self.url}/{key}: {e.strerror or e}") from e
        if written != (digest, size):
            raise differs(key, self.url)
        return StoredObject(key, digest, size)

    def chunks(self, key: str) -> Iterator[bytes] | None:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ArchiveError(f"cannot read {self.url}/{key}: {e.strerror or e}") from e

        def read() -> Iterator[bytes]:
            with f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return read()

    def flush(self) -> None:
        """Make every object written so far durable (one sync for a whole batch)."""
        if self._unsynced:
            os.sync()
            self._unsynced = 0

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ArchiveError(f"cannot read {self.url}/{key}: {e.strerror or e}") from e

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        if not start.is_dir():
            return []
        keys = []
        for dirpath, _dirs, files in os.walk(start):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)
