"""Walk a folder (or take files) and read each record file into a ReadItem.

`--format provledger|dissmodel` reads record files only (the core behaviour). `auto` and the
importer formats (e3sm, mlflow, entrenar, usher) go through layout detection
(`adapters.importers.detect`), which also reads provledger/DissModel records in `auto` mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ...application.ingest import ReadItem
from .files import RecordFileError, find_record_files, load_document
from .records import detect_format, parse_record

RECORD_NAMES = ("experiment_record.json",)
RECORD_ONLY_FORMATS = ("provledger", "dissmodel")


def looks_like_record_file(path: Path) -> bool:
    name = path.name.lower()
    return ".record." in name or name in RECORD_NAMES


def sources(args: Iterable[str]) -> list[Path | str]:
    """Command-line sources: database URLs (`postgresql://…`, an MLflow store) stay text,
    everything else is a path."""
    from ..importers.mlflow_db import is_db_url

    return [arg if is_db_url(arg) else Path(arg) for arg in args]


def read_items(
    paths: Iterable[Path | str], max_bytes: int, fmt: str = "auto"
) -> Iterator[ReadItem]:
    """Files are read as given; folders are walked, and files in them that parse but are not
    records (configs, manifests) are skipped rather than reported as errors. A database URL
    (see `sources`) is read as an MLflow store."""
    from ..importers.detect import scan, scan_url

    for root in paths:
        if isinstance(root, str):
            yield from scan_url(root, fmt)
            continue
        if not root.exists() and not root.is_symlink():
            yield ReadItem(str(root), error=f"{root}: no such file or directory")
            continue
        if fmt not in RECORD_ONLY_FORMATS:
            found = 0
            for item in scan(root, fmt, max_bytes):
                found += 1
                yield item
            if not found and fmt != "auto":
                yield ReadItem(
                    str(root), error=f"{root}: no {fmt} data found (layouts: docs/importers.md)"
                )
            continue
        explicit = root.is_file()
        for path in find_record_files(root):
            yield read_one(path, max_bytes, fmt, explicit or looks_like_record_file(path))


def count_items(paths: Iterable[Path | str], fmt: str = "auto") -> int | None:
    """How many items `read_items` will yield (for a progress bar), None when unknown."""
    from ..importers.detect import count

    roots = list(paths)
    if fmt in RECORD_ONLY_FORMATS:
        urls = sum(1 for p in roots if isinstance(p, str))
        files = [p for p in roots if isinstance(p, Path) and p.exists()]
        return urls + sum(1 for p in files for _ in find_record_files(p))
    return count(roots, fmt)


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
