"""What every provledger event carries besides its payload: who, why, and which ledger."""

from __future__ import annotations

from dataclasses import field

from eventsourcing.domain import Aggregate

from .context import current_actor, current_correlation_id, current_ledger


class LedgerEvent(Aggregate.Event):
    """Base event: actor, correlation id and origin ledger come from context."""

    TOPIC = "provledger:LedgerEvent"
    actor: str = field(default_factory=current_actor, init=False)
    correlation_id: str = field(default_factory=current_correlation_id, init=False)
    ledger: str = field(default_factory=current_ledger, init=False)
