"""Ledger status, health and the caller's token."""

from __future__ import annotations

from pydantic import Field

from .common import Schema


class ProjectionStatusPublic(Schema):
    name: str
    position: int
    head: int
    lag: int


class StatusPublic(Schema):
    ledger_id: str
    backend: str
    event_count: int = Field(description="Events in the log (the newest event's position)")
    head: int
    lag: int = Field(description="The largest projection lag, in events")
    projections: list[ProjectionStatusPublic]
    cases: int
    executions: int


class HealthPublic(Schema):
    status: str


class TokenPublic(Schema):
    id: str | None
    name: str
    scope: str
    created_at: str | None
