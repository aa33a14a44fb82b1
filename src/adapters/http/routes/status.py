"""`/api/v1/status` (event count, projection positions and lag) and `/health`."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import LedgerDep, Reader
from ..schemas.status import HealthPublic, ProjectionStatusPublic, StatusPublic

router = APIRouter(tags=["status"])
health_router = APIRouter(tags=["status"])


@router.get("/status", summary="Event count, projection positions and lag, row counts")
def status(ledger: LedgerDep, _: Reader) -> StatusPublic:
    projections = ledger.runner.status()
    head = max((p.head for p in projections), default=ledger.events.max_position())
    counts = ledger.queries.counts()
    return StatusPublic(
        ledger_id=ledger.ledger_id,
        backend=str(getattr(ledger.events, "backend", "unknown")),
        event_count=head,
        head=head,
        lag=max((p.lag for p in projections), default=0),
        projections=[
            ProjectionStatusPublic(name=p.name, position=p.position, head=p.head, lag=p.lag)
            for p in projections
        ],
        cases=counts["cases"],
        executions=counts["executions"],
    )


@health_router.get("/health", summary="Liveness (no token needed)")
def health() -> HealthPublic:
    return HealthPublic(status="ok")
