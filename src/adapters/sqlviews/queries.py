"""Reads over the read models: filtered, sorted, keyset-paginated. Same SQL on both backends."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import msgspec

from ...application.ports import ExecutionFilter, Page
from ...domain.query import Expr, Field
from ...projections.tables import CASES, EXECUTIONS, Table
from ...projections.views import Row
from .rows import SqlDialect, decode_row
from .where import SearchQueries

CASE_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("namespace", "name"),
    "last_seen": ("last_seen",),
    "opened": ("opened_at",),
}
# What a listing shows (schemas.ExecutionPublic): a page skips the large JSON columns (config,
# params, deltas), which are most of a row's bytes and of its decoding time.
EXECUTION_SUMMARY_COLUMNS = (
    "id", "execution_id", "case_id", "namespace", "case_name", "grp", "parent", "status", "started",
    "ended", "recorded_at", "sort_started", "is_canonical", "change_count", "missing_count",
    "tags", "retracted", "position",
)  # fmt: skip
EXECUTION_SORTS: dict[str, tuple[str, ...]] = {
    "started": ("sort_started",),
    "recorded": ("recorded_at",),
    "execution_id": ("execution_id",),
    "status": ("status",),
}


class SqlQueries(SearchQueries):
    def __init__(self, datastore: Any, dialect: SqlDialect) -> None:
        self.datastore = datastore
        self.dialect = dialect

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A cursor for one statement. On Postgres the pooled connection is in autocommit mode:
        a lone SELECT is its own snapshot, one round trip instead of BEGIN, SELECT, ROLLBACK."""
        if self.dialect.name == "sqlite":
            with self.datastore.transaction(commit=False) as c:
                yield c
            return
        with self.datastore.get_connection() as conn, conn.cursor() as c:
            yield c

    def _all(self, table: Table, sql: str, params: list[Any]) -> list[Row]:
        with self._reading() as c:
            c.execute(self.dialect.sql(sql), params)
            return [decode_row(table, r) for r in c.fetchall()]

    # -- cases ------------------------------------------------------------------------------
    def case(self, ref: str) -> Row | None:
        """A case by id, `namespace/name`, or bare name when it is unambiguous."""
        rows = self.cases_matching(ref)
        return rows[0] if len(rows) == 1 else None

    def cases_matching(self, ref: str) -> list[Row]:
        condition, values = _case_condition(ref)
        return self._all(
            CASES, f"SELECT * FROM cases WHERE {condition} ORDER BY namespace, name", values
        )

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
    ) -> Page:
        where, params = [], []
        for column, value in (("namespace", namespace), ("name", name), ("grp", group)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if text:
            where.append("(LOWER(name) LIKE ? OR LOWER(COALESCE(grp, '')) LIKE ?)")
            params += [f"%{text.lower()}%"] * 2
        return self._page(CASES, "cases", CASE_SORTS, sort, where, params, limit, cursor)

    def case_facets(self) -> dict[str, list[str]]:
        """The namespaces and groups cases have (each served by an index), for filters."""
        out: dict[str, list[str]] = {}
        with self._reading() as c:
            for key, column in (("namespaces", "namespace"), ("groups", "grp")):
                c.execute(
                    f"SELECT DISTINCT {column} AS v FROM cases WHERE {column} IS NOT NULL "
                    f"ORDER BY {column}"
                )
                out[key] = [r["v"] for r in c.fetchall()]
        return out

    # -- executions -------------------------------------------------------------------------
    def execution(self, ref: str) -> Row | None:
        rows = self.executions_matching(ref)
        return rows[0] if len(rows) == 1 else None

    def executions_matching(self, ref: str) -> list[Row]:
        """By uuid, `namespace/case/id`, `case/id`, or the bare external id."""
        if _is_uuid(ref):
            rows = self._all(EXECUTIONS, "SELECT * FROM executions WHERE id = ?", [str(UUID(ref))])
            if rows:
                return rows
        parts = ref.split("/")
        if len(parts) == 3:
            return self._all(
                EXECUTIONS,
                "SELECT * FROM executions WHERE namespace = ? AND case_name = ? "
                "AND execution_id = ?",
                parts,
            )
        if len(parts) == 2:
            return self._all(
                EXECUTIONS,
                "SELECT * FROM executions WHERE case_name = ? AND execution_id = ?",
                parts,
            )
        return self._all(
            EXECUTIONS, "SELECT * FROM executions WHERE execution_id = ? ORDER BY namespace", [ref]
        )

    def list_executions(
        self,
        flt: ExecutionFilter | None = None,
        *,
        sort: str = "started",
        limit: int = 100,
        cursor: str | None = None,
        summary: bool = False,
        query: Expr | None = None,
        order: tuple[Field, bool] | None = None,
    ) -> Page:
        flt = flt or ExecutionFilter()
        where: list[str] = []
        params: list[Any] = []
        if flt.case is not None:
            condition, case_params = _case_condition(flt.case)
            # One case (an id, or namespace/name): `=`, so the (case_id, status, sort_started)
            # index serves filter and order alike; a bare name may name several cases.
            one = _is_uuid(flt.case) or "/" in flt.case
            where.append(
                f"case_id {'=' if one else 'IN'} (SELECT case_id FROM cases WHERE {condition})"
            )
            params += case_params
        for column, value in (("grp", flt.group), ("status", flt.status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if flt.canonical is not None:
            where.append("is_canonical = ?")
            params.append(int(flt.canonical))
        if flt.started_after:
            where.append("started >= ?")
            params.append(flt.started_after)
        if flt.started_before:
            where.append("started < ?")
            params.append(flt.started_before)
        for column, values in (("tags", flt.tag), ("params", flt.params)):
            for key, value in values.items():
                where.append(f"{self._json_text(column, key)} = ?")
                params += [key, value]
        if query is not None:  # the query language (sql_where.py)
            condition, query_params = self.compile_where(query)
            where.append(condition)
            params += query_params
        columns = EXECUTION_SUMMARY_COLUMNS if summary else None
        if order is not None:  # (field, descending)
            return self.ordered_page(*order, where, params, limit, cursor, columns)
        return self._page(
            EXECUTIONS, "executions", EXECUTION_SORTS, sort, where, params, limit, cursor, columns
        )

    def _json_text(self, column: str, key: str) -> str:
        if self.dialect.name == "sqlite":
            return f"CAST(json_extract({column}, '$.' || json_quote(?)) AS TEXT)"
        return f"(({column})::jsonb ->> ?)"

    def executions_of_case(self, case_id: str) -> list[Row]:
        return self._all(
            EXECUTIONS,
            "SELECT * FROM executions WHERE case_id = ? ORDER BY started, execution_id",
            [case_id],
        )

    def counts(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT COUNT(*) AS n FROM cases")
            cases = int(c.fetchone()["n"])
            c.execute("SELECT COUNT(*) AS n FROM executions")
            executions = int(c.fetchone()["n"])
        return {"cases": cases, "executions": executions}

    # -- paging -----------------------------------------------------------------------------
    def _page(
        self,
        table: Table,
        name: str,
        sorts: dict[str, tuple[str, ...]],
        sort: str,
        where: list[str],
        params: list[Any],
        limit: int,
        cursor: str | None,
        select: tuple[str, ...] | None = None,
    ) -> Page:
        descending = sort.startswith("-")
        key = sort.lstrip("-")
        if key not in sorts:
            raise ValueError(f"cannot sort by {key!r}; choose one of {', '.join(sorts)}")
        columns = [*sorts[key], table.key]
        op = "<" if descending else ">"
        if cursor:
            values = decode_cursor(cursor, len(columns))
            # Keyset pagination over (sort columns, key), NULLs read as ''.
            lhs = ", ".join(_sortable(c) for c in columns)
            where.append(f"({lhs}) {op} ({', '.join('?' * len(columns))})")
            params += values
        order = ", ".join(_sortable(c) + (" DESC" if descending else "") for c in columns)
        sql = f"SELECT {', '.join(select) if select else '*'} FROM {name}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} LIMIT ?"
        rows = self._all(table, sql, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if rows else {}
        next_cursor = (
            encode_cursor([last[c] if last[c] is not None else "" for c in columns])
            if more
            else None
        )
        return Page(rows, next_cursor)


NULLABLE_SORT_COLUMNS = frozenset({"last_seen", "opened_at"})


def _case_condition(ref: str) -> tuple[str, list[Any]]:
    """The cases a reference names: a case id, `namespace/name`, or a bare name."""
    if _is_uuid(ref):
        return "case_id = ?", [str(UUID(ref))]
    namespace, sep, name = ref.partition("/")
    if sep:
        return "namespace = ? AND name = ?", [namespace, name]
    return "name = ?", [ref]


def _sortable(column: str) -> str:
    """Sort columns are NOT NULL (so indexes serve the order), except a few small-table ones."""
    return f"COALESCE({column}, '')" if column in NULLABLE_SORT_COLUMNS else column


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, msgspec.DecodeError) as e:
        raise ValueError(f"invalid cursor {cursor!r}") from e
    if not isinstance(values, list) or len(values) != size:
        raise ValueError(f"invalid cursor {cursor!r}")
    return values


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
