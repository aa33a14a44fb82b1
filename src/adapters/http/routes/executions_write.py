"""`POST /api/v1/executions`: record one execution or a batch (provledger or DissModel format)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from ....application.record_executions import RecordResult
from ....domain.record import ExecutionRecord
from ...readers.files import RecordFileError
from ...readers.records import parse_record
from ..deps import Services, ServicesDep, Writer, writing
from ..errors import ApiError
from ..records import RECORD_SCHEMA_REF
from ..schemas.executions import ItemError, RecordBatchResult, RecordOutcome

router = APIRouter(prefix="/executions", tags=["executions"])

MAX_ITEMS = 10_000
RECORD_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": RECORD_SCHEMA_REF},
                    {"type": "array", "items": {"type": "object"}, "maxItems": MAX_ITEMS},
                    {
                        "type": "object",
                        "description": "A DissModel ExperimentRecord",
                        "required": ["experiment_id"],
                    },
                ]
            }
        }
    },
}


def _parse(
    items: list[Any], fmt: str
) -> tuple[list[ExecutionRecord], list[int], list[RecordOutcome]]:
    records: list[ExecutionRecord] = []
    indexes: list[int] = []
    invalid: list[RecordOutcome] = []
    for i, item in enumerate(items):
        try:
            records.append(parse_record(item, fmt, where=f"item {i}"))
            indexes.append(i)
        except (ValueError, TypeError, AttributeError) as e:
            # The readers should raise RecordFileError; a shape they did not foresee is still
            # the item's fault, never a server error.
            invalid.append(_invalid(i, item, f"item {i}: not a readable record ({e})", None))
        except RecordFileError as e:
            invalid.append(_invalid(i, item, str(e), e.field))
    return records, indexes, invalid


def _invalid(index: int, item: Any, message: str, field: str | None) -> RecordOutcome:
    ident = None
    if isinstance(item, dict):
        ident = item.get("execution_id") or item.get("experiment_id")
    return RecordOutcome(
        index=index,
        execution_id=str(ident) if ident is not None else None,
        case=None,
        outcome="invalid",
        error=ItemError(message=message, field=field),
    )


@router.post(
    "",
    summary="Record one execution or a batch; per item created, duplicate, conflict or invalid",
    openapi_extra={"requestBody": RECORD_BODY},
    status_code=201,
    responses={200: {"model": RecordBatchResult, "description": "Nothing new was created"}},
)
async def record_executions(
    request: Request,
    response: Response,
    services: ServicesDep,
    principal: Writer,
    fmt: Literal["auto", "provledger", "dissmodel"] = Query("auto", alias="format"),
) -> RecordBatchResult:
    body = await request.body()
    if not body.strip():
        raise ApiError(400, "invalid_json", "the body is empty: send a record or a list of records")
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}") from e
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ApiError(422, "validation_error", "the batch is empty")
    if len(items) > MAX_ITEMS:
        raise ApiError(
            413, "payload_too_large", f"{len(items)} records; at most {MAX_ITEMS} per request"
        )

    def write() -> RecordBatchResult:
        records, indexes, outcomes = _parse(items, fmt)
        if not records:
            raise ApiError(
                422,
                "invalid_record",
                outcomes[0].error.message
                if len(outcomes) == 1 and outcomes[0].error
                else f"all {len(outcomes)} records are invalid",
                {"items": [o.model_dump() for o in outcomes]},
            )
        with writing(services, principal, request):
            results = services.ledger.record(records)
        by_key: dict[tuple[str, str], list[RecordResult]] = {}
        for r in results:
            by_key.setdefault((r.execution_id, r.case), []).append(r)
        position = max((r.position for r in results), default=0) or _projected(services)
        for index, record in zip(indexes, records, strict=True):
            r = by_key[(record.execution_id, record.case_key)].pop(0)
            outcomes.append(
                RecordOutcome(
                    index=index,
                    execution_id=r.execution_id,
                    case=r.case,
                    outcome=r.outcome.value,
                    status=r.status.value,
                    position=r.position or None,
                    canonical=r.canonical,
                    conflicting_fields=r.conflicting_fields,
                    changed_fields=r.changed_fields,
                )
            )
        outcomes.sort(key=lambda o: o.index)
        return _summary(outcomes, position)

    result = await run_in_threadpool(write)
    services.consistency.wrote(result.position)
    if result.conflicts and result.conflicts == len(result.items):
        first = result.items[0]
        message = (
            f"execution {first.execution_id!r} was recorded before with different content in: "
            f"{', '.join(first.conflicting_fields)} (nothing changed)"
            if len(result.items) == 1
            else f"all {len(result.items)} records conflict with recorded ones (nothing changed)"
        )
        raise ApiError(
            409, "record_conflict", message, {"items": [o.model_dump() for o in result.items]}
        )
    if not result.created:  # 201 only when something new was created
        response.status_code = 200
    return result


def _projected(services: Services) -> int:
    """Nothing was appended: the position every read model has reached."""
    return min((s.position for s in services.ledger.runner.status()), default=0)


def _summary(outcomes: list[RecordOutcome], position: int) -> RecordBatchResult:
    count = {
        k: sum(o.outcome == k for o in outcomes)
        for k in ("created", "updated", "duplicate", "conflict", "invalid")
    }
    return RecordBatchResult(
        items=outcomes,
        created=count["created"],
        updated=count["updated"],
        duplicates=count["duplicate"],
        conflicts=count["conflict"],
        invalid=count["invalid"],
        position=position,
    )
