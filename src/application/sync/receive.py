"""Server side of push: append another ledger's execution events as the same events.

Each pushed execution keeps its id (uuid5 of its natural key), and each event keeps its
original time, actor, correlation id and origin ledger. Cases are this ledger's own aggregates:
the case rules (open the case, choose the first successful execution) run here, in the same
atomic save as the executions. Nothing stored is ever overwritten: an execution whose record
differs from the pushed one is a conflict, and the item is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ...domain.case import Case
from ...domain.errors import InvalidRecordError
from ...domain.execution import Execution
from ...domain.ids import case_id, execution_id
from ...domain.record import ExecutionRecord, differing_fields
from ...domain.rules import validated
from ..ledger import Ledger
from .wire import SyncError, WireEvent, to_wire

MAX_ATTEMPTS = 8
log = logging.getLogger("provledger.sync")


class Received(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True)
class IncomingExecution:
    id: UUID
    events: list[WireEvent]


@dataclass(frozen=True)
class ReceiveResult:
    id: UUID
    outcome: Received
    execution_id: str | None = None
    case: str | None = None
    position: int = 0
    conflicting_fields: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class _Checked:
    item: IncomingExecution
    case_id: UUID
    first: ExecutionRecord
    final: ExecutionRecord


def check(item: IncomingExecution) -> _Checked:
    """Replay the pushed events in memory; their ids must be the natural-key ids."""
    if not item.events or item.events[0].topic != Execution.Recorded.TOPIC:
        raise SyncError(f"execution {item.id}: the first event must be ExecutionRecorded")
    if item.events[0].state.get("originator_topic") != Execution.TOPIC:
        raise SyncError(f"execution {item.id}: ExecutionRecorded must create an Execution")
    aggregate: Any = None
    for version, wire in enumerate(item.events, start=1):
        if version > 1 and wire.topic == Execution.Recorded.TOPIC:
            raise SyncError(f"execution {item.id}: ExecutionRecorded appears twice")
        try:
            aggregate = wire.decode(item.id, version).mutate(aggregate)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            raise SyncError(f"execution {item.id}: event v{version} cannot apply: {e}") from e
    first = item.events[0].decode(item.id, 1).record
    try:
        validated(first)
        validated(aggregate.record)
    except InvalidRecordError as e:
        raise SyncError(f"execution {item.id}: {e}") from e
    case = case_id(first.namespace, first.case)
    if aggregate.case_id != case or execution_id(case, first.execution_id) != item.id:
        raise SyncError(
            f"execution {item.id}: its id is not the id of "
            f"{first.case_key}/{first.execution_id} (ids are uuid5 of case and execution id)"
        )
    return _Checked(item, case, first, aggregate.record)


def receive(ledger: Ledger, items: Sequence[IncomingExecution]) -> list[ReceiveResult]:
    """Append what is new of each pushed execution; one atomic save for the whole batch."""
    checked: list[_Checked] = []
    invalid: list[ReceiveResult] = []
    seen: set[UUID] = set()
    for item in items:
        if item.id in seen:
            error = f"execution {item.id} appears twice in the batch"
            invalid.append(ReceiveResult(item.id, Received.INVALID, error=error))
            continue
        seen.add(item.id)
        try:
            checked.append(check(item))
        except SyncError as e:
            invalid.append(ReceiveResult(item.id, Received.INVALID, error=str(e)))
    results: list[ReceiveResult] = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            results = _attempt(ledger, checked)
            break
        except IntegrityError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
    ledger.catch_up()
    for r in results:
        if r.outcome is Received.CONFLICT:
            log.warning(
                "push conflict: execution %s of %s differs in %s; nothing changed",
                r.execution_id,
                r.case,
                ", ".join(r.conflicting_fields),
            )
    return [*results, *invalid]


def _attempt(ledger: Ledger, checked: list[_Checked]) -> list[ReceiveResult]:
    store = ledger.events
    existing = store.existing([c.item.id for c in checked])
    cases = _cases(ledger, {c.case_id: c.first for c in checked})
    to_save: list[Execution] = []
    out: dict[UUID, ReceiveResult] = {}
    last_positions: dict[UUID, int] = {}
    for c in checked:
        ident = (c.first.execution_id, c.first.case_key)
        if c.item.id in existing:
            stored, fields, position = _extend(ledger, c)
            if fields:
                out[c.item.id] = ReceiveResult(
                    c.item.id, Received.CONFLICT, *ident, conflicting_fields=fields
                )
                continue
            if not stored.pending_events:
                out[c.item.id] = ReceiveResult(
                    c.item.id, Received.UNCHANGED, *ident, position=position
                )
                continue
            outcome = Received.UPDATED
        else:
            stored = _build(c)
            outcome = Received.CREATED
        case = cases[c.case_id]
        case.choose_first_successful(stored.id, stored.record)
        to_save.append(stored)
        out[c.item.id] = ReceiveResult(c.item.id, outcome, *ident)
    if to_save:
        touched = [case for case in cases.values() if case.pending_events]
        position = store.save(*touched, *to_save)
        for e in to_save:
            last_positions[e.id] = position
    return [
        ReceiveResult(r.id, r.outcome, r.execution_id, r.case, position=last_positions[r.id])
        if r.id in last_positions
        else r
        for r in out.values()
    ]


def _cases(ledger: Ledger, wanted: dict[UUID, ExecutionRecord]) -> dict[UUID, Case]:
    found = ledger.events.existing(wanted)
    cases: dict[UUID, Case] = {}
    for key, record in wanted.items():
        case = ledger.events.get(key) if key in found else None
        if not isinstance(case, Case):
            case = Case.open(record.namespace, record.case, record.group)
        cases[key] = case
    return cases


def _build(c: _Checked) -> Execution:
    aggregate: Any = None
    events = []
    for version, wire in enumerate(c.item.events, start=1):
        event = wire.decode(c.item.id, version)
        aggregate = event.mutate(aggregate)
        events.append(event)
    assert isinstance(aggregate, Execution)
    aggregate.pending_events.extend(events)
    return aggregate


def _extend(ledger: Ledger, c: _Checked) -> tuple[Execution, list[str], int]:
    """The stored execution with the pushed events it lacks appended (pending, not saved)."""
    history = ledger.events.history(c.item.id)
    stored = ledger.events.get(c.item.id)
    if not isinstance(stored, Execution) or not history:
        raise SyncError(f"{c.item.id} is not an execution on this ledger")
    first = history[0].event.record
    fields = differing_fields(first, c.first)
    if fields:
        return stored, fields, 0
    known = {to_wire(pe.event).key for pe in history}
    for wire in c.item.events[1:]:
        if wire.key in known:
            continue
        event = wire.decode(stored.id, stored.version + 1)
        event.mutate(stored)
        stored.pending_events.append(event)
    return stored, differing_fields(stored.record, c.final), history[-1].position
