"""Read-model table definitions, shared by the SQLite and Postgres stores."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[tuple[str, str], ...]  # (name, portable type: TEXT | INTEGER | JSON)
    indexes: tuple[tuple[str, ...], ...] = ()
    lookups: tuple[str, ...] = ()  # columns handlers find rows by (ViewSession.where)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @cached_property
    def lookup_indexes(self) -> tuple[tuple[str, ...], ...]:
        """For each lookup column, the first index that leads with it (or one of its own)."""
        return tuple(
            next((ix for ix in self.indexes if ix[0] == column), (column,))
            for column in self.lookups
        )

    @cached_property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c for c, t in self.columns if t == "JSON")


CASES = Table(
    name="cases",
    key="case_id",
    columns=(
        ("case_id", "TEXT"),
        ("namespace", "TEXT"),
        ("name", "TEXT"),
        ("grp", "TEXT"),
        ("canonical", "TEXT"),
        ("canonical_execution_id", "TEXT"),
        ("canonical_reason", "TEXT"),
        ("n_executions", "INTEGER"),
        ("n_succeeded", "INTEGER"),
        ("n_failed", "INTEGER"),
        ("n_incomplete", "INTEGER"),
        ("n_running", "INTEGER"),
        ("n_cancelled", "INTEGER"),
        ("n_unknown", "INTEGER"),
        ("opened_at", "TEXT"),
        ("first_seen", "TEXT"),
        ("last_seen", "TEXT"),
        ("position", "INTEGER"),
    ),
    indexes=(("namespace", "name"), ("grp",), ("last_seen",)),
)

EXECUTIONS = Table(
    name="executions",
    key="id",
    columns=(
        ("id", "TEXT"),
        ("execution_id", "TEXT"),
        ("case_id", "TEXT"),
        ("namespace", "TEXT"),
        ("case_name", "TEXT"),
        ("grp", "TEXT"),
        ("parent", "TEXT"),  # the execution id of the run this one ran inside
        ("status", "TEXT"),
        ("started", "TEXT"),
        ("ended", "TEXT"),
        ("recorded_at", "TEXT"),
        ("sort_started", "TEXT"),  # never NULL: started, or '' when unknown (indexable order)
        ("is_canonical", "INTEGER"),
        ("change_count", "INTEGER"),
        ("missing_count", "INTEGER"),  # compared fields the canonical has and this one lacks
        ("deltas", "JSON"),
        ("config", "JSON"),
        ("params", "JSON"),
        ("tags", "JSON"),
        ("importer", "TEXT"),
        ("output_sha256", "TEXT"),
        ("persisted", "JSON"),
        ("retracted", "INTEGER"),
        ("position", "INTEGER"),
    ),
    # Each filter an index that also serves the default order, so a page never sorts the table.
    indexes=(
        ("execution_id",),
        ("sort_started", "id"),
        ("case_id", "sort_started", "id"),
        ("case_id", "status", "sort_started", "id"),  # a case's executions of one status
        ("status", "sort_started", "id"),
        ("grp", "sort_started", "id"),
        ("is_canonical", "sort_started", "id"),
        ("output_sha256",),
    ),
    lookups=("case_id",),
)

# The executions projection keeps its own copy of each case's canonical, so it can be rebuilt
# without the cases projection.
EXECUTION_CANONICALS = Table(
    name="execution_canonicals",
    key="case_id",
    columns=(("case_id", "TEXT"), ("canonical", "TEXT")),
)
