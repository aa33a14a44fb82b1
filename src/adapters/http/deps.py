"""Request dependencies: the ledger, who is calling, read-your-writes, and the write context."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ...application.ledger import Ledger
from ...application.ports import Archive
from ...domain.context import acting_as
from .errors import ApiError
from .limits import DEFAULT_MAX_FILE_BYTES
from .tokens import ANONYMOUS, Principal, Scope, TokenStore

MIN_POSITION_HEADER = "X-Provledger-Min-Position"


@dataclass
class Consistency:
    """Read-your-writes: the lowest log position reads must see, tracked per server process."""

    ledger: Ledger
    timeout: float = 5.0
    known: int = 0  # the projections are known to have reached this position
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrote(self, position: int) -> None:
        """A write on this server reached `position`; it was projected before returning."""
        with self._lock:
            self.known = max(self.known, position)

    def ensure(self, position: int) -> None:
        if position <= self.known:
            return
        head = self.ledger.events.max_position()
        if position > head:
            raise ApiError(
                400,
                "position_ahead",
                f"min_position {position} is beyond the newest event ({head})",
                {"head": head},
            )
        if not self.ledger.runner.wait_for(position, self.timeout):
            raise ApiError(
                503,
                "projection_lag",
                f"the read models did not reach position {position} within {self.timeout:g} s",
            )
        with self._lock:
            self.known = max(self.known, position)


@dataclass
class Services:
    """What the routes use, built once by create_app and kept on app.state."""

    ledger: Ledger
    tokens: TokenStore
    archive: Archive | None
    public_read: bool
    consistency: Consistency
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    write_lock: threading.Lock = field(default_factory=threading.Lock)


# Dependencies are `async def` unless they do I/O: FastAPI runs each sync one in the
# threadpool, a hop that costs more than the work of these.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_ledger(services: ServicesDep) -> Ledger:
    return services.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


bearer_scheme = HTTPBearer(
    auto_error=False, description="A token from `provledger token create`", scheme_name="bearer"
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same token, as DissModel clients send it"
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
ApiKey = Annotated[str | None, Depends(api_key_scheme)]


async def _principal(
    services: Services, request: Request, bearer: Bearer, api_key: ApiKey, needed: Scope
) -> Principal:
    secret = bearer.credentials.strip() if bearer else (api_key or "").strip()
    if not secret:
        if "authorization" in request.headers:
            raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
        if needed == "read" and services.public_read:
            return ANONYMOUS
        raise ApiError(
            401,
            "unauthorized",
            f"a {needed} token is needed: send 'Authorization: Bearer <token>' "
            "(create one with `provledger token create`)",
        )
    hit, principal = services.tokens.cached(secret)
    if not hit:
        principal = await run_in_threadpool(services.tokens.lookup, secret)
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    if not principal.can(needed):
        raise ApiError(
            403,
            "forbidden",
            f"token {principal.name!r} has {principal.scope} scope; {needed} scope is needed",
        )
    return principal


async def read_access(
    services: ServicesDep, request: Request, bearer: Bearer, api_key: ApiKey
) -> Principal:
    return await _principal(services, request, bearer, api_key, "read")


async def write_access(
    services: ServicesDep, request: Request, bearer: Bearer, api_key: ApiKey
) -> Principal:
    return await _principal(services, request, bearer, api_key, "write")


Reader = Annotated[Principal, Depends(read_access)]
Writer = Annotated[Principal, Depends(write_access)]


async def fresh_reads(
    services: ServicesDep,
    min_position: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="Answer only once the read models reached this position"),
    ] = None,
    header: Annotated[
        int | None,
        Header(alias=MIN_POSITION_HEADER, ge=0, le=2**62, description="Same as min_position"),
    ] = None,
) -> None:
    """Read-your-writes: wait (bounded) until the read models reached the asked position."""
    wanted = max(min_position or 0, header or 0)
    if wanted > services.consistency.known:
        await run_in_threadpool(services.consistency.ensure, wanted)


@contextmanager
def writing(services: Services, principal: Principal, request: Request) -> Iterator[str]:
    """One write at a time per process, stamped with the caller and a correlation id."""
    correlation = request.headers.get("X-Request-ID") or None
    with (
        services.write_lock,
        acting_as(
            actor=f"token:{principal.name}",
            correlation_id=correlation,
            ledger=services.ledger.ledger_id,
        ) as correlation_id,
    ):
        yield correlation_id
