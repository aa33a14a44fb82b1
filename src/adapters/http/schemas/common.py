"""Shapes shared by every resource: the error body and a delta."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable code, e.g. execution_not_found")
    message: str = Field(description="What is wrong, for people")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(Schema):
    error: ErrorDetail


class Change(Schema):
    canonical: Any = Field(description="The value in the baseline (the case's canonical)")
    current: Any = Field(description="The value in this execution")


Deltas = dict[str, Change]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Bad request (malformed JSON, bad cursor, position ahead of the log)"),
        (401, "No token, or an unknown or revoked one"),
        (403, "The token's scope does not allow this"),
        (404, "No such case or execution"),
        (409, "Conflicts with the ledger's state (ambiguous id, rule, concurrent change)"),
        (413, "Request body over the size limit"),
        (415, "The body is not sent as application/json"),
        (422, "Invalid parameters or records"),
        (503, "Database unreachable or read models lagging"),
    )
}
