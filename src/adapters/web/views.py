"""The web UI's routes: one view a page, each rendering one template (or its JSON twin)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from ...domain.errors import DomainError
from ...domain.query import QueryError
from ..http.deps import Services, writing
from ..http.errors import ApiError, domain_status
from ..readers.files import RecordFileError
from . import data
from .auth import (
    COOKIE,
    CSRF_FIELD,
    Viewer,
    csrf_problem,
    login_url,
    lookup,
    safe_next,
    same_site,
    viewer,
)
from .render import error_page, page, templates, wants_json

router = APIRouter(include_in_schema=False)
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
Text = Annotated[str | None, Query(max_length=4000)]
UPLOAD_CHUNK = 1024 * 1024


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _who(request: Request) -> Viewer | Response:
    who = await viewer(request, _services(request))
    if who is not None:
        return who
    if wants_json(request) or request.method != "GET":
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "a read token is needed", "details": {}}},
            status_code=401,
        )
    return RedirectResponse(login_url(request), status_code=303)


def _failure(request: Request, who: Viewer, e: Exception) -> Response:
    if isinstance(e, QueryError):
        return error_page(request, who, 400, f"query: {e}")
    if isinstance(e, ApiError):
        return error_page(request, who, e.status, e.message)
    if isinstance(e, DomainError):
        return error_page(request, who, domain_status(e)[0], str(e))
    return error_page(request, who, 400, str(e))


CAUGHT = (DomainError, QueryError, ValueError, ApiError, RecordFileError)


async def _show(
    request: Request,
    template: str,
    build: Callable[..., dict[str, Any] | None],
    *args: Any,
    api: str | None = None,
    missing: str = "not found",
    **kwargs: Any,
) -> Response:
    who = await _who(request)
    if isinstance(who, Response):
        return who
    services = _services(request)
    try:
        found = await run_in_threadpool(build, services.ledger, *args, **kwargs)
    except CAUGHT as e:
        return _failure(request, who, e)
    if found is None:
        return error_page(request, who, 404, missing)
    return page(request, template, who, found, api=api)


# -- login ----------------------------------------------------------------------------------
@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    who = await viewer(request, _services(request))
    return templates.TemplateResponse(
        request,
        "login.html",
        {"who": who, "next": safe_next(next), "error": None, "data": {}},
    )


@router.post("/login")
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=400)] = "",
    next: Annotated[str, Form(max_length=4000)] = "/",
) -> Response:
    services = _services(request)
    problem = same_site(request)
    principal = await lookup(services, token.strip()) if token.strip() and not problem else None
    if principal is None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "who": None,
                "next": safe_next(next),
                "error": problem or "unknown or revoked token",
                "data": {},
            },
            status_code=401,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    who = await viewer(request, _services(request))
    if who is not None and who.from_cookie:
        problem = same_site(request) or (
            None if csrf_token == who.csrf else "the form's CSRF token is missing or wrong"
        )
        if problem:
            return error_page(request, who, 403, problem)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# -- pages ----------------------------------------------------------------------------------
@router.get("/")
async def cases_page(
    request: Request,
    namespace: Text = None,
    group: Text = None,
    text: Text = None,
    sort: Annotated[str, Query(max_length=40)] = "name",
    cursor: Text = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return await _show(
        request,
        "cases.html",
        data.cases,
        namespace=namespace,
        group=group,
        text=text,
        sort=sort,
        cursor=cursor,
        limit=limit,
        api="/api/v1/cases",
    )


@router.get("/cases/{namespace}/{name}")
async def case_page(
    request: Request,
    namespace: str,
    name: str,
    where: Text = None,
    order_by: Text = None,
    columns: Text = None,
    sort: Annotated[str, Query(max_length=40)] = "started",
    cursor: Text = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    return await _show(
        request,
        "case.html",
        data.case,
        f"{namespace}/{name}",
        where=where,
        order_by=order_by,
        columns=columns,
        sort=sort,
        cursor=cursor,
        limit=limit,
        api=f"/api/v1/cases/{namespace}/{name}",
    )


@router.post("/cases/{namespace}/{name}/canonical")
async def set_canonical(
    request: Request,
    namespace: str,
    name: str,
    execution_id: Annotated[str, Form(max_length=1000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    who = await _who(request)
    if isinstance(who, Response):
        return who
    problem = csrf_problem(request, who, csrf_token)
    if problem:
        return error_page(request, who, 403, problem)
    if not execution_id.strip() or not reason.strip():
        return error_page(request, who, 400, "choose an execution and give a reason")
    services = _services(request)

    def write() -> int:
        with writing(services, who.principal, request):
            return services.ledger.choose_canonical(
                f"{namespace}/{name}", execution_id.strip(), reason.strip()
            )

    try:
        position = await run_in_threadpool(write)
    except CAUGHT as e:
        return _failure(request, who, e)
    services.consistency.wrote(position)
    if wants_json(request):
        return JSONResponse({"execution_id": execution_id, "position": position})
    return RedirectResponse(f"/cases/{namespace}/{name}?chosen={position}", status_code=303)


@router.get("/executions/{execution}")
async def execution_page(request: Request, execution: str) -> Response:
    return await _show(
        request,
        "execution.html",
        data.execution,
        execution,
        api=f"/api/v1/executions/{execution}",
    )


async def _download(
    request: Request, build: Callable[..., tuple[bytes, str]], ref: str, filename: str
) -> Response:
    who = await _who(request)
    if isinstance(who, Response):
        return who
    try:
        body, media = await run_in_threadpool(build, _services(request).ledger, ref)
    except CAUGHT as e:
        return _failure(request, who, e)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _record_file(ledger: Any, ref: str) -> tuple[bytes, str]:
    _, record = data.record_of(ledger, ref)
    return data.record_json(record), "application/json"


def _prov_file(ledger: Any, ref: str) -> tuple[bytes, str]:
    from ..exporters.prov import to_prov

    uuid, record = data.record_of(ledger, ref)
    body = msgspec.json.format(msgspec.json.encode(to_prov(record, uuid)), indent=2)
    return body, "application/json"


def _crate_file(ledger: Any, ref: str) -> tuple[bytes, str]:
    from ..exporters.rocrate import build_crate

    uuid, record = data.record_of(ledger, ref)
    record_json = data.record_json(record)
    metadata = msgspec.json.format(
        msgspec.json.encode(build_crate(record, uuid, record_json)), indent=2
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ro-crate-metadata.json", metadata)
        z.writestr("record.json", record_json)
    return buffer.getvalue(), "application/zip"


def _metrics_file(ledger: Any, ref: str) -> tuple[bytes, str]:
    return msgspec.json.encode(data.metrics_full(ledger, ref)), "application/json"


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:100] or "execution"


# The execution page's downloads: file name suffix -> what builds the bytes.
DOWNLOADS: dict[str, Callable[..., tuple[bytes, str]]] = {
    "record.json": _record_file,
    "prov.json": _prov_file,
    "ro-crate.zip": _crate_file,
    "metrics.json": _metrics_file,
}


def _download_route(suffix: str, build: Callable[..., tuple[bytes, str]]) -> Callable[..., Any]:
    async def download(request: Request, execution: str) -> Response:
        return await _download(request, build, execution, f"{_safe_name(execution)}.{suffix}")

    return download


for _suffix, _build in DOWNLOADS.items():
    router.add_api_route(
        f"/executions/{{execution}}/{_suffix}", _download_route(_suffix, _build), methods=["GET"]
    )


@router.get("/compare")
async def compare_page(
    request: Request,
    ids: Annotated[list[str], Query(max_length=4000)] = [],  # noqa: B006
) -> Response:
    chosen = data.split_ids(ids)
    return await _show(request, "compare.html", data.compare, chosen, api=_diff_api(chosen))


def _diff_api(ids: list[str]) -> str | None:
    return f"/api/v1/executions/{ids[0]}/diff/{ids[1]}" if len(ids) >= 2 else None


@router.get("/files/{sha256}")
async def file_page(
    request: Request, sha256: str, depth: Annotated[int, Query(ge=1, le=10)] = 2
) -> Response:
    if not SHA256.fullmatch(sha256):
        who = await _who(request)
        if isinstance(who, Response):
            return who
        return error_page(request, who, 400, f"{sha256[:80]!r} is not a sha256 (64 hex digits)")
    digest = sha256.lower()
    return await _show(
        request,
        "file.html",
        data.file,
        digest,
        depth,
        api=f"/api/v1/files/{digest}",
        missing=f"no execution recorded a file with sha256 {digest}",
    )


@router.get("/status")
async def status_page(request: Request) -> Response:
    return await _show(request, "status.html", data.status, api="/api/v1/status")


# -- upload ---------------------------------------------------------------------------------
def _formats() -> tuple[str, ...]:
    from ..readers.records import FORMATS

    return tuple(FORMATS)


@router.get("/ingest")
async def ingest_form(request: Request) -> Response:
    who = await _who(request)
    if isinstance(who, Response):
        return who
    return page(request, "ingest.html", who, {"formats": _formats(), "summary": None})


def _upload_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return name[-200:] or "upload.json"


def _ingest_file(
    services: Services, request: Request, who: Viewer, path: Path, fmt: str, shown: str
) -> dict[str, Any]:
    from ...application.ingest import ingest
    from ..readers.walk import read_items
    from ..settings import Settings

    folder = str(path.parent)
    with writing(services, who.principal, request):
        summary = ingest(services.ledger, read_items([path], Settings().max_record_bytes, fmt))

    def clean(text: str) -> str:
        return text.replace(str(path), shown).replace(folder + "/", "").replace(folder, "")

    return {
        "file": shown,
        "format": fmt,
        "created": summary.created,
        "updated": summary.updated,
        "duplicates": summary.duplicates,
        "conflicts": summary.conflicts,
        "incomplete": summary.incomplete,
        "failed": summary.failed,
        "canonical_chosen": summary.canonical,
        "skipped": summary.skipped,
        "errors": summary.error_count,
        "position": summary.position,
        "error_details": [{"path": clean(p), "message": clean(m)} for p, m in summary.errors],
        "conflict_details": [clean(m) for m in summary.conflict_details],
        "update_details": [clean(m) for m in summary.update_details],
        "skipped_details": [
            {"path": clean(p), "reason": clean(m)} for p, m in summary.skipped_details
        ],
    }


@router.post("/ingest")
async def ingest_upload(
    request: Request,
    upload: Annotated[UploadFile | None, File()] = None,
    fmt: Annotated[str, Form(alias="format", max_length=40)] = "auto",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    who = await _who(request)
    if isinstance(who, Response):
        return who
    problem = csrf_problem(request, who, csrf_token)
    if problem:
        return error_page(request, who, 403, problem)
    formats = _formats()
    if fmt not in formats:
        return error_page(
            request, who, 400, f"unknown format {fmt!r}; choose one of {', '.join(formats)}"
        )
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        return error_page(request, who, 400, "choose a file to upload")
    services = _services(request)
    shown = _upload_name(upload.filename)
    with tempfile.TemporaryDirectory(prefix="provledger-upload-") as folder:
        target = Path(folder) / shown
        size = 0
        with target.open("wb") as out:
            while chunk := await upload.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > services.max_file_bytes:
                    return error_page(
                        request, who, 413, f"{shown} is over {services.max_file_bytes} bytes"
                    )
                out.write(chunk)
        if size == 0:
            return error_page(request, who, 400, f"{shown} is empty")
        try:
            summary = await run_in_threadpool(
                _ingest_file, services, request, who, target, fmt, shown
            )
        except CAUGHT as e:
            return _failure(request, who, e)
    services.consistency.wrote(summary["position"])
    found = bool(
        summary["created"] + summary["updated"] + summary["duplicates"] + summary["conflicts"]
    )
    status_code = 200 if found else 422
    return page(
        request,
        "ingest.html",
        who,
        {"formats": formats, "summary": summary},
        status_code=status_code,
    )
