"""Archives where records and the event log outlive the database: S3, a folder, or memory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ...application.ports import Archive
from ...application.stored_log import ArchiveError
from .folder import FolderArchive
from .memory import InMemoryArchive
from .s3 import S3Archive
from .sqllog import SqlRawLog

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["FolderArchive", "InMemoryArchive", "S3Archive", "archive_url_of", "open_archive"]


def open_archive(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    defer_sync: bool = False,
) -> Archive:
    """`s3://bucket/prefix`, `file:///abs/path` (or a plain path) -> an Archive."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ArchiveError(f"archive URL {url!r} names no bucket: use s3://bucket/prefix")
        return S3Archive(
            parsed.netloc, parsed.path.strip("/"), endpoint_url=endpoint_url, region=region
        )
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ArchiveError(
                f"archive URL {url!r} has a host {parsed.netloc!r}: use file:///absolute/path"
            )
        return FolderArchive(Path(unquote(parsed.path)), defer_sync=defer_sync)
    if parsed.scheme == "memory":
        return InMemoryArchive(url)
    if parsed.scheme == "" and url:
        return FolderArchive(Path(url).resolve(), defer_sync=defer_sync)
    raise ArchiveError(
        f"archive URL {url!r} is not supported: use s3://bucket/prefix or file:///path"
    )


def archive_url_of(settings: Settings) -> str:
    return settings.archive_url or (settings.home.resolve() / "archive").as_uri()


def archive_for(settings: Settings, *, defer_sync: bool = False) -> Archive:
    """The configured archive (default: the folder `<home>/archive`)."""
    return open_archive(
        archive_url_of(settings),
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        defer_sync=defer_sync,
    )


def raw_log_of(ledger: object) -> SqlRawLog:
    """Byte-level access to a bootstrapped ledger's event store (SQLite or Postgres)."""
    events = ledger.events  # type: ignore[attr-defined]
    return SqlRawLog(events.recorder, events.backend)
