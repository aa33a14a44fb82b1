"""Streamed sha256 of files and directories; many files are hashed in parallel threads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...domain.record import FileRef
from .errors import CaptureError

# hashlib releases the GIL while digesting large buffers, so threads scale over files.
PARALLEL_FROM = 8
WORKERS = min(8, (os.cpu_count() or 2) * 2)


def sha256_file(path: Path | str) -> str:
    """The sha256 of a file's bytes, streamed (constant memory)."""
    with open(path, "rb", buffering=0) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _files_under(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        found.extend(Path(dirpath) / name for name in sorted(filenames))
    return found


def hash_files(paths: list[Path]) -> dict[Path, str]:
    """sha256 of each file; threads when there are many."""
    if len(paths) < PARALLEL_FROM:
        return {p: sha256_file(p) for p in paths}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(paths, pool.map(sha256_file, paths), strict=True))


def directory_digest(entries: dict[str, str]) -> str:
    """A directory's sha256: over sorted `relative/path<NUL>sha256<LF>` lines (content + names)."""
    h = hashlib.sha256()
    for name in sorted(entries):
        h.update(f"{name}\0{entries[name]}\n".encode())
    return h.hexdigest()


def file_ref(path: Path, role: str | None = None, uri: str | None = None) -> FileRef:
    """A FileRef (uri, sha256, size) for a file or a directory (walked, links not followed)."""
    uri = uri or str(path)
    if path.is_file():
        return FileRef(uri=uri, sha256=sha256_file(path), size=path.stat().st_size, role=role)
    if path.is_dir():
        files = _files_under(path)
        digests = hash_files(files)
        entries = {f.relative_to(path).as_posix(): d for f, d in digests.items()}
        size = sum(f.stat().st_size for f in files)
        return FileRef(uri=uri, sha256=directory_digest(entries), size=size, role=role)
    raise CaptureError(f"{uri}: no such file or directory")


def file_refs(
    paths: list[Path], role: str | None = None, uris: list[str] | None = None
) -> list[FileRef]:
    """FileRefs for many paths; plain files are hashed in parallel."""
    uris = uris or [str(p) for p in paths]
    missing = [u for p, u in zip(paths, uris, strict=True) if not p.exists()]
    if missing:
        raise CaptureError(f"no such file or directory: {', '.join(missing)}")
    plain = [p for p in paths if p.is_file()]
    digests = hash_files(plain)
    refs = []
    for p, u in zip(paths, uris, strict=True):
        if p in digests:
            refs.append(FileRef(uri=u, sha256=digests[p], size=p.stat().st_size, role=role))
        else:
            refs.append(file_ref(p, role, u))
    return refs


def directory_entries(path: Path) -> dict[str, str]:
    """relative path -> sha256 for every file under a directory (to name differing files)."""
    files = _files_under(path)
    return {f.relative_to(path).as_posix(): d for f, d in hash_files(files).items()}
