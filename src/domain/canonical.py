"""The canonical rule: the first successful execution of a case is its baseline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from .record import ExecutionRecord, Status

FIRST_SUCCESSFUL = "first-successful"
MANUAL = "manual"

_LATEST = datetime.max.replace(tzinfo=UTC)


def batch_order_key(record: ExecutionRecord) -> tuple[datetime, str]:
    """Earliest start first, then execution id: never file-system order."""
    return (record.started or _LATEST, record.execution_id)


def can_be_canonical(record: ExecutionRecord) -> bool:
    return record.status is Status.SUCCEEDED


def first_successful(records: Iterable[ExecutionRecord]) -> ExecutionRecord | None:
    candidates = [r for r in records if can_be_canonical(r)]
    return min(candidates, key=batch_order_key) if candidates else None
