"""Archive keys: `/`-separated, relative, no `.`/`..` segments (same rules for S3 and folders)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...application.ports import StoredObject
from ...application.stored_log import ArchiveError


def checked_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ArchiveError(f"invalid archive key {key!r}: relative, `/`-separated, no . or ..")
    return key


def stored(key: str, data: bytes) -> StoredObject:
    return StoredObject(key, hashlib.sha256(data).hexdigest(), len(data))


def differs(key: str, url: str) -> ArchiveError:
    return ArchiveError(
        f"{url}/{key} already exists with different content; archived objects are immutable"
    )


CHUNK = 1 << 20


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
