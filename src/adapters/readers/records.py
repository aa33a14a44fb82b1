"""provledger records and DissModel ExperimentRecords (both shapes) -> ExecutionRecord."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from ...domain.errors import InvalidRecordError
from ...domain.ids import split_case_key
from ...domain.record import (
    CodeVersion,
    ExecutionRecord,
    FileRef,
    MetricPoint,
    Source,
    Spec,
    Status,
)
from ...domain.rules import describe_decode_error, validated
from .files import RecordFileError, check_document, load_document

FORMATS = ("auto", "provledger", "dissmodel", "e3sm", "mlflow", "entrenar", "usher")

DISSMODEL_STATUS = {
    "completed": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "cancelled": Status.CANCELLED,
    "running": Status.RUNNING,
    "pending": Status.UNKNOWN,
    "queued": Status.UNKNOWN,
}


def detect_format(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    if "execution_id" in data:
        return "provledger"
    if "experiment_id" in data:
        return "dissmodel"
    return None


def read_record_file(path: Path, max_bytes: int, fmt: str = "auto") -> ExecutionRecord:
    """Parse, convert and validate one file; every failure is a RecordFileError naming it."""
    data = load_document(path, max_bytes)
    return parse_record(data, fmt, source_path=str(path), where=path)


def parse_record(
    data: Any, fmt: str = "auto", *, source_path: str | None = None, where: Path | str = "<input>"
) -> ExecutionRecord:
    check_document(data, where)  # too deep or not Unicode: refused before anything recurses
    kind = detect_format(data) if fmt == "auto" else fmt
    if kind not in ("provledger", "dissmodel"):
        if not isinstance(data, Mapping):
            raise RecordFileError(where, f"a record is an object, not {type(data).__name__}")
        raise RecordFileError(
            where,
            "not a record: no execution_id (provledger) or experiment_id (DissModel)",
            field="execution_id",
        )
    try:
        if kind == "dissmodel":
            record = from_dissmodel(data, source_path)
        else:
            record = from_provledger(data, source_path)
        return validated(record)
    except msgspec.ValidationError as e:
        message, field = describe_decode_error(e)
        raise RecordFileError(where, message, field) from e
    except InvalidRecordError as e:
        raise RecordFileError(where, e.message, e.field) from e


def from_provledger(data: Mapping[str, Any], source_path: str | None) -> ExecutionRecord:
    data = dict(data)
    case = data.get("case")
    if isinstance(case, str) and "/" in case and "namespace" not in data:
        data["namespace"], data["case"] = split_case_key(case)
    record = msgspec.convert(data, ExecutionRecord)
    if record.source is None:
        record = msgspec.structs.replace(
            record, source=Source(importer="provledger", path=source_path)
        )
    return record


def from_dissmodel(data: Mapping[str, Any], source_path: str | None) -> ExecutionRecord:
    """DisSModel ExperimentRecord: v0.1 (`output_sha256`) and >=0.4 (`artifacts.output`)."""
    d = dict(data)
    spec = d.get("resolved_spec") or {}
    if not isinstance(spec, Mapping):
        raise InvalidRecordError("must be an object", field="resolved_spec")
    model = spec.get("model") if isinstance(spec.get("model"), Mapping) else {}
    model_name = d.get("model_name") or ""
    case = (model or {}).get("name") or model_name or "dissmodel"
    source = _mapping(d, "source")
    inputs = []
    if isinstance(source, Mapping) and source.get("uri"):
        inputs.append(
            FileRef(uri=str(source["uri"]), sha256=source.get("checksum") or None, role="input")
        )
    artifacts = dict(_mapping(d, "artifacts"))
    output_sha = artifacts.pop("output", None) or d.get("output_sha256")
    outputs = []
    if d.get("output_path") or output_sha:
        outputs.append(
            FileRef(
                uri=str(d.get("output_path") or "artifact:output"), sha256=output_sha, role="output"
            )
        )
    status_text = str(d.get("status") or "").lower()
    if status_text not in DISSMODEL_STATUS:
        raise InvalidRecordError(
            f"unknown DissModel status {d.get('status')!r} "
            f"(expected one of {', '.join(DISSMODEL_STATUS)})",
            field="status",
        )
    params = dict(_mapping(d, "parameters"))
    for extra in ("input_format", "column_map", "band_map", "period"):
        if d.get(extra) not in (None, {}, ""):
            params[f"_{extra}"] = d[extra]
    spec_bytes = msgspec.json.encode(spec, order="sorted")
    return ExecutionRecord(
        execution_id=str(d.get("experiment_id") or ""),
        case=str(case),
        group=model_name or None,
        status=DISSMODEL_STATUS[status_text],
        started=_datetime(d.get("created_at")),
        spec=Spec(
            format="toml", resolved=dict(spec), sha256=hashlib.sha256(spec_bytes).hexdigest()
        ),
        params=params,
        inputs=inputs,
        outputs=outputs,
        artifacts=[
            FileRef(uri=f"artifact:{name}", sha256=sha, role=name)
            for name, sha in sorted(artifacts.items())
            if isinstance(sha, str)
        ],
        code=CodeVersion(
            commit=d.get("model_commit") or None, version=d.get("code_version") or None
        ),
        metrics=_dissmodel_metrics(d.get("metrics") or {}),
        logs=[str(line) for line in _list(d, "logs")],
        attributes={"model_name": model_name} if model_name else {},
        source=Source(importer="dissmodel", path=source_path),
    )


def _list(data: Mapping[str, Any], field: str) -> list[Any]:
    value = data.get(field) or []
    if not isinstance(value, list):
        raise InvalidRecordError(f"must be a list, not {type(value).__name__}", field=field)
    return value


def _mapping(data: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = data.get(field) or {}
    if not isinstance(value, Mapping):
        raise InvalidRecordError(f"must be an object, not {type(value).__name__}", field=field)
    return value


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError as e:
        raise InvalidRecordError(f"not an ISO 8601 date-time: {value!r}", field="created_at") from e


def _dissmodel_metrics(
    metrics: Any, prefix: str = "", step: int | None = None
) -> dict[str, list[MetricPoint]]:
    """Flat numbers become points; `{"1": {...}}` checkpoint dicts become steps."""
    out: dict[str, list[MetricPoint]] = {}
    if not isinstance(metrics, Mapping):
        raise InvalidRecordError("must be an object", field="metrics")
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            if str(key).isdecimal() and str(key).isascii() and step is None:
                nested = _dissmodel_metrics(value, prefix, int(key))
            else:
                nested = _dissmodel_metrics(value, f"{prefix}{key}.", step)
            for name, points in nested.items():
                out.setdefault(name, []).extend(points)
        elif isinstance(value, bool | int | float):
            out.setdefault(f"{prefix}{key}", []).append(MetricPoint(float(value), step))
    return out
