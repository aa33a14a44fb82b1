"""Cases: list pages, one case with its executions, a manual canonical choice."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import Schema


class CaseCounts(Schema):
    executions: int
    succeeded: int
    failed: int
    incomplete: int
    running: int
    cancelled: int
    unknown: int


class CasePublic(Schema):
    id: str = Field(description="The case's uuid")
    key: str = Field(description="namespace/name")
    namespace: str
    name: str
    group: str | None
    canonical_id: str | None = Field(description="uuid of the canonical execution")
    canonical_execution_id: str | None = Field(description="external id of the canonical")
    canonical_reason: str | None
    counts: CaseCounts
    opened_at: str | None
    first_seen: str | None
    last_seen: str | None
    position: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CasePublic:
        return cls(**case_fields(row))


def case_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["case_id"],
        "key": f"{row['namespace']}/{row['name']}",
        "namespace": row["namespace"],
        "name": row["name"],
        "group": row["grp"],
        "canonical_id": row["canonical"],
        "canonical_execution_id": row["canonical_execution_id"],
        "canonical_reason": row["canonical_reason"],
        "counts": CaseCounts(
            executions=row["n_executions"],
            succeeded=row["n_succeeded"],
            failed=row["n_failed"],
            incomplete=row["n_incomplete"],
            running=row["n_running"],
            cancelled=row["n_cancelled"],
            unknown=row["n_unknown"],
        ),
        "opened_at": row["opened_at"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "position": row["position"],
    }


class ExecutionSummary(Schema):
    id: str
    execution_id: str
    status: str
    is_canonical: bool
    change_count: int
    started: str | None
    ended: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExecutionSummary:
        return cls(
            id=row["id"],
            execution_id=row["execution_id"],
            status=row["status"],
            is_canonical=bool(row["is_canonical"]),
            change_count=row["change_count"] or 0,
            started=row["started"],
            ended=row["ended"],
        )


class CaseDetail(CasePublic):
    executions: list[ExecutionSummary]


class CasesPage(Schema):
    items: list[CasePublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


class CanonicalChoice(Schema):
    execution_id: str = Field(min_length=1, max_length=1000, description="External id or uuid")
    reason: str = Field(min_length=1, max_length=4000, description="Why (kept in history)")


class CanonicalChosenPublic(Schema):
    case: str
    execution_id: str
    reason: str
    position: int = Field(description="Log position of the CanonicalChosen event")
