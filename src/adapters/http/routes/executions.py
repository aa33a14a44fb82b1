"""`/api/v1/executions`: browse, one execution, its record, history and diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from ....application.lineage import execution_lineage
from ....application.ports import ExecutionFilter
from ....domain.compare import compare_records
from ....domain.deltas import config_deltas
from ....domain.query import Expr, Field, QueryError, parse, parse_field
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
    LineagePublic,
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
    where: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="A query (docs/query.md), e.g. `params.dt = 0.5 and metrics.loss < 0.1`",
        ),
    ] = None,
    order_by: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="Order by any field, then asc or desc: `metrics.loss desc` (over `sort`)",
        ),
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """Also `param.<name>=value` (e.g. `param.compiler=intel`) and `tag.<name>=value`, and a
    query in `where`: typed comparisons over params, config, metrics, tags, status, times."""
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
    query, order = parse_query(where, order_by)
    try:
        page = ledger.queries.list_executions(
            flt, sort=sort, limit=limit, cursor=cursor, summary=True, query=query, order=order
        )
    except QueryError as e:
        raise ApiError(400, "invalid_query", f"where: {e}", {"position": e.position}) from e
    except ValueError as e:
        raise ApiError(400, "invalid_cursor", str(e)) from e
    return json_response(
        ExecutionsPage(
            items=[ExecutionPublic.from_row(r) for r in page.items], next_cursor=page.next_cursor
        )
    )


def parse_query(
    where: str | None, order_by: str | None
) -> tuple[Expr | None, tuple[Field, bool] | None]:
    """`where` and `order_by` read by the query language; 400 naming the position when not."""
    try:
        query = parse(where) if where is not None else None
    except QueryError as e:
        raise ApiError(400, "invalid_query", f"where: {e}", {"position": e.position}) from e
    if order_by is None:
        return query, None
    name, _, way = order_by.strip().rpartition(" ")
    if way.lower() not in ("asc", "desc"):
        name, way = order_by.strip(), "asc"
    try:
        return query, (parse_field(name.strip()), way.lower() == "desc")
    except QueryError as e:
        raise ApiError(400, "invalid_query", f"order_by: {e}", {"position": e.position}) from e


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


@router.get(
    "/{execution}/history",
    summary="The execution's events, and its case's canonical choices naming it, in log order",
)
def get_history(
    execution: str, ledger: LedgerDep, _: Reader, case: CaseScope = None
) -> HistoryPublic:
    row = execution_row(ledger, execution, case)
    history = ledger.history_of(UUID(row["id"]), UUID(row["case_id"]))
    items = [event_public(e.position, e.event) for e in history]
    return HistoryPublic(execution_id=row["execution_id"], items=items)


@router.get(
    "/{a}/diff/{b}",
    summary="B against A: config, params, metrics, files, status, times, code, environment",
)
def diff(a: str, b: str, ledger: LedgerDep, _: Reader, case: CaseScope = None) -> DiffPublic:
    """Grouped by section, changes first; `case` resolves ids shared by several cases (both
    sides)."""
    rows = [execution_row(ledger, ref, case) for ref in (a, b)]
    base, other = (ledger.record_of(row["id"]) for row in rows)
    comparison = compare_records(base, other, ledger.policies.for_record(other))
    deltas = config_deltas(base, other, ledger.policies.for_record(other))
    return DiffPublic(
        a=a,
        b=b,
        change_count=comparison.change_count,
        deltas=deltas,  # type: ignore[arg-type]
        sections=comparison.to_public()["sections"],
    )


@router.get(
    "/{execution}/lineage",
    summary="The files an execution used and made, and the executions up or down from it",
)
def get_lineage(
    execution: str,
    ledger: LedgerDep,
    _: Reader,
    case: CaseScope = None,
    direction: Literal["up", "down", "both"] = "both",
    depth: Annotated[int, Query(ge=1, le=100, description="Executions away, at most")] = 1,
) -> LineagePublic:
    row = execution_row(ledger, execution, case)
    graph = execution_lineage(ledger.queries, row["id"], direction, depth)
    return LineagePublic(execution=row["id"], direction=direction, depth=depth, **graph.to_public())


def event_public(position: int, event: Any) -> HistoryEvent:
    return HistoryEvent(**presenters.event_public(position, event))
