"""Helpers for the archive unit tests: the memory ledger's stored rows as a RawLog fake."""

from __future__ import annotations

from provledger.adapters.archive.memory import InMemoryRawLog
from provledger.application.ledger import Ledger
from provledger.application.stored_log import StoredRow
from tests.fakes import MemoryViewStore


def raw_log_of(ledger: Ledger, views: MemoryViewStore | None = None) -> InMemoryRawLog:
    """Every stored event of a memory ledger, with its executions read-model rows."""
    recorder = ledger.events.recorder  # type: ignore[attr-defined]
    notifications = recorder.select_notifications(start=1, limit=1_000_000)
    log = InMemoryRawLog(
        [
            StoredRow(n.id, n.originator_id.hex, n.originator_version, n.topic, bytes(n.state))
            for n in notifications
        ]
    )
    if views is not None:
        log.execution_rows = list(views.rows("executions").values())
    return log
