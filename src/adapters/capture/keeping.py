"""Kept outputs: output bytes stored content-addressed in the archive, fetched back verified.

`provledger run --keep-outputs` and `track(keep_artifacts=True)` put each output file (each file
of a directory output) into the archive under `files/sha256/<sha[:2]>/<sha256>`, the key layout
the sync endpoints already keep pushed files under, so one copy serves both and identical bytes
are stored once. The record lists what was kept in `attributes.kept`
(`[{uri, sha256, size}]`, uris relative to the run's folder); `provledger get` reads it back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ...domain.record import ExecutionRecord, FileRef
from .errors import CaptureError
from .hashing import directory_entries

if TYPE_CHECKING:
    from ...application.ports import Archive

KEPT = "kept"  # the record attribute that lists kept files


def file_key(sha256: str) -> str:
    """The archive key of a file's bytes (the same as the sync endpoints' `file_key`)."""
    return f"files/sha256/{sha256[:2]}/{sha256}"


def keep_files(
    archive: Archive,
    refs: list[FileRef],
    locate: Callable[[str], Path],
    manifests: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Store each file (or each file of a directory) by its sha256; what was kept.

    A file whose bytes no longer hash to the recorded sha256 (changed since it was hashed) is
    stored under its actual digest and listed with it, so `get` returns exactly what is kept."""
    kept: list[dict[str, Any]] = []
    for ref in refs:
        path = locate(ref.uri)
        if path.is_file():
            stored = archive.put_path(file_key(_digest(path)), path)
            kept.append({"uri": ref.uri, "sha256": stored.sha256, "size": stored.size})
        elif path.is_dir():
            entries = (manifests or {}).get(ref.uri) or directory_entries(path)
            for name in sorted(entries):
                member = path / name
                if not member.is_file():
                    continue
                stored = archive.put_path(file_key(_digest(member)), member)
                kept.append(
                    {
                        "uri": f"{ref.uri.rstrip('/')}/{name}",
                        "sha256": stored.sha256,
                        "size": stored.size,
                    }
                )
    return kept


def _digest(path: Path) -> str:
    with open(path, "rb", buffering=0) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def kept_files(record: ExecutionRecord) -> list[dict[str, Any]]:
    found = record.attributes.get(KEPT) or []
    return [k for k in found if isinstance(k, dict) and k.get("uri") and k.get("sha256")]


def select(record: ExecutionRecord, path: str | None) -> list[dict[str, Any]]:
    """The kept files of `record` at `path` (a file, or a folder holding kept files)."""
    kept = kept_files(record)
    if not kept:
        raise CaptureError(
            f"execution {record.execution_id!r} kept no outputs: "
            "record them with `provledger run --keep-outputs` or `track(keep_artifacts=True)`"
        )
    if path is None:
        return kept
    wanted = PurePosixPath(path.replace(os.sep, "/")).as_posix().rstrip("/")
    found = [
        k for k in kept if k["uri"] == wanted or str(k["uri"]).startswith(wanted.rstrip("/") + "/")
    ]
    if not found:
        raise CaptureError(
            f"{path}: not among the outputs execution {record.execution_id!r} kept "
            f"({', '.join(str(k['uri']) for k in kept[:5])}{', …' if len(kept) > 5 else ''})"
        )
    return found


def target_of(uri: str, out_dir: Path) -> Path:
    """Where a kept file goes under `out_dir`: its recorded relative path, or its name when the
    uri is absolute or climbs out of the folder."""
    parts = PurePosixPath(uri).parts
    if PurePosixPath(uri).is_absolute() or ".." in parts or not parts:
        return out_dir / PurePosixPath(uri).name
    return out_dir.joinpath(*parts)


@dataclass(frozen=True)
class Fetched:
    uri: str
    path: Path
    sha256: str
    size: int
    unchanged: bool  # already there with these bytes


def fetch(archive: Archive, kept: dict[str, Any], target: Path, *, force: bool) -> Fetched:
    """Stream one kept file from the archive to `target`, verified against its sha256.

    Missing from the archive, or bytes that hash otherwise: CaptureError naming the file, and
    nothing is written. An existing different file at `target` is replaced only with `force`."""
    uri, sha256 = str(kept["uri"]), str(kept["sha256"])
    if target.is_file() and _digest(target) == sha256:
        return Fetched(uri, target, sha256, target.stat().st_size, True)
    if target.exists() and not force:
        raise CaptureError(
            f"{target} exists with other content: use --force to replace it, or -o DIR"
        )
    chunks = archive.chunks(file_key(sha256))
    if chunks is None:
        raise CaptureError(f"{uri}: not in the archive {archive_url(archive)} (sha256 {sha256})")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        if digest.hexdigest() != sha256:
            raise CaptureError(
                f"{uri}: the archive's copy hashes to {digest.hexdigest()}, "
                f"not the recorded {sha256}: not written"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Fetched(uri, target, sha256, size, False)


def archive_url(archive: Archive) -> str:
    return str(getattr(archive, "url", "archive"))


def read_kept(archive: Archive, sha256: str, limit: int) -> bytes | None:
    """A kept file's bytes when it is at most `limit` bytes (for text diffs), else None."""
    chunks: Iterator[bytes] | None = archive.chunks(file_key(sha256))
    if chunks is None:
        return None
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data) if hashlib.sha256(data).hexdigest() == sha256 else None


DIFF_LIMIT = 4 * 1024 * 1024  # text diffs for files up to this size


def changes(
    archive: Archive,
    original: ExecutionRecord,
    differing: list[str],
    locate: Callable[[str], Path],
) -> list[dict[str, Any]]:
    """How each differing file changed against the original's kept copy: lines added and
    removed for text (a unified diff's counts), sizes for anything else."""
    import difflib

    kept = {str(k["uri"]): str(k["sha256"]) for k in kept_files(original)}
    found: list[dict[str, Any]] = []
    for uri in differing:
        sha = kept.get(uri)
        path = locate(uri)
        if sha is None or not path.is_file():
            continue
        before = read_kept(archive, sha, DIFF_LIMIT)
        after = path.read_bytes() if path.stat().st_size <= DIFF_LIMIT else None
        entry: dict[str, Any] = {"file": uri}
        old_text, new_text = _text(before), _text(after)
        if old_text is not None and new_text is not None:
            added = removed = 0
            for line in difflib.unified_diff(
                old_text.splitlines(), new_text.splitlines(), lineterm="", n=0
            ):
                if line.startswith(("+++", "---")):
                    continue
                if line.startswith("+"):
                    added += 1
                elif line.startswith("-"):
                    removed += 1
            entry.update(kind="text", added=added, removed=removed)
        else:
            entry.update(kind="binary", bytes_before=_size(before), bytes_after=path.stat().st_size)
        found.append(entry)
    return found


def _text(data: bytes | None) -> str | None:
    if data is None or b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _size(data: bytes | None) -> int | None:
    return None if data is None else len(data)


def describe_change(change: dict[str, Any]) -> str:
    """`out.txt: +3 -1 lines` / `out.bin: 120 -> 96 bytes`."""
    if change.get("kind") == "text":
        return f"{change['file']}: +{change['added']} -{change['removed']} lines"
    before = change.get("bytes_before")
    return f"{change['file']}: {'?' if before is None else before} -> {change['bytes_after']} bytes"
