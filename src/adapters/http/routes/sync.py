"""Sync endpoints: receive pushed executions, exchange files by sha256 (docs/sync.md)."""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from pathlib import Path as FilePath
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ....application.ports import Archive
from ....application.sync.receive import IncomingExecution, receive
from ....application.sync.wire import WireEvent, to_wire
from ....domain.execution import Execution
from ..deps import Reader, Services, ServicesDep, Writer, writing
from ..errors import ApiError
from ..schemas.sync import (
    FileStored,
    LedgerInfo,
    MissingRequest,
    MissingResponse,
    PushItem,
    PushRequest,
    PushResponse,
    RemoteExecution,
    WireEventIn,
)

router = APIRouter(prefix="/sync", tags=["sync"])
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's sha256")]


def file_key(sha256: str) -> str:
    return f"files/sha256/{sha256[:2]}/{sha256}"


def _archive(services: Services) -> Archive:
    if services.archive is None:
        raise ApiError(
            409,
            "no_archive",
            "this server keeps no files: start it with PROVLEDGER_ARCHIVE_URL set",
        )
    return services.archive


@router.get("/info", summary="This ledger's id and head position")
async def info(services: ServicesDep, _: Reader) -> LedgerInfo:
    head = await run_in_threadpool(services.ledger.events.max_position)
    return LedgerInfo(
        ledger_id=services.ledger.ledger_id, head=head, keeps_files=services.archive is not None
    )


@router.post(
    "/executions",
    summary="Append pushed executions' events; per item created, updated, unchanged, conflict",
)
async def push_executions(
    body: PushRequest, request: Request, services: ServicesDep, principal: Writer
) -> PushResponse:
    items = [
        IncomingExecution(e.id, [WireEvent(w.topic, w.state) for w in e.events])
        for e in body.executions
    ]

    def write() -> PushResponse:
        with writing(services, principal, request):
            results = receive(services.ledger, items)
        position = max((r.position for r in results), default=0)
        return PushResponse(
            ledger_id=services.ledger.ledger_id,
            position=position,
            counts=dict(Counter(r.outcome.value for r in results)),
            items=[
                PushItem(
                    id=r.id,
                    outcome=r.outcome.value,
                    execution_id=r.execution_id,
                    case=r.case,
                    position=r.position,
                    conflicting_fields=r.conflicting_fields,
                    error=r.error,
                )
                for r in results
            ],
        )

    result = await run_in_threadpool(write)
    services.consistency.wrote(result.position)
    return result


@router.get("/executions/{id}", summary="One execution's synced events, for pull and info")
async def execution_events(id: UUID, services: ServicesDep, _: Reader) -> RemoteExecution:
    def read() -> RemoteExecution:
        history = services.ledger.events.history(id)
        execution = services.ledger.events.get(id) if history else None
        if not isinstance(execution, Execution):
            raise ApiError(404, "execution_not_found", f"no execution {id}")
        wires = [to_wire(pe.event) for pe in history]
        return RemoteExecution(
            id=id,
            execution_id=execution.record.execution_id,
            case=execution.record.case_key,
            status=execution.record.status.value,
            retracted=execution.retracted,
            version=execution.version,
            position=history[-1].position,
            events=[WireEventIn(topic=w.topic, state=w.state) for w in wires],
        )

    return await run_in_threadpool(read)


@router.post("/files/missing", summary="Which of these files (by sha256) this server lacks")
async def missing_files(body: MissingRequest, services: ServicesDep, _: Writer) -> MissingResponse:
    archive = _archive(services)

    def look() -> list[str]:
        return [s for s in dict.fromkeys(body.sha256) if not archive.exists(file_key(s))]

    return MissingResponse(missing=await run_in_threadpool(look))


@router.put(
    "/files/{sha256}",
    summary="Upload a file's bytes; refused unless they hash to the sha256 in the path",
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
    },
)
async def put_file(
    sha256: Sha256Path, request: Request, services: ServicesDep, _: Writer
) -> FileStored:
    """Streamed to a temporary file while hashing (any size up to `--max-file-bytes`), then
    into the archive (multipart on S3) and read back."""
    archive = _archive(services)
    limit = services.max_file_bytes
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(prefix="provledger-upload-") as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"the file is over the limit of {limit} bytes (--max-file-bytes)",
                    {"limit_bytes": limit},
                )
            digest.update(chunk)
            spool.write(chunk)
        spool.flush()
        actual = digest.hexdigest()
        if actual != sha256:
            raise ApiError(
                422, "checksum_mismatch", f"the body's sha256 is {actual}, not {sha256}: not stored"
            )
        stored = await run_in_threadpool(archive.put_path, file_key(sha256), FilePath(spool.name))
    return FileStored(sha256=stored.sha256, size=stored.size)


@router.get(
    "/files/{sha256}",
    summary="Download a file by sha256",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_file(sha256: Sha256Path, services: ServicesDep, _: Reader) -> Response:
    archive = _archive(services)
    chunks = await run_in_threadpool(archive.chunks, file_key(sha256))
    if chunks is None:
        raise ApiError(404, "not_found", f"no file with sha256 {sha256}")
    return StreamingResponse(chunks, media_type="application/octet-stream")
