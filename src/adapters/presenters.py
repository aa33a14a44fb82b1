"""Plain-data views of events and read-model rows, shared by the CLI's `--json` and the API."""

from __future__ import annotations

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
