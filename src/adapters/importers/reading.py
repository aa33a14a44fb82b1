"""Reading foreign files: size caps (also after gunzip), clear errors naming the file."""

from __future__ import annotations

import errno
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"


class ImportFileError(Exception):
    """One file cannot be read; the message names the file and what is wrong."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Content:
    """A file's bytes (decompressed), plus the sha256 and size of the bytes on disk."""

    data: bytes
    sha256: str
    size: int

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _describe(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "cannot read: symbolic link loop"
    if error.errno == errno.EISDIR:
        return "cannot read: is a directory, not a file"
    if error.errno == errno.EACCES:
        return "cannot read: permission denied"
    return f"cannot read: {error.strerror or error}"


def read_capped(path: Path | str, cap: int) -> Content:
    """Read `path`, gunzipping `.gz` (or gzip-magic) content; refuse more than `cap` bytes."""
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
    except OSError as e:
        raise ImportFileError(path, _describe(e)) from e
    return content_of(raw, cap, path)


def too_large(path: Path | str, cap: int) -> ImportFileError:
    return ImportFileError(
        path, f"file is larger than the {cap / 1e6:.1f} MB limit (PROVLEDGER_MAX_RECORD_BYTES)"
    )


def content_of(raw: bytes, cap: int, path: Path | str) -> Content:
    """The bytes of a file named `path`: refused over `cap`, gunzipped when gzip."""
    if len(raw) > cap:
        raise too_large(path, cap)
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:2] == GZIP_MAGIC or str(path).endswith(".gz"):
        return Content(gunzip(raw, cap, path), digest, len(raw))
    return Content(raw, digest, len(raw))


def gunzip(raw: bytes, cap: int, path: Path | str) -> bytes:
    """Decompress every gzip member, never producing more than `cap` bytes."""
    if raw[:2] != GZIP_MAGIC:
        raise ImportFileError(path, "corrupt gzip: not gzip data (bad magic number)")
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits=31)
        try:
            out += d.decompress(data, cap + 1 - len(out))
        except zlib.error as e:
            raise ImportFileError(path, f"corrupt gzip: {e}") from e
        if len(out) > cap:
            raise ImportFileError(path, f"decompresses to more than the {cap / 1e6:.1f} MB limit")
        if not d.eof:
            raise ImportFileError(path, "corrupt gzip: truncated (unexpected end of data)")
        data = d.unused_data
        if data and data[:2] != GZIP_MAGIC:
            break  # trailing garbage after the last member is ignored, as gzip(1) does
    return bytes(out)
