"""`/api/v1/cases`: browse cases; choose a case's canonical execution by hand."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from ..deps import LedgerDep, Reader, ServicesDep, Writer, fresh_reads, writing
from ..errors import ApiError
from ..responses import json_response
from ..schemas.cases import (
    CanonicalChoice,
    CanonicalChosenPublic,
    CaseDetail,
    CasePublic,
    CasesPage,
    ExecutionSummary,
    case_fields,
)
from .params import Cursor, Limit, reject_unknown_params

router = APIRouter(prefix="/cases", tags=["cases"])

CaseSort = Literal["name", "-name", "last_seen", "-last_seen", "opened", "-opened"]
Text = Annotated[str | None, Query(max_length=1000)]


@router.get(
    "",
    dependencies=[Depends(fresh_reads), Depends(reject_unknown_params)],
    summary="List cases, filtered and sorted, with cursor pagination",
    response_model=CasesPage,
)
def list_cases(
    ledger: LedgerDep,
    _: Reader,
    namespace: Text = None,
    name: Text = None,
    group: Text = None,
    text: Annotated[
        str | None, Query(max_length=1000, description="Name or group contains")
    ] = None,
    sort: CaseSort = "name",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    try:
        page = ledger.queries.list_cases(
            namespace=namespace,
            name=name,
            group=group,
            text=text,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as e:
        raise ApiError(400, "invalid_cursor", str(e)) from e
    return json_response(
        CasesPage(items=[CasePublic.from_row(r) for r in page.items], next_cursor=page.next_cursor)
    )


@router.get(
    "/{case:path}",
    dependencies=[Depends(fresh_reads)],
    summary="One case by uuid, namespace/name or unambiguous name, with its executions",
)
def get_case(case: str, ledger: LedgerDep, _: Reader) -> CaseDetail:
    row = ledger.case_row(case)
    executions = ledger.queries.executions_of_case(row["case_id"])
    return CaseDetail(
        **case_fields(row), executions=[ExecutionSummary.from_row(e) for e in executions]
    )


@router.put(
    "/{case:path}/canonical",
    summary="Choose the case's canonical execution (appends CanonicalChosen; history kept)",
)
async def choose_canonical(
    case: str,
    choice: CanonicalChoice,
    request: Request,
    services: ServicesDep,
    principal: Writer,
) -> CanonicalChosenPublic:
    def write() -> int:
        with writing(services, principal, request):
            return services.ledger.choose_canonical(case, choice.execution_id, choice.reason)

    position = await run_in_threadpool(write)
    services.consistency.wrote(position)
    return CanonicalChosenPublic(
        case=case, execution_id=choice.execution_id, reason=choice.reason, position=position
    )
