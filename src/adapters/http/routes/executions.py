"""`/api/v1/executions`: browse, one execution, its record, history and diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from ....application.ports import ExecutionFilter
from ... import presenters
from ..deps import LedgerDep, Reader, ServicesDep, fresh_reads
from ..errors import ApiError
from ..records import RECORD_RESPONSE, record_response
from ..responses import json_response
from ..schemas.executions import (
    DiffPublic,
    ExecutionDetail,
    ExecutionPublic,
    ExecutionsPage,
    HistoryEvent,
    HistoryPublic,
)
from .params import Cursor, Limit, reject_unknown_params

router = APIRouter(prefix="/executions", tags=["executions"], dependencies=[Depends(fresh_reads)])

ExecutionSort = Literal[
    "started", "-started", "recorded", "-recorded", "execution_id", "-execution_id",
    "status", "-status",
]  # fmt: skip
StatusParam = Literal["succeeded", "failed", "incomplete", "running", "cancelled", "unknown"]
Text = Annotated[str | None, Query(max_length=1000)]
CaseScope = Annotated[
    str | None,
    Query(max_length=1000, description="Case (namespace/name or uuid) to resolve a shared id"),
]


def _dynamic(request: Request, prefix: str) -> dict[str, str]:
    return {
        key[len(prefix) :]: value
        for key, value in request.query_params.items()
        if key.startswith(prefix) and len(key) > len(prefix)
    }


def _tags(values: list[str]) -> dict[str, str]:
    tags = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ApiError(400, "bad_request", f"tag {item!r} is not name=value")
        tags[name] = value
    return tags


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@router.get(
    "",
    dependencies=[Depends(reject_unknown_params)],
    summary="List executions; filter by case, group, status, canonical, time, tag, param.<name>",
    response_model=ExecutionsPage,
)
def list_executions(
    request: Request,
    ledger: LedgerDep,
    _: Reader,
    case: Annotated[
        str | None, Query(max_length=1000, description="namespace/name or uuid")
    ] = None,
    group: Text = None,
    status: StatusParam | None = None,
    canonical: bool | None = None,
    started_after: Annotated[datetime | None, Query(description="started >= this")] = None,
    started_before: Annotated[datetime | None, Query(description="started < this")] = None,
    tag: Annotated[list[str], Query(description="name=value (repeatable); or tag.<name>=v")] = [],  # noqa: B006
    sort: ExecutionSort = "started",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """Also `param.<name>=value` (e.g. `param.compiler=intel`) and `tag.<name>=value`."""
    flt = ExecutionFilter(
        case=case,
        group=group,
        status=status,
        canonical=canonical,
        started_after=_iso(started_after),
        started_before=_iso(started_before),
        tag={**_tags(tag), **_dynamic(request, "tag.")},
        params=_dynamic(request, "param."),
    )
    try:
        page = ledger.queries.list_executions(
            flt, sort=sort, limit=limit, cursor=cursor, summary=True
        )
    except ValueError as e:
        raise ApiError(400, "invalid_cursor", str(e)) from e
    return json_response(
        ExecutionsPage(
            items=[ExecutionPublic.from_row(r) for r in page.items], next_cursor=page.next_cursor
        )
    )


def execution_row(ledger: Any, ref: str, case: str | None) -> dict[str, Any]:
    if case is None:
        row: dict[str, Any] = ledger.execution_row(ref)
        return row
    return dict(ledger.execution_row(ref, case_id=ledger.case_row(case)["case_id"]))


@router.get(
    "/{execution}",
    summary="One execution with is_canonical, change_count and deltas",
    response_model=ExecutionDetail,
)
async def get_execution(
    execution: str, ledger: LedgerDep, _: Reader, case: CaseScope = None
) -> Response:
    # A point lookup on an index (about 0.15 ms of work in all): answered on the event loop,
    # which costs less than the hop to the threadpool and back that a `def` route makes.
    return json_response(ExecutionDetail.from_row(execution_row(ledger, execution, case)))


@router.get(
    "/{execution}/record",
    summary="The record exactly as recorded (from the archive if the read model lacks it)",
    response_class=Response,
    responses=RECORD_RESPONSE,
)
def get_record(
    execution: str, services: ServicesDep, _: Reader, case: CaseScope = None
) -> Response:
    return record_response(services, execution, case)


@router.get("/{execution}/history", summary="The execution's events with positions and times")
def get_history(
    execution: str, ledger: LedgerDep, _: Reader, case: CaseScope = None
) -> HistoryPublic:
    row = execution_row(ledger, execution, case)
    items = [event_public(e.position, e.event) for e in ledger.events.history(UUID(row["id"]))]
    return HistoryPublic(execution_id=row["execution_id"], items=items)


@router.get("/{a}/diff/{b}", summary="Config deltas between two executions, a as the baseline")
def diff(a: str, b: str, ledger: LedgerDep, _: Reader) -> DiffPublic:
    deltas = ledger.diff(a, b)
    return DiffPublic(a=a, b=b, change_count=len(deltas), deltas=deltas)  # type: ignore[arg-type]


def event_public(position: int, event: Any) -> HistoryEvent:
    return HistoryEvent(**presenters.event_public(position, event))
