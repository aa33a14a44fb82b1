"""Plain-data views of events and read-model rows, shared by the CLI's `--json` and the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

# Every event's envelope; the rest of its fields are the payload.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "actor",
        "correlation_id",
        "ledger",
        "originator_topic",
    }
)


def event_public(position: int, event: Any) -> dict[str, Any]:
    """An event as `history` shows it: position, type (its stable topic), envelope, payload."""
    state = {k: v for k, v in vars(event).items() if k not in ENVELOPE}
    return {
        "position": position,
        "type": type(event).TOPIC.split(":", 1)[1],
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "timestamp": event.timestamp.isoformat(),
        "actor": getattr(event, "actor", None),
        "correlation_id": getattr(event, "correlation_id", None),
        "ledger": getattr(event, "ledger", None),
        "payload": msgspec.to_builtins(state),
    }


def case_public(row: dict[str, Any]) -> dict[str, Any]:
    """A case read-model row as `cases --json` and `replay --json` show it."""
    return {
        "id": row["case_id"],
        "namespace": row["namespace"],
        "name": row["name"],
        "group": row["grp"],
        "canonical_execution_id": row["canonical_execution_id"],
        "canonical_reason": row["canonical_reason"],
        "counts": {k[2:]: row[k] for k in row if k.startswith("n_")},
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
    }


def execution_summary(row: dict[str, Any]) -> dict[str, Any]:
    """An execution row as listed under its case (`cases --json`, `replay --json`)."""
    return {
        "execution_id": row["execution_id"],
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"],
        "missing_count": row.get("missing_count") or 0,
        "deltas": row["deltas"],
        "started": row["started"],
        "ended": row["ended"],
    }


def execution_public(row: dict[str, Any]) -> dict[str, Any]:
    """An execution row as `executions --json`, `show --json` and `replay --json` show it."""
    return {
        "id": row["id"],
        "execution_id": row["execution_id"],
        "case_id": row["case_id"],
        "case": f"{row['namespace']}/{row['case_name']}",
        "group": row["grp"],
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"],
        "missing_count": row.get("missing_count") or 0,
        "deltas": row["deltas"],
        "started": row["started"],
        "ended": row["ended"],
        "recorded_at": row["recorded_at"],
        "tags": row["tags"],
        "position": row["position"],
        "parent": row.get("parent"),
    }


def cases_public(
    cases: Sequence[dict[str, Any]], executions: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each case with its executions' summaries (ordered by start, then id), as `cases --json`."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(executions, key=lambda e: (e["started"] or "", e["execution_id"])):
        by_case.setdefault(row["case_id"], []).append(execution_summary(row))
    return [{**case_public(c), "executions": by_case.get(c["case_id"], [])} for c in cases]
