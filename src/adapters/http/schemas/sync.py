"""Request and response shapes of the sync endpoints (docs/sync.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from .common import Schema

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
MAX_PUSH_EXECUTIONS = 1000


class WireEventIn(Schema):
    topic: str = Field(description="Stable event topic, e.g. provledger:ExecutionRecorded")
    state: dict[str, Any] = Field(
        description="The event's fields, as the origin ledger stored them"
    )


class PushedExecution(Schema):
    id: UUID = Field(description="The execution's uuid5 id (the same on every ledger)")
    events: list[WireEventIn] = Field(min_length=1, max_length=10_000)


class PushRequest(Schema):
    executions: list[PushedExecution] = Field(min_length=1, max_length=MAX_PUSH_EXECUTIONS)


class PushItem(Schema):
    id: UUID
    outcome: Literal["created", "updated", "unchanged", "conflict", "invalid"]
    execution_id: str | None = None
    case: str | None = None
    position: int = 0
    conflicting_fields: list[str] = Field(default_factory=list)
    error: str | None = None


class PushResponse(Schema):
    ledger_id: str
    position: int
    counts: dict[str, int]
    items: list[PushItem]


class LedgerInfo(Schema):
    ledger_id: str
    head: int = Field(description="The newest log position")
    keeps_files: bool = Field(description="Whether pushed files can be uploaded (an archive)")


class MissingRequest(Schema):
    sha256: list[Sha256] = Field(max_length=10_000)


class MissingResponse(Schema):
    missing: list[str]


class FileStored(Schema):
    sha256: str
    size: int


class RemoteExecution(Schema):
    id: UUID
    execution_id: str
    case: str
    status: str
    retracted: bool
    version: int
    position: int = Field(description="Log position of the execution's newest event")
    events: list[WireEventIn]
