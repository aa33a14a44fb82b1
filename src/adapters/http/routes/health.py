"""`/healthz` (the process is up), `/readyz` (it can serve: database, projection lag, archive)
and `/metrics` (Prometheus), at the root and without a token (a setting protects /metrics)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ...service.metrics import content_type, exposition, registry_for
from ..deps import ApiKey, Bearer, ServicesDep, read_access
from ..observability import ObservabilityOptions

router = APIRouter(tags=["health"])
CHECK_TIMEOUT = 3.0  # seconds each readiness check may take


def options_of(request: Request) -> ObservabilityOptions:
    found = getattr(request.app.state, "observability", None)
    return found if isinstance(found, ObservabilityOptions) else ObservabilityOptions()


@router.get("/healthz", summary="Liveness: the process is up (no token, no database)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable, projections not too far behind, archive reachable",
    responses={503: {"description": "Not ready; `reasons` says why"}},
)
async def readyz(services: ServicesDep, request: Request) -> JSONResponse:
    options = options_of(request)
    checks: dict[str, Any] = {}
    reasons: list[str] = []

    def database() -> None:
        status = services.ledger.runner.status()
        lag = max((s.lag for s in status), default=0)
        checks["database"] = "ok"
        checks["projection_lag"] = lag
        if lag > options.ready_max_lag:
            reasons.append(
                f"projections are {lag} events behind the log (more than {options.ready_max_lag})"
            )

    def archive() -> None:
        target = services.archive
        if target is None:
            return
        check = getattr(target, "check_bucket", None)
        if check is not None:
            check()
        else:
            target.exists("log/manifests/0000000001.json")
        checks["archive"] = "ok"

    for name, check in (("database", database), ("archive", archive)):
        if name == "archive" and not options.archive_configured:
            continue
        try:
            await asyncio.wait_for(run_in_threadpool(check), CHECK_TIMEOUT)
        except TimeoutError:
            checks[name] = "timeout"
            reasons.append(f"{name} did not answer within {CHECK_TIMEOUT:g} s")
        except Exception as e:  # not ready, whatever the cause: say which and why
            checks[name] = "unreachable"
            reasons.append(f"{name} unreachable: {str(e).splitlines()[0][:300]}")
    body = {"status": "not ready" if reasons else "ready", "checks": checks, "reasons": reasons}
    return JSONResponse(body, status_code=503 if reasons else 200)


@router.get(
    "/metrics",
    summary="Prometheus metrics (no token unless PROVLEDGER_METRICS_NEED_TOKEN)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(
    services: ServicesDep, request: Request, bearer: Bearer, api_key: ApiKey
) -> Response:
    if options_of(request).metrics_need_token:
        await read_access(services, request, bearer, api_key)
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = registry_for(services.ledger, services.archive)
        request.app.state.metrics_registry = registry
    body = await run_in_threadpool(exposition, registry)
    return Response(body, media_type=content_type())
