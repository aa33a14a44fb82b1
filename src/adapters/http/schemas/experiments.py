"""Reproduce and publish requests, and the DissModel JobResponse alias."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import Schema


class JobResponse(Schema):
    """DissModel's JobResponse shape, for existing clients of `GET /job/{id}`."""

    job_id: str
    experiment_id: str
    status: str = Field(description="pending | running | completed | failed | cancelled")
    model_name: str
    created_at: str | None
    output_path: str | None = None
    output_sha256: str | None = None
    input_sha256: str | None = None
    logs: list[str] = Field(default_factory=list)


class ReproduceRequest(Schema):
    note: str | None = Field(default=None, max_length=4000, description="Why it is re-run")


class FileRefPublic(Schema):
    uri: str
    sha256: str | None = None
    size: int | None = None
    role: str | None = None


class ReproducePlan(Schema):
    execution_id: str = Field(description="The execution to reproduce")
    case: str
    spec: dict[str, Any] | None = Field(description="The pinned spec (format, text, resolved)")
    params: dict[str, Any]
    inputs: list[FileRefPublic] = Field(description="Inputs with their sha256, to verify")
    code: dict[str, Any] | None
    environment: dict[str, Any] | None
    command: list[str]
    record_template: dict[str, Any] = Field(
        description="Start of the new record: set execution_id, then record it with results"
    )
    position: int = Field(description="Log position of the ReproductionRequested event")


class PublishResponse(Schema):
    execution_id: str
    location: str = Field(description="Where the published record is (archive URL or ledger:)")
    sha256: str = Field(description="sha256 of the published document's bytes")
    size: int
    position: int = Field(description="Log position of the Published event")
    already_published: bool
    document: dict[str, Any] = Field(description="The publishable record with checksums")
