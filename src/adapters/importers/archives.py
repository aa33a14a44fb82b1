"""Safe reading of `.zip` / `.tar.gz` uploads.

Only regular files and directories are taken. A member whose path escapes the extraction
directory (absolute, `..`), a link (symbolic or hard), a device or a FIFO is refused and reported;
the other members are still read. Members are copied with a byte cap (files over the cap are cut
at cap + 1 bytes so the reader reports them as too large without filling the disk).

Members that belong to a *group* (an E3SM execution directory, decided by `group_of`) are not
written to disk: each group is handed over in memory, whole, as soon as the archive moves past it
(tar is read as a stream; a zip's central directory is grouped first).
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
NOT_GROUPED = "refused: belongs to an execution directory already read (archive not grouped)"

# name -> (group key, path inside the group) or None
GroupOf = Callable[[str], "tuple[str, str] | None"]


class ArchiveError(Exception):
    """The archive itself cannot be read (corrupt, truncated, not an archive)."""


@dataclass(frozen=True)
class Refused:
    member: str
    reason: str


@dataclass(frozen=True)
class Group:
    """A group's wanted members in memory: path inside the group -> bytes (None: over the cap)."""

    key: str
    members: dict[str, bytes | None]


@dataclass
class Extraction:
    """What was extracted to disk, and each refused member with the reason."""

    root: Path
    files: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def safe_target(dest: Path, name: str) -> Path | None:
    """Where member `name` lands under `dest`, or None when it would land outside it.

    Lexical check: absolute names, drive letters and any `..` are refused. Nothing extracted
    can redirect a path, because links are never extracted.
    """
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or any(part == ".." for part in pure.parts):
        return None
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts or ":" in parts[0]:
        return None
    return dest.joinpath(*parts)


def extract(
    archive: Path, dest: Path, cap: int, wanted: Callable[[str], bool] = lambda _: True
) -> Extraction:
    """Extract the wanted members of `archive` into `dest` (which must exist)."""
    result = Extraction(dest)
    for event in stream(archive, dest, cap, wanted, lambda _: None):
        if isinstance(event, Refused):
            result.refused.append((event.member, event.reason))
        elif isinstance(event, int):
            result.files += event
    return result


def stream(
    archive: Path, dest: Path, cap: int, wanted: Callable[[str], bool], group_of: GroupOf
) -> Iterator[Refused | Group | int]:
    """Refusals, in-memory groups, and `1` for each member extracted to `dest`."""
    opened = _open(archive)
    if isinstance(opened, zipfile.ZipFile):
        with opened:
            yield from _zip(opened, dest, cap, wanted, group_of)
        return
    with opened:
        try:
            yield from _tar(opened, dest, cap, wanted, group_of)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            yield Refused("", f"archive is corrupt or truncated: {reason}")


def _open(archive: Path) -> zipfile.ZipFile | tarfile.TarFile:
    try:
        if archive.name.lower().endswith(".zip"):
            return zipfile.ZipFile(archive)
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ArchiveError(f"cannot read archive: {reason}") from e


def _copy(source: IO[bytes], target: Path, cap: int) -> None:
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        remaining = cap + 1
        while remaining > 0:
            chunk = source.read(min(remaining, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)


def _tar_kind(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    if not (member.isreg() or member.isdir()):
        return "not a regular file or directory"
    return None


def _tar(
    tar: tarfile.TarFile, dest: Path, cap: int, wanted: Callable[[str], bool], group_of: GroupOf
) -> Iterator[Refused | Group | int]:
    current: Group | None = None
    done: set[str] = set()
    while (member := tar.next()) is not None:
        tar.members.clear()  # type: ignore[attr-defined]  # else every TarInfo is kept
        kind = _tar_kind(member)
        target = safe_target(dest, member.name)
        if kind is not None or target is None:
            yield Refused(member.name, f"refused: {kind or 'path escapes the extraction dir'}")
            continue
        if member.isdir():
            continue
        grouped = group_of(member.name)
        if grouped is not None:
            key, rel = grouped
            if current is not None and current.key != key:
                done.add(current.key)
                yield current
                current = None
            if key in done:
                yield Refused(member.name, NOT_GROUPED)
                continue
            current = current or Group(key, {})
            if wanted(member.name):
                current.members[rel] = _tar_bytes(tar, member, cap)
            continue
        if not wanted(member.name):
            continue
        source = tar.extractfile(member)
        if source is None:  # pragma: no cover - regular files always have data
            continue
        try:
            _copy(source, target, cap)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            source.close()
        yield 1
    if current is not None:
        yield current


def _tar_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo, cap: int) -> bytes | None:
    if member.size > cap:
        return None
    source = tar.extractfile(member)
    return source.read() if source is not None else b""


def _zip(
    zf: zipfile.ZipFile, dest: Path, cap: int, wanted: Callable[[str], bool], group_of: GroupOf
) -> Iterator[Refused | Group | int]:
    groups: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}
    for info in zf.infolist():
        mode = info.external_attr >> 16
        target = safe_target(dest, info.filename)
        if stat.S_ISLNK(mode):
            yield Refused(info.filename, "refused: symbolic link")
        elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            yield Refused(info.filename, "refused: not a regular file or directory")
        elif target is None:
            yield Refused(info.filename, "refused: path escapes the extraction dir")
        elif info.is_dir() or not wanted(info.filename):
            continue
        elif (grouped := group_of(info.filename)) is not None:
            groups.setdefault(grouped[0], []).append((grouped[1], info))
        else:
            try:
                with zf.open(info) as source:
                    _copy(source, target, cap)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
                target.unlink(missing_ok=True)
                yield Refused(info.filename, f"unreadable member: {e}")
                continue
            yield 1
    for key, members in groups.items():
        group = Group(key, {})
        for rel, info in members:
            try:
                group.members[rel] = None if info.file_size > cap else zf.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
                yield Refused(info.filename, f"unreadable member: {e}")
        yield group


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
