"""Per-request metrics, correlation ids and access logs: one pure ASGI middleware.

Each request gets a correlation id: the caller's `X-Request-ID`, else a new one. It is put on
the request (so the events a write records carry it), on the response (`X-Request-ID`) and on
every log line written while the request is served.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...domain.context import correlation_var
from ..service.logs import LOG_FORMAT_ENV
from ..service.metrics import LATENCY, REQUESTS

if TYPE_CHECKING:
    from ..settings import Settings

access_log = logging.getLogger("provledger.access")
REQUEST_ID = b"x-request-id"
UNMATCHED = "<unmatched>"


@dataclass(frozen=True)
class ObservabilityOptions:
    """How /metrics and /readyz behave, and whether requests are logged."""

    metrics_need_token: bool = False
    ready_max_lag: int = 10_000
    archive_configured: bool = False  # /readyz checks the archive only when one is configured
    access_log: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ObservabilityOptions:
        return cls(
            metrics_need_token=settings.metrics_need_token,
            ready_max_lag=settings.ready_max_lag,
            archive_configured=settings.archive_url is not None,
            access_log=os.environ.get(LOG_FORMAT_ENV) == "json",
        )


def route_template(scope: Any) -> str:
    """The matched route's path template, with the prefix of the router it is included in
    (`/api/v1/executions/{execution}`): a bounded label, whatever the ids asked for."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return UNMATCHED
    fmt = getattr(route, "path_format", path)
    try:
        rendered = fmt.format(**{k: str(v) for k, v in (scope.get("path_params") or {}).items()})
    except (KeyError, IndexError, ValueError):
        return str(path)
    full = str(scope.get("path", ""))
    if rendered and full.endswith(rendered):
        return full[: len(full) - len(rendered)] + str(path)
    return str(path)


class ObservabilityMiddleware:
    def __init__(self, app: Any, access: bool = False) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        given = next((v for k, v in headers if k == REQUEST_ID), b"")
        correlation = given.decode("latin-1")[:200] or str(uuid.uuid4())
        if not given:  # the write routes take the request's id as the events' correlation id
            scope["headers"] = [*headers, (REQUEST_ID, correlation.encode())]
        token = correlation_var.set(correlation)
        status = 500
        started = time.perf_counter()

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", correlation.encode("latin-1", "replace")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            template = route_template(scope)
            method = str(scope.get("method", ""))
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(seconds)
            if self.access:
                access_log.info(
                    "%s %s %d",
                    method,
                    scope.get("path", ""),
                    status,
                    extra={
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "correlation_id": correlation,
                    },
                )
            correlation_var.reset(token)
