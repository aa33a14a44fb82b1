"""`/experiments/{id}/…` and `/job/{id}`: reproduce, publish, and DissModel's read aliases.

Mounted twice: at the root (the paths DissModel clients call) and under `/api/v1`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from ....application.publish import publish
from ....application.reproduce_request import request_reproduction
from ....domain.record import ExecutionRecord, Status
from ...exporters import publication_exports
from ..deps import LedgerDep, Reader, ServicesDep, Writer, fresh_reads, writing
from ..records import RECORD_RESPONSE, record_response
from ..responses import json_response
from ..schemas.experiments import (
    FileRefPublic,
    JobResponse,
    PublishResponse,
    ReproducePlan,
    ReproduceRequest,
)
from .executions import CaseScope, execution_row

router = APIRouter(tags=["experiments"])

# provledger status -> DissModel status.
DISSMODEL_STATUS = {
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.INCOMPLETE: "failed",
    Status.CANCELLED: "cancelled",
    Status.RUNNING: "running",
    Status.UNKNOWN: "pending",
}


def job_response(record: ExecutionRecord) -> JobResponse:
    output = record.primary_output
    inputs = [ref for ref in record.inputs if ref.sha256]
    path = output.uri if output and not output.uri.startswith("artifact:") else None
    return JobResponse(
        job_id=record.execution_id,
        experiment_id=record.execution_id,
        status=DISSMODEL_STATUS[record.status],
        model_name=str(record.attributes.get("model_name") or record.group or record.case),
        created_at=record.started.isoformat() if record.started else None,
        output_path=path,
        output_sha256=output.sha256 if output else None,
        input_sha256=inputs[0].sha256 if inputs else None,
        logs=list(record.logs),
    )


@router.get(
    "/job/{experiment_id}",
    dependencies=[Depends(fresh_reads)],
    summary="DissModel alias: the execution as a JobResponse",
    response_model=JobResponse,
)
def get_job(experiment_id: str, ledger: LedgerDep, _: Reader) -> Response:
    return json_response(job_response(ledger.record_of(experiment_id)))


@router.get(
    "/experiments/{experiment_id}/record",
    dependencies=[Depends(fresh_reads)],
    summary="DissModel alias of /api/v1/executions/{id}/record",
    response_class=Response,
    responses=RECORD_RESPONSE,
)
def get_experiment_record(experiment_id: str, services: ServicesDep, _: Reader) -> Response:
    return record_response(services, experiment_id)


@router.post(
    "/experiments/{experiment_id}/reproduce",
    summary="The pinned spec and inputs needed to re-run; records ReproductionRequested",
)
async def reproduce(
    experiment_id: str,
    request: Request,
    services: ServicesDep,
    principal: Writer,
    body: Annotated[ReproduceRequest | None, Body()] = None,
) -> ReproducePlan:
    note = body.note if body else None

    def write() -> ReproducePlan:
        with writing(services, principal, request):
            plan = request_reproduction(services.ledger, experiment_id, note)
        return ReproducePlan(
            execution_id=plan.execution_id,
            case=plan.case,
            spec=plan.spec,
            params=plan.params,
            inputs=[FileRefPublic(**ref) for ref in plan.inputs],
            code=plan.code,
            environment=plan.environment,
            command=plan.command,
            record_template=plan.record_template,
            position=plan.position,
        )

    plan = await run_in_threadpool(write)
    services.consistency.wrote(plan.position)
    return plan


@router.post(
    "/experiments/{experiment_id}/publish",
    summary="Publish a succeeded execution: the record with checksums; records Published",
)
async def publish_experiment(
    experiment_id: str,
    request: Request,
    services: ServicesDep,
    principal: Writer,
    case: CaseScope = None,
) -> PublishResponse:
    def write() -> PublishResponse:
        with writing(services, principal, request):
            ref = (
                experiment_id
                if case is None
                else execution_row(services.ledger, experiment_id, case)["id"]
            )
            done = publish(services.ledger, ref, services.archive, publication_exports())
        return PublishResponse(
            execution_id=done.execution_id,
            location=done.location,
            sha256=done.sha256,
            size=done.size,
            position=done.position,
            already_published=done.already_published,
            document=done.document,
        )

    result = await run_in_threadpool(write)
    services.consistency.wrote(result.position)
    return result
