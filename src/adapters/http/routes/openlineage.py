"""`POST /api/v1/lineage`: OpenLineage RunEvents, as Marquez takes them (docs/api.md).

Each event is validated against the spec's JSON Schema, mapped to a snapshot of its run
(importers/openlineage.py) and recorded through the update path, so a repeat is a duplicate
and events out of order still end complete. A JSON array of events is one atomic write.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from ....application.record_executions import Outcome
from ....domain.errors import InvalidRecordError
from ....domain.record import ExecutionRecord
from ....domain.rules import validated
from ...importers import openlineage
from ..deps import ServicesDep, Writer, writing
from ..errors import ApiError

router = APIRouter(tags=["openlineage"])
MAX_EVENTS = 1000

EVENT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "An OpenLineage RunEvent (or a list of them), as the spec "
                "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent defines it",
                "oneOf": [
                    {"type": "object", "required": ["eventTime", "producer", "run", "job"]},
                    {"type": "array", "items": {"type": "object"}, "maxItems": MAX_EVENTS},
                ],
            }
        }
    },
}


def _decoded(body: bytes, encoding: str) -> Any:
    if encoding.strip().lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise ApiError(400, "invalid_body", f"the gzip body cannot be read: {e}") from e
    if not body.strip():
        raise ApiError(400, "invalid_json", "the body is empty: send an OpenLineage RunEvent")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}") from e


def _record(event: Any, index: int | None) -> ExecutionRecord:
    where = "" if index is None else f"event {index}: "
    try:
        record = openlineage.record_of(event)
        return validated(record)
    except openlineage.InvalidEventError as e:
        raise ApiError(422, "invalid_event", f"{where}{e}") from e
    except InvalidRecordError as e:
        field = f" ({e.field})" if e.field else ""
        raise ApiError(
            422, "invalid_event", f"{where}the run cannot be recorded{field}: {e.message}"
        ) from e


@router.post(
    "/lineage",
    summary="Record an OpenLineage RunEvent (job -> case, run -> execution)",
    openapi_extra={"requestBody": EVENT_BODY},
    status_code=201,
    responses={200: {"description": "Nothing new: the event repeated what was recorded"}},
)
async def post_lineage(
    request: Request, response: Response, services: ServicesDep, principal: Writer
) -> dict[str, Any]:
    data = _decoded(await request.body(), request.headers.get("content-encoding", ""))
    events = data if isinstance(data, list) else [data]
    if not events:
        raise ApiError(422, "invalid_event", "the list of events is empty")
    if len(events) > MAX_EVENTS:
        raise ApiError(
            413, "payload_too_large", f"{len(events)} events; at most {MAX_EVENTS} a request"
        )
    indexed = isinstance(data, list)
    records = [_record(e, i if indexed else None) for i, e in enumerate(events)]

    def write() -> dict[str, Any]:
        with writing(services, principal, request):
            # The read models catch up behind (the follower, or the next read that asks for
            # this position with min_position): a producer never waits for them.
            results = services.ledger.record(records, catch_up=False)
        return {
            "items": [
                {
                    "execution_id": r.execution_id,
                    "case": r.case,
                    "outcome": r.outcome.value,
                    "status": r.status.value,
                    "conflicting_fields": r.conflicting_fields,
                    "changed_fields": r.changed_fields,
                }
                for r in results
            ],
            "position": max((r.position for r in results), default=0),
        }

    result = await run_in_threadpool(write)
    outcomes = [item["outcome"] for item in result["items"]]
    if outcomes and all(o == Outcome.CONFLICT for o in outcomes):
        first = result["items"][0]
        raise ApiError(
            409,
            "record_conflict",
            f"run {first['execution_id']!r} of {first['case']} was recorded with different "
            f"content in: {', '.join(first['conflicting_fields'])} (nothing changed)",
            result,
        )
    if not any(o in (Outcome.CREATED, Outcome.UPDATED) for o in outcomes):
        response.status_code = 200
    return result
