"""Reading record files safely: size limit, format by extension, errors that name the file.

Hostile content is refused with a `RecordFileError`, never an exception escaping: documents
nested more than `MAX_DEPTH` levels deep (the parsers and everything after them recurse), YAML
aliases that expand to far more values than the file holds, integers too long to convert, and
strings that are not Unicode text (lone surrogates from JSON `\\ud800` escapes).
"""

from __future__ import annotations

import errno
import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

RECORD_SUFFIXES = (".json", ".yaml", ".yml", ".toml")
MAX_DEPTH = 100  # objects/lists inside each other in one document; far past any real record
EXPANSION = 10  # values per byte of input past which YAML aliases are refused


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
        if e.errno == errno.ELOOP:
            raise RecordFileError(path, "cannot read: symbolic link loop") from e
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
    data = parse_document(raw, path)
    check_document(data, path, EXPANSION * len(raw) + 10_000, b"\\u" in raw or b"\\U" in raw)
    return data


def parse_document(raw: bytes, path: Path) -> Any:
    """JSON, YAML or TOML by `path`'s extension; every failure a RecordFileError."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except RecursionError as e:
        raise RecordFileError(path, too_deep()) from e
    except UnicodeDecodeError as e:
        raise RecordFileError(path, f"not UTF-8 text: {e.reason} at byte {e.start}") from e
    except json.JSONDecodeError as e:
        raise RecordFileError(
            path, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise RecordFileError(path, f"malformed TOML: {e}") from e
    except yaml.YAMLError as e:
        raise RecordFileError(path, f"malformed YAML: {_one_line(str(e))}") from e
    except ValueError as e:  # e.g. an integer longer than Python converts (4300 digits)
        raise RecordFileError(path, f"unreadable value: {_one_line(str(e))}") from e


def _one_line(text: str) -> str:
    return " ".join(text.split())


def too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep (objects or lists inside each other)"


def check_document(
    data: Any, where: Path | str, budget: int | None = None, text: bool = True
) -> None:
    """Refuse `data` nested deeper than MAX_DEPTH, holding more than `budget` values (YAML
    aliases expand), or (`text`) holding strings that are not Unicode text. Iterative."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if budget is not None and seen > budget:
            raise RecordFileError(
                where, "expands to far more values than the file holds (YAML aliases?)"
            )
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise RecordFileError(where, too_deep())
            for key, item in value.items():
                if text and isinstance(key, str):
                    _check_text(key, where)
                stack.append((item, depth + 1))
        elif isinstance(value, list | tuple):
            if depth >= MAX_DEPTH:
                raise RecordFileError(where, too_deep())
            stack.extend((item, depth + 1) for item in value)
        elif text and isinstance(value, str):
            _check_text(value, where)


def _check_text(value: str, where: Path | str) -> None:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise RecordFileError(
                where, f"not Unicode text: {e.reason} (U+{ord(value[e.start]):04X})"
            ) from e


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
