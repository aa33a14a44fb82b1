"""Use cases of live capture: start a `running` execution, finish it, find and end stale ones.

Finishing appends `Finished` to the execution and, when it is the case's first success,
`CanonicalChosen` to the case, in one atomic save (retried if another writer got there first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from ..domain.case import Case
from ..domain.errors import ExecutionNotFoundError, ExecutionStateError
from ..domain.execution import Execution
from ..domain.ids import case_id, execution_id
from ..domain.record import ExecutionRecord, Status
from ..domain.rules import validated
from .ledger import Ledger
from .ports import ExecutionFilter
from .record_executions import Outcome, RecordResult

MAX_ATTEMPTS = 8
STALE_ENDINGS = (Status.UNKNOWN, Status.CANCELLED)


class Heartbeats(Protocol):
    """When each running capture last said it was alive."""

    def beat(self, execution: UUID, info: dict[str, Any]) -> None: ...

    def last(self, execution: UUID) -> datetime | None: ...

    def clear(self, execution: UUID) -> None: ...


@dataclass(frozen=True)
class Finished:
    execution_id: str
    case: str
    status: Status
    position: int
    canonical: bool


@dataclass(frozen=True)
class StaleExecution:
    id: str
    execution_id: str
    case: str
    started: str | None
    last_beat: datetime | None
    silent_seconds: float


def key_of(record: ExecutionRecord) -> UUID:
    return execution_id(case_id(record.namespace, record.case), record.execution_id)


def start_execution(
    ledger: Ledger, record: ExecutionRecord, *, catch_up: bool = True
) -> RecordResult:
    """Record a `running` execution; refuse one already recorded.

    `catch_up=False` leaves the read models to their next reader (every CLI read and the API
    catch up before they read): `provledger run` saves its start-up time that way."""
    if record.status is not Status.RUNNING:
        raise ExecutionStateError(f"a started execution must be running, not {record.status}")
    result = ledger.record([validated(record)], catch_up=catch_up)[0]
    if result.outcome is not Outcome.CREATED:
        raise ExecutionStateError(result.message)
    return result


def finish_execution(
    ledger: Ledger,
    final: ExecutionRecord,
    *,
    catch_up: bool = True,
    also: Callable[[Execution], None] | None = None,
) -> Finished:
    """Replace a running execution's record with `final`, choosing it canonical if first;
    `also` appends more events to the execution in the same save (a reuse's)."""
    if final.status is Status.RUNNING:
        raise ExecutionStateError("a finished record cannot still be running")
    final = validated(final)
    case_key, exec_key = case_id(final.namespace, final.case), key_of(final)
    for attempt in range(MAX_ATTEMPTS):
        execution = ledger.events.get(exec_key)
        case = ledger.events.get(case_key)
        if not isinstance(execution, Execution) or not isinstance(case, Case):
            raise ExecutionNotFoundError(
                f"no execution {final.execution_id!r} in case {final.case_key}"
            )
        execution.finish(final)
        if also is not None:
            also(execution)
        chosen = case.choose_first_successful(execution.id, final)
        try:
            position = ledger.events.save(*([case] if chosen else []), execution)
        except IntegrityError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            continue
        if catch_up:
            ledger.catch_up()
        return Finished(final.execution_id, final.case_key, final.status, position, chosen)
    raise IntegrityError("execution kept changing; try again")  # pragma: no cover


def _parse(when: str | None) -> datetime | None:
    if not when:
        return None
    parsed = datetime.fromisoformat(when)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def running_rows(ledger: Ledger) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = ledger.queries.list_executions(
            ExecutionFilter(status=Status.RUNNING.value), limit=1000, cursor=cursor
        )
        rows += page.items
        if not page.next_cursor:
            return rows
        cursor = page.next_cursor


def find_stale(
    ledger: Ledger, heartbeats: Heartbeats, timeout: float, now: datetime | None = None
) -> list[StaleExecution]:
    """Running executions silent for over `timeout` s (no beat at all: since they started)."""
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    now = now or datetime.now(UTC)
    stale = []
    for row in running_rows(ledger):
        last = heartbeats.last(UUID(row["id"]))
        since = last or _parse(row["started"]) or _parse(row["recorded_at"]) or now
        silent = (now - since).total_seconds()
        if silent > timeout:
            stale.append(
                StaleExecution(
                    row["id"],
                    row["execution_id"],
                    f"{row['namespace']}/{row['case_name']}",
                    row["started"],
                    last,
                    silent,
                )
            )
    return stale


def mark_stale(
    ledger: Ledger,
    heartbeats: Heartbeats,
    stale: list[StaleExecution],
    status: Status = Status.UNKNOWN,
) -> list[Finished]:
    """End each stale execution as `unknown` (or `cancelled`), saying why in its logs."""
    if status not in STALE_ENDINGS:
        raise ExecutionStateError(
            f"a stale execution can be marked unknown or cancelled, not {status}"
        )
    done = []
    for item in stale:
        execution = ledger.events.get(UUID(item.id))
        if not isinstance(execution, Execution) or execution.record.status is not Status.RUNNING:
            continue  # finished meanwhile: nothing to do
        record = execution.record
        ended = item.last_beat or record.started
        if ended is not None and record.started is not None:
            ended = max(ended, record.started)
        note = (
            f"marked {status.value} by provledger: no heartbeat for "
            f"{timedelta(seconds=round(item.silent_seconds))}"
        )
        final = msgspec.structs.replace(
            record,
            status=status,
            ended=ended,
            logs=[*record.logs, note],
            attributes={**record.attributes, "stale": {"silent_seconds": item.silent_seconds}},
        )
        done.append(finish_execution(ledger, final))
        heartbeats.clear(UUID(item.id))
    return done
