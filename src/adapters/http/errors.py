"""One error shape for every failure, `{"error": {"code", "message", "details"}}`, mapped once."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...application.ledger import AmbiguousReferenceError
from ...application.stored_log import ArchiveError, ArchiveUnavailableError
from ...domain.errors import (
    CanonicalRuleError,
    CaseNotFoundError,
    DomainError,
    ExecutionNotFoundError,
    ExecutionStateError,
    InvalidRecordError,
    RecordConflictError,
)
from ..readers.files import RecordFileError

log = logging.getLogger("provledger.http")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the API answers with as is: status, a stable code, a message, details."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


# Domain errors -> (status, code); the first matching class wins (subclasses first).
DOMAIN_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (AmbiguousReferenceError, 409, "ambiguous_reference"),
    (ExecutionNotFoundError, 404, "execution_not_found"),
    (CaseNotFoundError, 404, "case_not_found"),
    (RecordConflictError, 409, "record_conflict"),
    (ExecutionStateError, 409, "execution_state"),
    (CanonicalRuleError, 409, "canonical_rule"),
    (InvalidRecordError, 422, "invalid_record"),
    (ArchiveUnavailableError, 503, "archive_unavailable"),
    (ArchiveError, 409, "archive_conflict"),
    (DomainError, 400, "bad_request"),
)


def domain_status(exc: Exception) -> tuple[int, str]:
    for cls, status, code in DOMAIN_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return 400, "bad_request"


def _validation_details(exc: RequestValidationError) -> tuple[int, str, str, dict[str, Any]]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        problems.append({"location": ".".join(loc), "message": str(err.get("msg", ""))})
        if err.get("type") == "json_invalid":
            return 400, "invalid_json", f"the body is not valid JSON: {err.get('msg')}", {}
    first = problems[0] if problems else {"location": "request", "message": "invalid"}
    message = f"{first['location']}: {first['message']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    return 422, "validation_error", message, {"problems": problems}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type and any(
            tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors()
        ):
            return error_response(
                415,
                "unsupported_media_type",
                f"send the body as JSON with 'Content-Type: application/json' "
                f"(got {content_type or 'no content type'!r})",
            )
        status, code, message, details = _validation_details(exc)
        return error_response(status, code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        status, code = domain_status(exc)
        details: dict[str, Any] = {}
        if isinstance(exc, InvalidRecordError) and exc.field:
            details["field"] = exc.field
        if isinstance(exc, RecordConflictError):
            details["fields"] = exc.fields
        return error_response(status, code, str(exc), details)

    @app.exception_handler(RecordFileError)
    async def _record(_: Request, exc: RecordFileError) -> JSONResponse:
        details = {"field": exc.field} if exc.field else {}
        return error_response(422, "invalid_record", str(exc), details)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return error_response(409, "concurrent_change", f"the ledger changed meanwhile: {exc}")

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return error_response(
            503, "unavailable", "the ledger database is not reachable", headers={"Retry-After": "1"}
        )

    @app.exception_handler(PersistenceError)
    async def _persistence(_: Request, exc: PersistenceError) -> JSONResponse:
        log.exception("ledger database failed", exc_info=exc)
        return error_response(503, "unavailable", "the ledger database failed; try again")

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        # Input nested too deeply for a parser or a handler: the client's fault, never a 500
        # (a 500 would also make the server drop the keep-alive connection).
        log.info("request too deeply nested: %s", exc)
        return error_response(
            400, "invalid_json", "the body nests too deeply (objects or lists inside each other)"
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error; see the server log")
