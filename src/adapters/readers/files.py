"""Reading record files safely: size limit, format by extension, errors that name the file."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

RECORD_SUFFIXES = (".json", ".yaml", ".yml", ".toml")


class RecordFileError(Exception):
    """A file that cannot be read as a record; names the file and, when known, the field."""

    def __init__(self, path: Path | str, message: str, field: str | None = None) -> None:
        self.path = str(path)
        self.message = message
        self.field = field
        where = f" (field {field})" if field else ""
        super().__init__(f"{self.path}{where}: {message}")


def load_document(path: Path, max_bytes: int) -> Any:
    """Parse JSON, YAML or TOML by extension, refusing files over `max_bytes`."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise RecordFileError(path, f"cannot read: {e.strerror or e}") from e
    if size > max_bytes:
        raise RecordFileError(
            path,
            f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB record limit "
            "(PROVLEDGER_MAX_RECORD_BYTES)",
        )
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise RecordFileError(path, f"cannot read: {e.strerror or e}") from e
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except UnicodeDecodeError as e:
        raise RecordFileError(path, f"not UTF-8 text: {e.reason} at byte {e.start}") from e
    except json.JSONDecodeError as e:
        raise RecordFileError(
            path, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise RecordFileError(path, f"malformed TOML: {e}") from e
    except yaml.YAMLError as e:
        raise RecordFileError(path, f"malformed YAML: {e}") from e


def find_record_files(root: Path) -> Iterator[Path]:
    """Candidate files under `root` in a stable order; links to directories are not followed."""
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(RECORD_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath) / name
