"""Reuse: restore an identical succeeded execution's kept outputs instead of running.

Whether a candidate's outputs can be restored (`availability`), and restoring them
(`restore`): each kept file is streamed from the archive into a temporary file beside its
target, checked against its recorded sha256, then renamed over the target (atomic), so two
identical runs restoring at once, or a crash midway, never leave a partial or wrong file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ...domain.record import ExecutionRecord
from .errors import CaptureError
from .keeping import archive_url, file_key, kept_files

if TYPE_CHECKING:
    from ...application.ports import Archive

REUSE_MODES = ("never", "auto", "only")


class ReuseUnavailableError(CaptureError):
    """`--reuse only` found nothing to reuse (exit status 1, nothing recorded)."""


@dataclass(frozen=True)
class Restored:
    uri: str
    path: Path
    sha256: str
    size: int
    unchanged: bool  # already there with these bytes


def _covered(uri: str, kept: set[str]) -> bool:
    prefix = uri.rstrip("/") + "/"
    return uri in kept or any(k.startswith(prefix) for k in kept)


def availability(
    archive: Archive | None, wanted: list[str]
) -> Callable[[ExecutionRecord], str | None]:
    """Why a candidate's kept outputs cannot stand in for a run declaring `wanted` outputs
    (None when they can): it kept nothing, a wanted output is not among what it kept, or a
    kept file is not in the archive."""

    def why(record: ExecutionRecord) -> str | None:
        if archive is None:
            return "no archive to restore from (PROVLEDGER_ARCHIVE_URL)"
        kept = kept_files(record)
        if not kept:
            return "it kept no outputs (run with --keep-outputs or --reuse)"
        uris = {str(k["uri"]) for k in kept}
        for uri in wanted:
            if not _covered(uri, uris):
                return f"{uri} is not among the outputs it kept"
        for item in kept:
            if not archive.exists(file_key(str(item["sha256"]))):
                return f"{item['uri']} is not in the archive {archive_url(archive)}"
        return None

    return why


def target_path(uri: str, cwd: Path) -> Path:
    """Where a kept file is restored: its recorded path (relative to `cwd`, or absolute)."""
    path = PurePosixPath(uri)
    if path.is_absolute():
        return Path(uri)
    if ".." in path.parts:
        raise CaptureError(f"{uri}: a kept file outside the run's folder is not restored")
    return cwd.joinpath(*path.parts)


def restore(archive: Archive, record: ExecutionRecord, cwd: Path) -> list[Restored]:
    """Put every kept file of `record` back in place under `cwd`, each verified by sha256."""
    return [
        restore_one(archive, item, target_path(str(item["uri"]), cwd))
        for item in kept_files(record)
    ]


def restore_one(archive: Archive, item: dict[str, Any], target: Path) -> Restored:
    uri, sha256 = str(item["uri"]), str(item["sha256"])
    if target.is_file() and _digest(target) == sha256:
        return Restored(uri, target, sha256, target.stat().st_size, True)
    chunks = archive.chunks(file_key(sha256))
    if chunks is None:
        raise CaptureError(f"{uri}: not in the archive {archive_url(archive)} (sha256 {sha256})")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restoring", dir=target.parent)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        if digest.hexdigest() != sha256:
            raise CaptureError(
                f"{uri}: the archive's copy hashes to {digest.hexdigest()}, "
                f"not the recorded {sha256}: not restored"
            )
        os.chmod(name, 0o644)  # mkstemp's 0600 would differ from what the command writes
        os.replace(name, target)
    finally:
        if os.path.exists(name):
            os.unlink(name)
    return Restored(uri, target, sha256, size, False)


def _digest(path: Path) -> str:
    with open(path, "rb", buffering=0) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
