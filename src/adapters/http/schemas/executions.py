"""Executions: list pages, one execution, history, diff, and recording results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import Deltas, Schema


class ExecutionPublic(Schema):
    id: str = Field(description="The execution's uuid")
    execution_id: str = Field(description="The external id it was recorded with")
    case_id: str
    case: str = Field(description="namespace/name")
    namespace: str
    case_name: str
    group: str | None
    parent: str | None = Field(
        default=None, description="The execution id of the run this one ran inside (nested run)"
    )
    status: str
    is_canonical: bool
    change_count: int
    missing_count: int = Field(
        default=0, description="Compared fields the canonical has and this execution lacks"
    )
    started: str | None
    ended: str | None
    recorded_at: str | None
    tags: dict[str, str]
    retracted: bool
    position: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExecutionPublic:
        return cls(**execution_fields(row))


def execution_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "execution_id": row["execution_id"],
        "case_id": row["case_id"],
        "case": f"{row['namespace']}/{row['case_name']}",
        "namespace": row["namespace"],
        "case_name": row["case_name"],
        "group": row["grp"],
        "parent": row["parent"],
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"] or 0,
        "missing_count": row.get("missing_count") or 0,
        "started": row["started"],
        "ended": row["ended"],
        "recorded_at": row["recorded_at"],
        "tags": row["tags"] or {},
        "retracted": bool(row["retracted"]),
        "position": row["position"],
    }


class ExecutionDetail(ExecutionPublic):
    deltas: Deltas | None = Field(description="Changes against the canonical; null: no baseline")
    config: dict[str, Any] = Field(description="The compared configuration fields, flattened")
    params: dict[str, Any]
    importer: str | None
    output_sha256: str | None
    persisted: dict[str, str] = Field(description="Where the record was archived -> sha256")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExecutionDetail:
        return cls(
            **execution_fields(row),
            deltas=row["deltas"],
            config=row["config"] or {},
            params=row["params"] or {},
            importer=row["importer"],
            output_sha256=row["output_sha256"],
            persisted=row["persisted"] or {},
        )


class ExecutionsPage(Schema):
    items: list[ExecutionPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


class HistoryEvent(Schema):
    position: int
    type: str = Field(description="Event type, e.g. ExecutionRecorded, CanonicalChosen")
    aggregate_id: str
    version: int
    timestamp: str
    actor: str | None
    correlation_id: str | None
    ledger: str | None
    payload: dict[str, Any]


class HistoryPublic(Schema):
    execution_id: str
    items: list[HistoryEvent]


class DiffChange(Schema):
    field: str
    a: Any = Field(description="The value in A (the baseline); null: A lacks it")
    b: Any = Field(description="The value in B; null: B lacks it")


class DiffSection(Schema):
    name: str = Field(description="config, params, metrics, outputs, artifacts, inputs, …")
    change_count: int
    changes: list[DiffChange]
    same: int = Field(description="How many fields of the section are the same")


class DiffPublic(Schema):
    a: str
    b: str
    change_count: int = Field(description="Changed fields over every section")
    deltas: Deltas = Field(description="The config deltas alone, as `show` gives them")
    sections: list[DiffSection] = Field(
        default_factory=list, description="Sections with changes first, changes first in each"
    )


class LineageNode(Schema):
    id: str = Field(description="An execution's uuid or a file's sha256")
    type: Literal["execution", "file"]
    depth: int | None = Field(default=None, description="Executions away from the start")
    execution_id: str | None = None
    case: str | None = None
    status: str | None = None
    started: str | None = None
    ended: str | None = None
    uris: list[str] | None = Field(default=None, description="Where the file was recorded")
    size: int | None = None


class LineageEdge(Schema):
    from_: str = Field(alias="from", serialization_alias="from")
    relation: Literal["used", "wasGeneratedBy"]
    to: str
    role: str | None = None

    model_config = {"populate_by_name": True, "extra": "forbid"}


class LineagePublic(Schema):
    execution: str
    direction: str
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class FilePublic(Schema):
    sha256: str
    uris: list[str]
    producers: list[LineageNode] = Field(description="Executions with it as output or artifact")
    consumers: list[LineageNode] = Field(description="Executions with it as input")


Outcome = Literal["created", "updated", "duplicate", "conflict", "invalid"]


class ItemError(Schema):
    message: str
    field: str | None = None


class RecordOutcome(Schema):
    index: int = Field(description="Position of the item in the request (0 for a single record)")
    execution_id: str | None
    case: str | None
    outcome: Outcome
    status: str | None = None
    position: int | None = Field(default=None, description="Log position (created items)")
    canonical: bool = False
    conflicting_fields: list[str] = Field(default_factory=list)
    changed_fields: list[str] = Field(
        default_factory=list, description="What an update moved (outcome `updated`)"
    )
    error: ItemError | None = None


class RecordBatchResult(Schema):
    items: list[RecordOutcome]
    created: int
    updated: int = 0
    duplicates: int
    conflicts: int
    invalid: int
    position: int = Field(description="Log position after this write; pass as min_position")
