"""Walk a folder (or take files) and read each record file into a ReadItem."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ...application.ingest import ReadItem
from .files import RecordFileError, find_record_files, load_document
from .records import detect_format, parse_record

RECORD_NAMES = ("experiment_record.json",)


def looks_like_record_file(path: Path) -> bool:
    name = path.name.lower()
    return ".record." in name or name in RECORD_NAMES


def read_items(paths: Iterable[Path], max_bytes: int, fmt: str = "auto") -> Iterator[ReadItem]:
    """Files are read as given; folders are walked, and files in them that parse but are not
    records (configs, manifests) are skipped rather than reported as errors."""
    for root in paths:
        if not root.exists() and not root.is_symlink():
            yield ReadItem(str(root), error="no such file or directory")
            continue
        explicit = root.is_file()
        for path in find_record_files(root):
            yield read_one(path, max_bytes, fmt, explicit or looks_like_record_file(path))


def read_one(path: Path, max_bytes: int, fmt: str, must_be_record: bool) -> ReadItem:
    try:
        data = load_document(path, max_bytes)
        if fmt == "auto" and detect_format(data) is None and not must_be_record:
            return ReadItem(str(path), skipped=True)
        return ReadItem(
            str(path), record=parse_record(data, fmt, source_path=str(path), where=path)
        )
    except RecordFileError as e:
        return ReadItem(str(path), error=str(e))
