"""usher pipeline provenance sidecars (`<name>.provenance[.provenance].json`) -> ExecutionRecord.

pipeline_version -> code version; data source versions and config hash -> spec; processing
steps with their timestamps -> steps. Sidecars carry no run id or status: the execution id is
`<name>@<created_at>` and the status is `succeeded` (a sidecar is written after its output).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from ...domain.record import (
    CodeVersion,
    ExecutionRecord,
    ProcessingStep,
    Source,
    Spec,
    Status,
)
from .reading import ImportFileError, read_capped
from .validate import checked

IMPORTER = "usher"
NAMESPACE = "usher"
_SIDECAR = re.compile(r"^(?P<stem>.+?)\.provenance(\.[^/]*)?\.json$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sidecar(name: str) -> bool:
    return _SIDECAR.match(name) is not None


def read_sidecar(path: Path, cap: int, shown: str | None = None) -> ExecutionRecord:
    where = shown or str(path)
    raw = read_capped(path, cap).data
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise ImportFileError(where, f"malformed JSON: {e}") from e
    if not isinstance(data, Mapping) or "processing_steps" not in data:
        raise ImportFileError(where, "not an usher provenance sidecar: no processing_steps")
    m = _SIDECAR.match(path.name)
    stem = m["stem"] if m else path.stem
    return checked(from_sidecar(data, stem, where), where)


def _time(value: Any, where: str, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as e:
        raise ImportFileError(where, f"{field} is not an ISO 8601 date-time: {value!r}") from e


def from_sidecar(data: Mapping[str, Any], stem: str, where: str) -> ExecutionRecord:
    raw_steps = data.get("processing_steps") or []
    if not isinstance(raw_steps, list):
        raise ImportFileError(where, "processing_steps must be a list")
    steps = []
    for i, s in enumerate(raw_steps):
        if not isinstance(s, Mapping):
            raise ImportFileError(where, f"processing_steps[{i}] must be an object")
        details = s.get("details") if isinstance(s.get("details"), Mapping) else {}
        steps.append(
            ProcessingStep(
                name=str(s.get("step_name") or s.get("name") or f"step-{i + 1}"),
                at=_time(s.get("timestamp"), where, f"processing_steps[{i}].timestamp"),
                details=msgspec.to_builtins(details),
            )
        )
    created = _time(data.get("created_at"), where, "created_at")
    versions = data.get("data_source_versions") or {}
    config_hash = str(data.get("config_hash") or "") or None
    version = str(data.get("pipeline_version") or "") or None
    resolved = {"data_source_versions": msgspec.to_builtins(versions), "config_hash": config_hash}
    ended = max((s.at for s in steps if s.at), default=None)
    return ExecutionRecord(
        execution_id=f"{stem}@{data.get('created_at')}" if created else stem,
        case=stem,
        namespace=NAMESPACE,
        group=f"{version}+{(config_hash or '')[:12]}" if version or config_hash else None,
        status=Status.SUCCEEDED,
        started=created,
        ended=ended if ended and created and ended >= created else None,
        spec=Spec(
            format="usher-config",
            resolved={k: v for k, v in resolved.items() if v not in (None, {})},
            sha256=config_hash if config_hash and _SHA256.match(config_hash) else None,
        ),
        code=CodeVersion(repository="usher_pipeline", version=version) if version else None,
        steps=steps,
        source=Source(importer=IMPORTER, path=where),
    )
