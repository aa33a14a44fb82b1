"""What the sync commands show: a push summary, and each remote's view of an execution."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from ...application.ports import PositionedEvent
from ...application.sync.push import PushReport
from ...application.sync.wire import (
    SYNCED_TOPICS,
    RemoteUnavailableError,
    SyncError,
    WireEvent,
    is_synced,
    to_wire,
)
from .client import TIMEOUT, HttpRemote
from .registry import RemoteConfig


def push_summary(report: PushReport) -> dict[str, Any]:
    return {
        "remote": report.remote,
        "remote_ledger": report.remote_ledger,
        "sent": report.sent,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "files_uploaded": report.files_uploaded,
        "files_present": report.files_present,
        "files_missing_locally": report.files_missing_locally,
        "remote_keeps_files": report.remote_keeps_files,
        "conflicts": [
            {"execution_id": c.execution_id, "case": c.case, "fields": c.conflicting_fields}
            for c in report.conflicts
        ],
        "invalid": [{"id": str(c.id), "error": c.error} for c in report.invalid],
    }


def remote_state(history: list[PositionedEvent], remote: dict[str, Any]) -> str:
    """Compare the synced events here and there (by time, actor, correlation id, ledger)."""
    local_keys = {to_wire(pe.event).key for pe in history if is_synced(pe.event)}
    remote_keys = {
        WireEvent(e["topic"], e["state"]).key
        for e in remote["events"]
        if e["topic"] in SYNCED_TOPICS
    }
    if remote_keys - local_keys:
        return "newer on the remote"
    if local_keys - remote_keys:
        return "changed since push"
    return "same"


QUICK = httpx.Timeout(3.0, connect=1.0)  # `status REF`: a glance, not a sync


def remote_views(
    configs: list[RemoteConfig],
    key: UUID,
    history: list[PositionedEvent],
    timeout: httpx.Timeout = TIMEOUT,
) -> dict[str, Any]:
    """Each configured remote's view of one execution; an unreachable one says so."""
    views: dict[str, Any] = {}
    for config in configs:
        client = HttpRemote(config, timeout=timeout)
        try:
            found = client.execution(key)
            views[config.name] = (
                {"state": "absent"}
                if found is None
                else {
                    "state": remote_state(history, found),
                    "version": found["version"],
                    "position": found["position"],
                    "status": found["status"],
                }
            )
        except (RemoteUnavailableError, SyncError) as e:
            views[config.name] = {"state": "unreachable", "error": str(e)}
        finally:
            client.close()
    return views
