"""Tracking stores shaped like entrenar's (docs/../formats.md §3): one RunRecord per run.

`JsonFileBackend(dir)` writes `<dir>/<run_id>.json` (pretty JSON, entrenar's RunRecord fields);
`MemoryBackend()` keeps them in a dict. Both have save/load/list/delete and can be the SDK's
backend: `provledger.track(..., backend=JsonFileBackend("runs"))`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from ..domain.record import ExecutionRecord, MetricPoint, Status
from .errors import TrackingError

STATUS_TO_ENTRENAR = {
    Status.RUNNING: "Active",
    Status.SUCCEEDED: "Completed",
    Status.FAILED: "Failed",
    Status.CANCELLED: "Cancelled",
    Status.INCOMPLETE: "Failed",
    Status.UNKNOWN: "Failed",
}


class MetricEntry(msgspec.Struct, frozen=True):
    value: float
    step: int


class RunRecord(msgspec.Struct, frozen=True):
    """entrenar::tracking::RunRecord, field for field."""

    run_id: str
    experiment_name: str
    status: str
    run_name: str | None = None
    params: dict[str, str] = {}
    metrics: dict[str, list[MetricEntry]] = {}
    artifacts: list[str] = []
    tags: dict[str, str] = {}
    start_time_ms: int | None = None
    end_time_ms: int | None = None


def _ms(value: object) -> int | None:
    from datetime import datetime

    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _entries(points: list[MetricPoint]) -> list[MetricEntry]:
    """entrenar steps are u64: a point without a step gets its position."""
    return [MetricEntry(p.value, p.step if p.step is not None else i) for i, p in enumerate(points)]


def to_run_record(record: ExecutionRecord) -> RunRecord:
    return RunRecord(
        run_id=record.execution_id,
        run_name=record.tags.get("run_name"),
        experiment_name=record.case,
        status=STATUS_TO_ENTRENAR[record.status],
        params={k: _text(v) for k, v in record.params.items()},
        metrics={
            name: [
                MetricEntry(p.value, p.step if p.step is not None else i) for i, p in enumerate(pts)
            ]
            for name, pts in record.metrics.items()
        },
        artifacts=[a.uri for a in record.artifacts],
        tags=dict(record.tags),
        start_time_ms=_ms(record.started),
        end_time_ms=_ms(record.ended),
    )


def _check_run_id(run_id: str) -> None:
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", "..") or "\0" in run_id:
        raise TrackingError(f"run id {run_id!r} cannot be a file name")


class MemoryBackend:
    """In-memory tracking store (tests, notebooks)."""

    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}

    def save(self, run: RunRecord) -> None:
        self.runs[run.run_id] = run

    def load(self, run_id: str) -> RunRecord:
        try:
            return self.runs[run_id]
        except KeyError:
            raise TrackingError(f"no run {run_id!r}") from None

    def list(self) -> list[RunRecord]:
        return [self.runs[k] for k in sorted(self.runs)]

    def delete(self, run_id: str) -> None:
        if self.runs.pop(run_id, None) is None:
            raise TrackingError(f"no run {run_id!r}")

    # SDK backend protocol
    def start(self, record: ExecutionRecord) -> None:
        self.save(to_run_record(record))

    def checkpoint(self, record: ExecutionRecord) -> None:
        self.save(to_run_record(record))

    def finish(self, record: ExecutionRecord) -> None:
        self.save(to_run_record(record))

    def close(self) -> None:
        return None


class JsonFileBackend(MemoryBackend):
    """One `<run_id>.json` per run in a directory, as entrenar's JsonFileBackend writes."""

    def __init__(self, directory: Path | str) -> None:
        super().__init__()
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise TrackingError(f"{self.directory} exists and is not a directory")

    def _path(self, run_id: str) -> Path:
        _check_run_id(run_id)
        return self.directory / f"{run_id}.json"

    def save(self, run: RunRecord) -> None:
        path = self._path(run.run_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(run), indent=2))
        os.replace(tmp, path)

    def load(self, run_id: str) -> RunRecord:
        path = self._path(run_id)
        try:
            return msgspec.json.decode(path.read_bytes(), type=RunRecord)
        except FileNotFoundError:
            raise TrackingError(f"no run {run_id!r} in {self.directory}") from None
        except msgspec.ValidationError as e:
            raise TrackingError(f"{path}: not an entrenar RunRecord: {e}") from e
        except msgspec.DecodeError as e:
            raise TrackingError(f"{path}: malformed JSON: {e}") from e

    def list(self) -> list[RunRecord]:
        if not self.directory.is_dir():
            return []
        return [self.load(p.stem) for p in sorted(self.directory.glob("*.json"))]

    def delete(self, run_id: str) -> None:
        try:
            self._path(run_id).unlink()
        except FileNotFoundError:
            raise TrackingError(f"no run {run_id!r} in {self.directory}") from None
