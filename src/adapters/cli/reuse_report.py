"""What `provledger reuse explain` and `run --reuse … --dry-run` print (no typer/rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...application.reuse import Explanation


def _name(record: Any) -> str:
    return f"{record.namespace}/{record.case}/{record.execution_id}"


def explanation_json(found: Explanation) -> dict[str, Any]:
    return {
        "reuse_key": found.key,
        "not_reusable": found.not_reusable,
        "nearest": [
            {
                "execution": _name(item.record),
                "started": item.record.started.isoformat() if item.record.started else None,
                "same_key": item.same_key,
                "reusable": item.same_key and item.unavailable is None,
                "unavailable": item.unavailable,
                "differences": [
                    {"part": d.part, "what": d.what, "this": d.this, "other": d.other}
                    for d in item.differences
                ],
            }
            for item in found.nearest
        ],
    }


def explanation_lines(found: Explanation, subject: str) -> list[str]:
    """One line for the key, then per candidate: reusable, or each differing part."""
    if found.key is None:
        return [f"{subject} cannot be reused: {found.not_reusable}"]
    lines = [f"reuse key of {subject}: {found.key}"]
    if not found.nearest:
        lines.append("no succeeded execution to compare with (none with this key or case)")
    for item in found.nearest:
        name = _name(item.record)
        if item.same_key and item.unavailable is None:
            lines.append(f"{name}: same key, outputs kept: would be reused")
        elif item.same_key:
            lines.append(f"{name}: same key, but not reusable: {item.unavailable}")
        else:
            count = len(item.differences)
            lines.append(f"{name}: {count} difference{'s' if count != 1 else ''}")
            lines += [f"  {d.describe()}" for d in item.differences]
    return lines
