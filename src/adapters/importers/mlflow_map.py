"""One MLflow run, as both readers see it (`RunData`), and its mapping to an ExecutionRecord.

The file store (`mlflow_files.py`) and the database stores (`mlflow_db.py`) each fill a
`RunData`; `to_record` is the only mapping, so the same logged run gives the same record from
either store (docs/importers.md).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from ...domain.record import (
    CodeVersion,
    Environment,
    ExecutionRecord,
    FileRef,
    MetricPoint,
    Source,
    Status,
)

IMPORTER = "mlflow"
NAMESPACE = "mlflow"
PARENT_TAG = "mlflow.parentRunId"
MAX_HASH_BYTES = 1 << 30
STATUS: dict[int | str, Status] = {
    1: Status.RUNNING,
    2: Status.UNKNOWN,
    3: Status.SUCCEEDED,
    4: Status.FAILED,
    5: Status.CANCELLED,
    "RUNNING": Status.RUNNING,
    "SCHEDULED": Status.UNKNOWN,
    "FINISHED": Status.SUCCEEDED,
    "FAILED": Status.FAILED,
    "KILLED": Status.CANCELLED,
}
# Run fields kept as attributes when set (file store `meta.yaml` keys; DB `runs` columns).
RUN_ATTRIBUTES = ("run_name", "artifact_uri", "lifecycle_stage", "source_name", "source_version")


class Point(NamedTuple):
    """One logged metric value: `text` is the value as the store wrote it (kept for NaN/inf)."""

    timestamp: int
    value: float
    step: int
    text: str


@dataclass
class RunData:
    """Everything a reader found for one run, before mapping."""

    run_id: str
    experiment_id: str
    experiment_name: str
    shown: str
    status: Status
    start_ms: int | None = None
    end_ms: int | None = None
    user_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # RUN_ATTRIBUTES found
    experiment_tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[Point]] = field(default_factory=dict)  # in logging order
    artifacts: list[FileRef] = field(default_factory=list)
    unhashed: dict[str, str] = field(default_factory=dict)
    inputs: list[FileRef] = field(default_factory=list)
    outputs: list[FileRef] = field(default_factory=list)


def status_of(value: Any) -> Status:
    return STATUS.get(value, Status.UNKNOWN)


def case_name(experiment_name: str) -> str:
    return experiment_name.strip("/").replace("/", "-") or "Default"


def parent_of(run: RunData, experiment_runs: Collection[str]) -> str | None:
    """`mlflow.parentRunId`, when that run is in the same experiment (the tag is always kept)."""
    parent = run.tags.get(PARENT_TAG)
    if parent and parent != run.run_id and parent in experiment_runs:
        return parent
    return None


def when(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def metrics_of(
    raw: dict[str, list[Point]],
) -> tuple[dict[str, list[MetricPoint]], dict[str, list[list[Any]]]]:
    """Points in logging order (each reader drops exact repeats); NaN/inf points set aside."""
    out: dict[str, list[MetricPoint]] = {}
    bad: dict[str, list[list[Any]]] = {}
    for key, points in raw.items():
        kept = []
        for point in points:
            if not math.isfinite(point.value):
                bad.setdefault(key, []).append([point.timestamp, point.text, point.step])
                continue
            kept.append(MetricPoint(point.value, point.step, when(point.timestamp)))
        if kept:
            out[key] = kept
    return out, bad


def hash_artifacts(folder: Path, prefix: str = "artifacts") -> tuple[list[FileRef], dict[str, str]]:
    """Every file under `folder` as `<prefix>/<relative path>` with sha256 and size (files over
    1 GiB are not hashed; unreadable ones are listed with the reason)."""
    refs: list[FileRef] = []
    unreadable: dict[str, str] = {}
    if not folder.is_dir():
        return refs, unreadable
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            uri = f"{prefix}/{path.relative_to(folder).as_posix()}"
            try:
                size = path.stat().st_size
                digest = None
                if size <= MAX_HASH_BYTES:
                    with path.open("rb") as f:
                        digest = hashlib.file_digest(f, "sha256").hexdigest()
            except OSError as e:
                unreadable[uri] = e.strerror or str(e)
                refs.append(FileRef(uri=uri, role="artifact"))
                continue
            refs.append(FileRef(uri=uri, sha256=digest, size=size, role="artifact"))
    return refs, unreadable


def to_record(run: RunData, experiment_runs: Collection[str]) -> ExecutionRecord:
    """The ExecutionRecord of one run; `experiment_runs`: the ids of its experiment's runs."""
    metrics, non_finite = metrics_of(run.metrics)
    attributes: dict[str, Any] = {
        "experiment_id": run.experiment_id,
        "experiment_name": run.experiment_name,
    }
    for key in RUN_ATTRIBUTES:
        if run.meta.get(key) not in (None, ""):
            attributes[key] = run.meta[key]
    if run.experiment_tags:
        attributes["experiment_tags"] = run.experiment_tags
    if non_finite:
        attributes["non_finite_metric_points"] = non_finite
    if run.unhashed:
        attributes["unhashed_artifacts"] = run.unhashed
    tags = run.tags
    code = CodeVersion(
        commit=tags.get("mlflow.source.git.commit") or None,
        repository=tags.get("mlflow.source.git.repoURL") or None,
        branch=tags.get("mlflow.source.git.branch") or None,
    )
    user = run.user_id or tags.get("mlflow.user")
    return ExecutionRecord(
        execution_id=run.run_id,
        case=case_name(run.experiment_name),
        namespace=NAMESPACE,
        status=run.status,
        started=when(run.start_ms),
        ended=when(run.end_ms),
        params=dict(run.params),
        inputs=run.inputs,
        outputs=run.outputs,
        artifacts=run.artifacts,
        code=code if code != CodeVersion() else None,
        environment=Environment(user=str(user)) if user else None,
        metrics=metrics,
        tags=tags,
        attributes=attributes,
        parent=parent_of(run, experiment_runs),
        source=Source(importer=IMPORTER, path=run.shown),
    )
