"""The ports use cases depend on. Adapters implement them; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from ..domain.query import Expr, Field
from ..projections.log import PositionedEvent as PositionedEvent  # the log's item, re-exported


@dataclass(frozen=True)
class PreparedSave:
    """Aggregates' pending events, collected and encoded, not yet written (see EventStore)."""

    stored: list[Any]


class EventStore(Protocol):
    """The append-only log of domain events, with the aggregates built from it."""

    def get(self, aggregate_id: UUID) -> Aggregate | None: ...

    def save(self, *aggregates: Aggregate) -> int:
        """Append every pending event atomically; return the last position written."""
        ...

    def prepare(self, *aggregates: Aggregate) -> PreparedSave:
        """The first half of `save`: collect and encode the pending events (calling thread)."""
        ...

    def commit(self, prepared: PreparedSave) -> int:
        """The second half of `save`: append atomically (any thread); the last position."""
        ...

    def existing(self, aggregate_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates have events already (one query, not one per id)."""
        ...

    def history(self, aggregate_id: UUID) -> list[PositionedEvent]: ...

    def read(self, after: int, limit: int) -> Sequence[PositionedEvent]: ...

    def max_position(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None = None


@dataclass
class ExecutionFilter:
    case: str | None = None  # case id or namespace/name or name
    group: str | None = None
    status: str | None = None
    canonical: bool | None = None
    started_after: str | None = None
    started_before: str | None = None
    tag: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


class ReadModels(Protocol):
    """Queries over the `cases` and `executions` read models."""

    def executions_matching(self, ref: str) -> list[dict[str, Any]]: ...

    def cases_matching(self, ref: str) -> list[dict[str, Any]]: ...

    def case(self, ref: str) -> dict[str, Any] | None: ...

    def execution(self, ref: str) -> dict[str, Any] | None: ...

    def list_cases(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        group: str | None = None,
        text: str | None = None,
        sort: str = "name",
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page: ...

    def list_executions(
        self,
        flt: ExecutionFilter | None = None,
        *,
        sort: str = "started",
        limit: int = 100,
        cursor: str | None = None,
        summary: bool = False,  # only the columns a listing shows (no config/params/deltas)
        query: Expr | None = None,  # the query language's condition (domain/query.py)
        order: tuple[Field, bool] | None = None,  # (field, descending): not `sort`'s columns
    ) -> Page: ...

    # Lineage (the search projection's files): each row a file of an execution, with its
    # execution's execution_id, namespace, case_name, status, started and ended.
    def files_with_sha256(self, digests: list[str]) -> list[dict[str, Any]]: ...

    def files_of_executions(self, executions: list[str]) -> list[dict[str, Any]]: ...

    def files_at(self, uri: str) -> list[dict[str, Any]]: ...

    def values_of(self, executions: list[str], fields: list[Field]) -> dict[str, dict[str, Any]]:
        """Per execution uuid, the values of these fields it has, keyed by the field's text."""
        ...

    def executions_of_case(self, case_id: str) -> list[dict[str, Any]]: ...

    def case_facets(self) -> dict[str, list[str]]:
        """{"namespaces": [...], "groups": [...]}: the distinct values cases have."""
        ...

    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int


class Archive(Protocol):
    """Where records, event-log segments and published records outlive the database.

    Keys are `/`-separated paths relative to the archive root, the same layout on S3
    (`s3://bucket/prefix/<key>`) and in a folder (`file:///path/<key>`).
    """

    url: str

    def put(self, key: str, data: bytes) -> StoredObject:
        """Write and verify (read back size and sha256); overwrite only with identical bytes."""
        ...

    def get(self, key: str) -> bytes | None: ...

    def put_path(self, key: str, path: Path) -> StoredObject:
        """As put, for a file of any size: streamed in (multipart on S3), verified by reading
        back and hashing in chunks."""
        ...

    def chunks(self, key: str) -> Iterator[bytes] | None:
        """The object's bytes in chunks (None when absent), without holding it all."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...
