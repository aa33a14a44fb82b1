"""entrenar JSON run records (`<dir>/<run_id>.json`, `JsonFileBackend`) -> ExecutionRecord.

Experiment name = case; run ids (`run-1`, ...) are only unique within an experiment, which is
exactly the scope of an execution id in a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ...domain.record import ExecutionRecord, FileRef, MetricPoint, Source, Status
from .reading import ImportFileError, read_capped
from .validate import checked

IMPORTER = "entrenar"
NAMESPACE = "entrenar"
STATUS = {
    "Active": Status.RUNNING,
    "Completed": Status.SUCCEEDED,
    "Failed": Status.FAILED,
    "Cancelled": Status.CANCELLED,
}


class MetricEntry(msgspec.Struct):
    value: float
    step: int | None = None


class RunRecord(msgspec.Struct):
    run_id: str
    experiment_name: str
    status: str
    run_name: str | None = None
    params: dict[str, str] = {}
    metrics: dict[str, list[MetricEntry | tuple[float, int]]] = {}
    artifacts: list[str] = []
    tags: dict[str, str] = {}
    start_time_ms: int | None = None
    end_time_ms: int | None = None


def looks_like_run(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and "run_id" in data
        and "experiment_name" in data
        and data.get("status") in STATUS
    )


def read_run_file(path: Path, cap: int, shown: str | None = None) -> ExecutionRecord:
    where = shown or str(path)
    raw = read_capped(path, cap).data
    try:
        run = msgspec.json.decode(raw, type=RunRecord)
    except msgspec.ValidationError as e:
        raise ImportFileError(where, f"not an entrenar run record: {e}") from e
    except msgspec.DecodeError as e:
        raise ImportFileError(where, f"malformed JSON: {e}") from e
    return checked(from_run(run, where), where)


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def from_run(run: RunRecord, where: str) -> ExecutionRecord:
    if run.status not in STATUS:
        raise ImportFileError(
            where, f"unknown status {run.status!r} (expected one of {', '.join(STATUS)})"
        )
    metrics: dict[str, list[MetricPoint]] = {}
    for name, entries in run.metrics.items():
        metrics[name] = [
            MetricPoint(e.value, e.step)
            if isinstance(e, MetricEntry)
            else MetricPoint(float(e[0]), int(e[1]))
            for e in entries
        ]
    return ExecutionRecord(
        execution_id=run.run_id,
        case=run.experiment_name,
        namespace=NAMESPACE,
        status=STATUS[run.status],
        started=_ms(run.start_time_ms),
        ended=_ms(run.end_time_ms),
        params=dict(run.params),
        artifacts=[FileRef(uri=a, role="artifact") for a in run.artifacts],
        metrics=metrics,
        tags=dict(run.tags),
        attributes={"run_name": run.run_name} if run.run_name else {},
        source=Source(importer=IMPORTER, path=where),
    )
