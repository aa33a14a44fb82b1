"""Archive keys: `/`-separated, relative, no `.`/`..` segments (same rules for S3 and folders)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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


def chunks_digest(chunks: Iterable[bytes]) -> tuple[str, int]:
    """sha256 and size of bytes that arrive in chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks."""
    with path.open("rb") as f:
        return chunks_digest(iter(lambda: f.read(CHUNK), b""))
