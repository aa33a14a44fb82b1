"""The FastAPI application factory: routers, auth, errors, limits, projection follower.

Nothing is built at import: `create_app(ledger, …)` wires one app around a ledger;
`app_from_environment()` is the uvicorn factory `provledger serve` uses.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from ...application.ledger import Ledger
from ...application.ports import Archive
from .deps import Consistency, Services
from .errors import install_error_handlers
from .limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_FILE_BYTES, BodyLimitMiddleware
from .observability import ObservabilityMiddleware, ObservabilityOptions
from .openapi import install_openapi
from .routes import cases, executions, executions_write, experiments, files, health, status
from .routes import mlflow_api as mlflow_routes
from .routes import openlineage as openlineage_routes
from .routes import sync as sync_routes
from .routes import tokens as token_routes
from .schemas.common import ERROR_RESPONSES
from .tokens import TokenStore, token_store_for

if TYPE_CHECKING:
    from ..settings import Settings

API_PREFIX = "/api/v1"
log = logging.getLogger("provledger.http")


def create_app(
    ledger: Ledger,
    *,
    public_read: bool = False,
    archive: Archive | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    tokens: TokenStore | None = None,
    follow: bool = True,
    follow_interval: float = 0.5,
    read_timeout: float = 5.0,
    close_ledger: bool = False,
    observability: ObservabilityOptions | None = None,
) -> FastAPI:
    """An app over `ledger`; `follow` runs a thread keeping read models fresh from other writers."""
    services = Services(
        ledger=ledger,
        tokens=tokens if tokens is not None else token_store_for(ledger),
        archive=archive,
        public_read=public_read,
        consistency=Consistency(ledger, timeout=read_timeout),
        max_file_bytes=max_file_bytes,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        follower = None
        if follow:
            follower = threading.Thread(
                target=ledger.runner.follow,
                args=(stop, follow_interval),
                name="provledger-projection-follower",
                daemon=True,
            )
            follower.start()
        try:
            yield
        finally:
            stop.set()
            if follower is not None:
                follower.join(timeout=10)
            if close_ledger:
                ledger.close()

    app = FastAPI(
        title="provledger",
        version="1",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.services = services
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=max_body_bytes, max_file_bytes=max_file_bytes
    )
    app.state.observability = observability or ObservabilityOptions()
    app.add_middleware(ObservabilityMiddleware, access=app.state.observability.access_log)

    api = APIRouter(prefix=API_PREFIX)
    for module in (cases, executions_write, executions, experiments, files, status, token_routes):
        api.include_router(module.router)
    api.include_router(sync_routes.router)
    api.include_router(openlineage_routes.router)
    app.include_router(api)
    for mlflow_router in mlflow_routes.routers():  # MLflow's clients, unmodified
        app.include_router(mlflow_router)
    app.include_router(experiments.router)  # DissModel clients call these at the root
    app.include_router(status.health_router)
    app.include_router(health.router)
    from fastapi.staticfiles import StaticFiles

    from .. import web  # the web UI: `/` is the cases page; /docs stays Swagger

    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app


def app_from_environment() -> FastAPI:
    """Uvicorn factory: settings from PROVLEDGER_* (see `provledger serve`)."""
    from ..bootstrap import bootstrap
    from ..settings import Settings

    settings = Settings()
    ledger = bootstrap(settings)
    return create_app(
        ledger,
        public_read=os.environ.get("PROVLEDGER_PUBLIC_READ", "") in ("1", "true", "yes"),
        archive=archive_from_settings(settings),
        max_body_bytes=int(os.environ.get("PROVLEDGER_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        max_file_bytes=int(os.environ.get("PROVLEDGER_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)),
        close_ledger=True,
        observability=ObservabilityOptions.from_settings(settings),
    )


def archive_from_settings(settings: Settings) -> Archive | None:
    """The archive named by PROVLEDGER_ARCHIVE_URL, by default the folder `<home>/archive`:
    the same one the persister writes to, so `/record` and publish find what it holds."""
    from ..archive import archive_for

    return archive_for(settings)
