"""Record builders for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from provledger.domain.record import CodeVersion, ExecutionRecord, Spec, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_record(
    execution_id: str = "run-1",
    case: str = "ocean",
    status: Status = Status.SUCCEEDED,
    minutes: int = 0,
    **fields: Any,
) -> ExecutionRecord:
    fields.setdefault("params", {"dt": 0.5})
    fields.setdefault("spec", Spec(format="toml", resolved={"grid": {"nx": 64}}))
    fields.setdefault("code", CodeVersion(commit="abc123"))
    fields.setdefault("started", T0 + timedelta(minutes=minutes))
    return ExecutionRecord(execution_id=execution_id, case=case, status=status, **fields)
