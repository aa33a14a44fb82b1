"""Pinned ("working") configs, as FAIR's `fair run` writes them: nothing left implicit.

A pinned config holds the parsed config values, the config file's sha256, every input (given
with --input or named by a config value that is an existing file) pinned by sha256 and size, the
code version, and every run option with its default written out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ...domain.record import CodeVersion, FileRef
from .config import LoadedConfig
from .errors import CaptureError
from .hashing import file_refs

PINNED_VERSION = 1
MAX_PATH_TEXT = 4096


def _strings(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, f"{prefix}[{i}]")
    elif isinstance(data, str):
        yield prefix, data


def referenced_files(data: dict[str, Any], base: Path) -> list[tuple[str, str, Path]]:
    """(key, value, path) for each config string naming an existing file (relative to base)."""
    found: list[tuple[str, str, Path]] = []
    seen: set[Path] = set()
    for key, value in _strings(data):
        if not value or "\n" in value or len(value) > MAX_PATH_TEXT or "\0" in value:
            continue
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            if not path.is_file():
                continue
            resolved = path.resolve()
        except OSError:
            continue
        if resolved not in seen:
            seen.add(resolved)
            found.append((key, value, path))
    return found


def pin(
    config: LoadedConfig | None,
    *,
    cwd: Path,
    inputs: list[FileRef],
    outputs: list[str],
    command: list[str],
    case: str,
    namespace: str,
    code: CodeVersion | None,
) -> tuple[dict[str, Any], list[FileRef]]:
    """The pinned config and the FileRefs of every input it pins (config file included)."""
    pinned_inputs = list(inputs)
    if config is not None:
        try:
            config_uri = str(config.path.relative_to(cwd))
        except ValueError:
            config_uri = str(config.path)
        pinned_inputs.insert(
            0,
            FileRef(config_uri, config.sha256, len(config.text.encode()), role="config"),
        )
        refs = referenced_files(config.data, config.path.parent)
        known = {ref.uri for ref in pinned_inputs}
        wanted = [(k, v, p) for k, v, p in refs if v not in known and p != config.path]
        hashed = file_refs([p for _, _, p in wanted], uris=[v for _, v, _ in wanted])
        pinned_inputs += [
            msgspec.structs.replace(ref, role=f"config:{key}")
            for (key, _, _), ref in zip(wanted, hashed, strict=True)
        ]
    pinned: dict[str, Any] = {
        "pinned_version": PINNED_VERSION,
        "run": {
            "case": case,
            "namespace": namespace,
            "command": list(command),
            "shell": False,
            "outputs": list(outputs),
        },
        "config": (
            {"path": pinned_inputs[0].uri, "format": config.format, "sha256": config.sha256}
            if config
            else None
        ),
        "values": config.data if config else {},
        "inputs": [
            {"path": r.uri, "sha256": r.sha256, "size": r.size, "role": r.role or "input"}
            for r in pinned_inputs
        ],
        "code": msgspec.to_builtins(code) if code else None,
    }
    return pinned, pinned_inputs


def write_pinned(pinned: dict[str, Any], out: Path) -> None:
    """YAML (keys as pinned) or JSON by the output's extension."""
    import yaml

    suffix = out.suffix.lower()
    if suffix == ".json":
        text = json.dumps(pinned, indent=2) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(pinned, sort_keys=False, allow_unicode=True)
    else:
        raise CaptureError(f"{out}: write a pinned config as .yaml, .yml or .json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise CaptureError(f"{out}: cannot write: {e.strerror or e}") from e
