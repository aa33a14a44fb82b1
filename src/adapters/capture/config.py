"""Loading a run's config (TOML, YAML or JSON) with its exact text and sha256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CaptureError

FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
MAX_CONFIG_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    format: str
    text: str
    sha256: str
    data: dict[str, Any]


def config_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CaptureError(
            f"{path}: unknown config format {path.suffix or '(no extension)'!r}; "
            "use .toml, .yaml, .yml or .json"
        )
    return fmt


def parse_config_text(text: str, fmt: str, where: Path | str) -> dict[str, Any]:
    import tomllib

    import yaml  # lazily, as tomllib: `provledger run` without a config never pays for them

    try:
        if fmt == "toml":
            data: Any = tomllib.loads(text)
        elif fmt == "yaml":
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CaptureError(f"{where}: malformed JSON: {e.msg} at line {e.lineno}") from e
    except tomllib.TOMLDecodeError as e:
        raise CaptureError(f"{where}: malformed TOML: {e}") from e
    except yaml.YAMLError as e:
        raise CaptureError(f"{where}: malformed YAML: {' '.join(str(e).split())}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CaptureError(f"{where}: a config must be a mapping, not a {type(data).__name__}")
    # Round-trip through JSON so dates and the like become plain, comparable values.
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


def load_config(path: Path) -> LoadedConfig:
    """Read and parse; every failure names the file (missing, too big, not UTF-8, malformed)."""
    fmt = config_format(path)
    try:
        if not path.is_file():
            raise CaptureError(f"{path}: config file not found")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise CaptureError(f"{path}: config is over {MAX_CONFIG_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except OSError as e:
        raise CaptureError(f"{path}: cannot read config: {e.strerror or e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaptureError(f"{path}: config is not UTF-8 text (byte {e.start})") from e
    data = parse_config_text(text, fmt, path)
    return LoadedConfig(path, fmt, text, hashlib.sha256(raw).hexdigest(), data)


def case_of(config: LoadedConfig) -> str:
    """The case a config's runs belong to: a working config `pull` wrote (`analysis.working.yaml`)
    or one `pin` wrote names its source config, whose stem is the case; else the file's stem."""
    data = config.data
    run = data.get("run")
    if data.get("pinned_version") and isinstance(run, dict) and isinstance(run.get("case"), str):
        return str(run["case"])
    source = data.get("config")
    if data.get("working_version") and isinstance(source, dict):
        path = source.get("path")
        if isinstance(path, str) and path:
            return Path(path).stem
    stem = config.path.stem
    return stem.removesuffix(".working") or stem
