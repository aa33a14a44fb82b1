"""Run configs that read from a remote (`read:`), and the working config `pull` writes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...application.sync.pull import PullResult, ReadSpec
from ...application.sync.wire import SyncError
from ..capture.config import LoadedConfig, load_config

READ_KEYS = {"case", "execution", "output", "as"}
WORKING_VERSION = 1


def read_specs(path: Path) -> tuple[LoadedConfig, list[ReadSpec], str | None]:
    """The config's `read:` entries and its `remote:` (each bad entry named)."""
    loaded = load_config(path)
    data = loaded.data if isinstance(loaded.data, dict) else {}
    raw = data.get("read")
    if not isinstance(raw, list) or not raw:
        raise SyncError(f"{path}: `read` must be a non-empty list of {{case, execution, output}}")
    specs: list[ReadSpec] = []
    for i, entry in enumerate(raw):
        where = f"{path}: read[{i}]"
        if not isinstance(entry, dict):
            raise SyncError(f"{where} must be a mapping with at least `case`")
        unknown = set(entry) - READ_KEYS
        if unknown:
            raise SyncError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        case = entry.get("case")
        if not isinstance(case, str) or not case.strip():
            raise SyncError(f"{where}: `case` must name a case (namespace/name, globs allowed)")
        execution = entry.get("execution", "canonical")
        output, name = entry.get("output"), entry.get("as")
        for key, value in (("execution", execution), ("output", output), ("as", name)):
            if value is not None and not isinstance(value, str | int):
                raise SyncError(f"{where}: `{key}` must be a string")
        specs.append(
            ReadSpec(
                case.strip(),
                str(execution),
                None if output is None else str(output),
                None if name is None else str(name),
            )
        )
    remote = data.get("remote")
    if remote is not None and not isinstance(remote, str):
        raise SyncError(f"{path}: `remote` must be a remote's name")
    return loaded, specs, remote


def working_config(
    loaded: LoadedConfig, remote: dict[str, Any], result: PullResult
) -> dict[str, Any]:
    """Every read pinned to an execution and a sha256; every default explicit."""
    data = dict(loaded.data) if isinstance(loaded.data, dict) else {}
    data.pop("read", None)
    data.pop("remote", None)
    return {
        "working_version": WORKING_VERSION,
        "config": {"path": str(loaded.path), "sha256": loaded.sha256},
        "remote": {**remote, "ledger_id": result.remote_ledger},
        "pulled_at": datetime.now(UTC).isoformat(),
        "read": [asdict(i) for i in result.inputs],
        "inputs": {i.name: i.path for i in result.inputs},
        "values": data,
    }


def write_working(config: dict[str, Any], target: Path) -> None:
    import yaml

    target.write_text(yaml.safe_dump(config, sort_keys=False))


CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json")


def script_of(path: Path) -> tuple[Path, list[str]]:
    """`provledger run CONFIG`: the config to run against (its working config when it reads from
    a remote) and the command it names (`run_metadata.script`, as in FAIR configs, or `script`)."""
    import shlex

    config = path
    data = load_config(path).data
    data = data if isinstance(data, dict) else {}
    if "read" in data:  # a config that reads from a remote runs against what `pull` pinned
        working = path.with_name(f"{path.stem}.working.yaml")
        if not working.is_file():
            raise SyncError(
                f"{path} reads from a remote but {working.name} does not exist: "
                f"run `provledger pull {path}` first"
            )
        config = working
    meta = data.get("run_metadata")
    script = (meta.get("script") if isinstance(meta, dict) else None) or data.get("script")
    if isinstance(script, str) and script.strip():
        return config, shlex.split(script)
    if isinstance(script, list) and script and all(isinstance(a, str) for a in script):
        return config, list(script)
    raise SyncError(f"{path}: no command to run: set `run_metadata.script` (or `script`)")
