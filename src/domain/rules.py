"""Named rules a record must satisfy. Each raises InvalidRecordError naming the field."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime

import msgspec

from .errors import InvalidRecordError
from .record import ExecutionRecord, FileRef, MetricPoint, ProcessingStep

MAX_ID_LENGTH = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def check_identifier(value: str, field: str) -> None:
    """Ids become path segments and URLs: non-empty, bounded, no separators or control chars."""
    if not value or not value.strip():
        raise InvalidRecordError("must not be empty", field=field)
    if value != value.strip():
        raise InvalidRecordError("must not start or end with white space", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRecordError(f"is longer than {MAX_ID_LENGTH} characters", field=field)
    if "/" in value or "\\" in value:
        raise InvalidRecordError(f"must not contain path separators: {value!r}", field=field)
    if value in (".", ".."):
        raise InvalidRecordError(f"must not be {value!r}", field=field)
    if _has_control_chars(value):
        raise InvalidRecordError(f"must not contain control characters: {value!r}", field=field)


def check_sha256(value: str | None, field: str) -> None:
    if value is not None and not _SHA256.match(value):
        raise InvalidRecordError(f"is not a lowercase hex sha256: {value!r}", field=field)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_files(refs: list[FileRef], field: str) -> None:
    for i, ref in enumerate(refs):
        if not ref.uri:
            raise InvalidRecordError("uri must not be empty", field=f"{field}[{i}].uri")
        check_sha256(ref.sha256, f"{field}[{i}].sha256")
        if ref.size is not None and ref.size < 0:
            raise InvalidRecordError("must not be negative", field=f"{field}[{i}].size")


def _check_metrics(metrics: dict[str, list[MetricPoint]]) -> dict[str, list[MetricPoint]]:
    out: dict[str, list[MetricPoint]] = {}
    for name, points in metrics.items():
        if not name:
            raise InvalidRecordError("metric names must not be empty", field="metrics")
        fixed = []
        for i, p in enumerate(points):
            if not math.isfinite(p.value):
                raise InvalidRecordError("must be a finite number", field=f"metrics.{name}[{i}]")
            fixed.append(msgspec.structs.replace(p, timestamp=_utc(p.timestamp)))
        out[name] = fixed
    return out


def validated(record: ExecutionRecord) -> ExecutionRecord:
    """Check every rule and return the record normalised (naive times read as UTC)."""
    check_identifier(record.execution_id, "execution_id")
    check_identifier(record.case, "case")
    check_identifier(record.namespace, "namespace")
    if record.group is not None and _has_control_chars(record.group):
        raise InvalidRecordError("must not contain control characters", field="group")
    started, ended = _utc(record.started), _utc(record.ended)
    if started and ended and ended < started:
        raise InvalidRecordError(
            f"ends ({ended.isoformat()}) before it starts ({started.isoformat()})", field="ended"
        )
    for field in ("inputs", "outputs", "artifacts"):
        _check_files(getattr(record, field), field)
    if record.spec is not None:
        check_sha256(record.spec.sha256, "spec.sha256")
    if record.reproduces is not None:
        check_identifier(record.reproduces, "reproduces")
    if record.parent is not None:
        check_identifier(record.parent, "parent")
        if record.parent == record.execution_id:
            raise InvalidRecordError("must not be the execution itself", field="parent")
    steps = [
        msgspec.structs.replace(s, at=_utc(s.at)) if s.at and s.at.tzinfo is None else s
        for s in record.steps
    ]
    _check_step_names(steps)
    return msgspec.structs.replace(
        record, started=started, ended=ended, metrics=_check_metrics(record.metrics), steps=steps
    )


def _check_step_names(steps: list[ProcessingStep]) -> None:
    for i, step in enumerate(steps):
        if not step.name:
            raise InvalidRecordError("must not be empty", field=f"steps[{i}].name")


def describe_decode_error(error: msgspec.ValidationError) -> tuple[str, str | None]:
    """msgspec says `Expected `str`, got `int` - at `$.status``; split message and field."""
    text = str(error)
    message, sep, where = text.rpartition(" - at `")
    if not sep:
        return text, None
    field = where.rstrip("`").removeprefix("$").lstrip(".") or None
    return message, field
