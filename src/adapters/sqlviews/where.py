"""The query language (domain/query.py) compiled to SQL over the read models, the same SQL on
SQLite and Postgres; every value is a bound parameter. Also the reads lineage needs.

The compiled condition is over the `executions` table (unaliased). Named fields read the
`search` projection's tables (projections/search_tables.py) through `executions.id IN
(SELECT execution ...)`, which both databases answer from the (kind, name, text|number)
indexes when the condition is selective (ADR 0009).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...application.ports import Page
from ...domain.query import (
    And,
    Compare,
    Exists,
    Expr,
    Field,
    In,
    Like,
    Not,
    Or,
    QueryError,
    Value,
    to_text_field,
)
from ...projections.search_tables import VALUE_CHARS, text_number
from ...projections.tables import EXECUTIONS, Table
from ...projections.views import Row
from .rows import decode_row

E = "executions"
# Scalar fields stored on the executions row: column, type.
COLUMNS: dict[str, str] = {
    "status": "status",
    "case": "case_name",
    "group": "grp",
    "namespace": "namespace",
    "canonical": "is_canonical",
    "started": "started",
    "ended": "ended",
    "change_count": "change_count",
    "parent": "parent",
}
# Scalar fields stored as values of the search projection: (kind, name).
VALUE_FIELDS: dict[str, tuple[str, str]] = {
    "duration": ("rec", "duration"),
    "code.commit": ("code", "commit"),
    "code.dirty": ("code", "dirty"),
    "reused_from": ("rec", "reused_from"),
    "reuse_key": ("rec", "reuse_key"),
}
FILE_FIELDS = {"input.sha256": "input", "output.sha256": "output", "artifact.sha256": "artifact"}
Predicate = Compare | In | Like | Exists
SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Compiled:
    """A condition or sort expression being built: SQL text and its parameters in order."""

    def __init__(self, dialect: str, probe: bool = False) -> None:
        self.dialect = dialect
        self.probe = probe
        self.first = False  # compute the condition's executions before reading executions
        self.params: list[Any] = []

    def bind(self, *values: Any) -> str:
        self.params.extend(values)
        return ", ".join("?" * len(values))


# Whether a value or metric condition is an EXISTS correlated both ways (see _values_of),
# rather than `executions.id IN (SELECT execution ...)`; measured in ADR 0009.
PROBE = {"sqlite": False, "postgres": False}


def compile_where(expr: Expr, dialect: str, *, probe: bool | None = None) -> tuple[str, list[Any]]:
    """The condition (over `executions`) and its parameters; QueryError for a literal that
    does not fit its field (a word compared with a metric, a time that is not ISO 8601)."""
    out = Compiled(dialect, PROBE.get(dialect, False) if probe is None else probe)
    # A lone condition on Postgres is computed first (see _values_of); within and/or/not the
    # planner's IN (SELECT ...) lets it start from the most selective part.
    out.first = dialect == "postgres" and not isinstance(expr, And | Or | Not)
    return _node(out, expr), out.params


def _values_of(out: Compiled, table: str, alias: str, where: str) -> str:
    """The executions with a row of `table` (found by `where`, whose parameters follow).

    `IN (SELECT execution ...)` makes the planner collect the matching rows first. The probe
    form, an EXISTS joined both by `execution` and by the row's key (execution + the rest of
    the key, bound first), lets it also walk the executions in page order and look each
    one's row up by primary key, stopping after a page: cheaper when most executions match."""
    subquery = f"SELECT {alias}.execution FROM {table} {alias} WHERE {where}"
    if not out.probe and out.first:
        # ARRAY(...) is computed once, from the (kind, name, …) index, before the executions
        # are read: the planner cannot turn a lone condition into a walk of every execution in
        # page order probing each one, which it chose for `metrics.x > v` from a wrong estimate
        # of how many rows match (ADR 0009: 316 ms p99 at 719k executions for 2,300 matches).
        return f"{E}.id = ANY(ARRAY({subquery}))"
    if not out.probe:
        return f"{E}.id IN ({subquery})"
    return (
        f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.execution = {E}.id AND "
        f"{alias}.id = {E}.id || ? AND {where})"
    )


def _node(out: Compiled, expr: Expr) -> str:
    if isinstance(expr, And):
        return f"({_node(out, expr.left)} AND {_node(out, expr.right)})"
    if isinstance(expr, Or):
        return f"({_node(out, expr.left)} OR {_node(out, expr.right)})"
    if isinstance(expr, Not):
        return f"NOT {_node(out, expr.operand)}"
    fld = expr.field
    if fld.kind == "reused":  # true: it has a reused_from value
        return _reused(out, expr)
    if fld.kind in COLUMNS:
        return _column_predicate(out, expr, f"{E}.{COLUMNS[fld.kind]}")
    if fld.kind == "metrics":
        column = f"m.{fld.aggregate}"
        if out.probe:
            out.params.append(f"\t{fld.name}")
        out.params.append(fld.name)
        where = f"m.name = ? AND {column} IS NOT NULL AND {_predicate(out, expr, column, 'number')}"
        return _values_of(out, "execution_metrics", "m", where)
    if fld.kind in FILE_FIELDS:
        head = f"{E}.id IN (SELECT f.execution FROM execution_files f WHERE f.direction = ?"
        out.params.append(FILE_FIELDS[fld.kind])
        return f"{head} AND f.sha256 IS NOT NULL AND {_predicate(out, expr, 'f.sha256', 'text')})"
    kind, name = VALUE_FIELDS.get(fld.kind) or _value_key(fld)
    if out.probe:
        out.params.append(f"\t{kind}\t{name}")
    out.params += [kind, name]
    where = f"v.kind = ? AND v.name = ? AND {_predicate(out, expr, None, fld.type)}"
    return _values_of(out, "execution_values", "v", where)


def _reused(out: Compiled, expr: Predicate) -> str:
    """`reused = true|false` (`!=`, `in`, `exists` too): whether `reused_from` is set."""
    fld = expr.field
    if isinstance(expr, Like):
        raise QueryError(fld.pos, "reused is true or false: 'like' needs text")
    if isinstance(expr, Exists):
        return "1 = 1"
    if isinstance(expr, Compare) and expr.op not in ("=", "!="):
        raise QueryError(fld.pos, "reused is true or false: compare it with = or !=")
    values = [expr.value] if isinstance(expr, Compare) else list(expr.values)
    wanted = {_literal(fld, v, "bool")[1] == "true" for v in values}
    if isinstance(expr, Compare) and expr.op == "!=":
        wanted = {not w for w in wanted}
    if len(wanted) == 2:
        return "1 = 1"
    exists = _node(out, Exists(Field("reused_from", pos=fld.pos)))
    return exists if wanted == {True} else f"NOT {exists}"


def _value_key(fld: Field) -> tuple[str, str]:
    """(kind, name) in execution_values; config.params.X and config.code.X (the names the
    deltas use) are the params and the code, config.spec.resolved.X is config.X."""
    if fld.kind == "config":
        for prefix, kind in (("params.", "params"), ("code.", "code"), ("spec.resolved.", "")):
            if fld.name.startswith(prefix) and len(fld.name) > len(prefix):
                return kind or "config", fld.name[len(prefix) :]
    return fld.kind, fld.name


def _column_predicate(out: Compiled, expr: Predicate, column: str) -> str:
    if isinstance(expr, Exists):
        return f"{column} IS NOT NULL"
    return f"({column} IS NOT NULL AND {_predicate(out, expr, column, expr.field.type)})"


def _predicate(out: Compiled, expr: Predicate, column: str | None, kind: str) -> str:
    """The test of one stored value. `column` None: a typed value (v.text / v.number)."""
    fld = expr.field
    if isinstance(expr, Exists):
        return "1 = 1"
    if isinstance(expr, Like):
        if kind in ("number", "bool"):
            raise QueryError(fld.pos, f"{to_text_field(fld)} is a {kind}: 'like' needs text")
        target = column or "v.text"  # a number recorded as a number has no text
        if out.dialect == "sqlite":
            return f"{target} GLOB {out.bind(_sqlite_glob(expr.pattern))}"
        return f"{target} LIKE {out.bind(_sql_like(expr.pattern))} ESCAPE '\\'"
    if isinstance(expr, In):
        typed = [_literal(fld, value, kind) for value in expr.values]
        if column is not None:
            return f"{column} IN ({out.bind(*[v for _, v in typed])})"
        numbers = [v for c, v in typed if c == "number"]
        texts = [v for c, v in typed if c == "value"]
        words = [t for t in texts if text_number(t) is None]
        quoted = [t for t in texts if text_number(t) is not None]
        parts = []
        if numbers:
            parts.append(f"v.number IN ({out.bind(*numbers)})")
        if words:
            parts.append(f"(v.number IS NULL AND v.text IN ({out.bind(*words)}))")
        if quoted:
            as_numbers = out.bind(*[text_number(t) for t in quoted])
            parts.append(
                f"(v.number IN ({as_numbers}) AND (v.text IN ({out.bind(*quoted)}) "
                "OR v.text IS NULL))"
            )
        return f"({' OR '.join(parts)})"
    assert isinstance(expr, Compare)
    target, value = _literal(fld, expr.value, kind)
    op = SQL_OPS[expr.op]
    if column is not None:
        return f"{column} {op} {out.bind(value)}"
    if target == "number":
        if op == "<>":  # a value that is no number differs from any number
            return f"(v.number IS NULL OR v.number <> {out.bind(value)})"
        return f"v.number {op} {out.bind(value)}"
    # Text. A number recorded as a number has none: a quoted number equals it when it is
    # the same number (`params.dt = '0.5'` matches 0.5), and any other text differs from it.
    # Equality is a range of the (kind, name, number, text) index: a text that reads as a
    # number has that number, any other text none.
    number = text_number(value) if op in ("=", "<>") else None
    if op == "=":
        if number is None:
            return f"(v.number IS NULL AND v.text = {out.bind(value)})"
        at = out.bind(number)
        return f"(v.number = {at} AND (v.text = {out.bind(value)} OR v.text IS NULL))"
    if op == "<>":
        differs = f"v.text <> {out.bind(value)}"  # bound in the order they appear
        other = "1 = 1" if number is None else f"v.number <> {out.bind(number)}"
        return f"({differs} OR (v.text IS NULL AND {other}))"
    return f"v.text {op} {out.bind(value)}"


def _literal(fld: Field, value: Value, kind: str) -> tuple[str, Any]:
    """(value | number, the bound value) for a literal compared with a field of `kind`."""
    name = to_text_field(fld)
    if kind == "value":  # a typed value: the literal's type decides
        if isinstance(value, bool):
            return "value", "true" if value else "false"
        if isinstance(value, int | float):
            return "number", float(value)
        return "value", value[:VALUE_CHARS]
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return "number", value
        raise QueryError(fld.pos, f"{name} is a number: compare it with a number, not {value!r}")
    if kind == "bool":
        if isinstance(value, bool) or value in (0, 1):
            bound = bool(value)
            if fld.kind == "canonical":
                return "number", int(bound)
            return "value", "true" if bound else "false"
        raise QueryError(fld.pos, f"{name} is true or false, not {value!r}")
    if kind == "time":
        if isinstance(value, str) and not isinstance(value, bool):
            return "value", _iso(fld, value)
        raise QueryError(fld.pos, f"{name} is a time: compare it with an ISO 8601 time")
    if isinstance(value, bool):
        raise QueryError(fld.pos, f"{name} is text, not true or false")
    return "value", value if isinstance(value, str) else repr(value)


def _iso(fld: Field, text: str) -> str:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        msg = f"{to_text_field(fld)} is a time: {text!r} is not ISO 8601 (e.g. 2024-05-01T12:00)"
        raise QueryError(fld.pos, msg) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat()


def _sqlite_glob(pattern: str) -> str:
    return "".join("[[]" if c == "[" else "[]]" if c == "]" else c for c in pattern)


def _sql_like(pattern: str) -> str:
    out = []
    for c in pattern:
        if c in "\\%_":
            out.append("\\" + c)
        else:
            out.append({"*": "%", "?": "_"}.get(c, c))
    return "".join(out)


def sort_keys(fld: Field) -> list[tuple[str, list[Any]]]:
    """SQL expressions (with their parameters) to order executions by a field."""
    if fld.kind in COLUMNS:
        return [(f"{E}.{COLUMNS[fld.kind]}", [])]
    if fld.kind == "metrics":
        sub = f"(SELECT m.{fld.aggregate} FROM execution_metrics m "
        return [(f"{sub}WHERE m.execution = {E}.id AND m.name = ?)", [fld.name])]
    if fld.kind in FILE_FIELDS:
        sub = f"(SELECT MIN(f.sha256) FROM execution_files f WHERE f.execution = {E}.id "
        return [(f"{sub}AND f.direction = ?)", [FILE_FIELDS[fld.kind]])]
    kind, name = VALUE_FIELDS.get(fld.kind) or _value_key(fld)
    # Numbers in numeric order, then the values that are no number, as text. The row is
    # found by its key (execution \t kind \t name); a tombstone's kind is ''.
    return [
        (
            f"(SELECT v.{column} FROM execution_values v WHERE v.id = {E}.id || ? AND v.kind = ?)",
            [f"\t{kind}\t{name}", kind],
        )
        for column in ("number", "text")
    ]


# Lineage reads: a file's rows with their execution's case, status and times.
_FILE_ROWS = (
    "SELECT f.execution, f.direction, f.uri, f.sha256, f.size, f.role, e.execution_id, "
    "e.namespace, e.case_name, e.status, e.started, e.ended FROM execution_files f "
    "JOIN executions e ON e.id = f.execution WHERE f.direction <> '' AND "
)


class SearchQueries:
    """Mixed into SqlQueries: pages ordered by any field, and the lineage reads."""

    dialect: Any

    def _all(self, table: Table, sql: str, params: list[Any]) -> list[Row]:
        raise NotImplementedError  # SqlQueries'

    def compile_where(self, expr: Expr) -> tuple[str, list[Any]]:
        return compile_where(expr, self.dialect.name)

    def ordered_page(
        self,
        order: Field,
        descending: bool,
        where: list[str],
        params: list[Any],
        limit: int,
        cursor: str | None,
        select: tuple[str, ...] | None = None,
    ) -> Page:
        """A page ordered by any field, then by id. The cursor is the offset of the next page:
        a sort key computed per row has no index to seek by."""
        from .queries import decode_cursor, encode_cursor

        offset = 0
        if cursor:
            (offset,) = decode_cursor(cursor, 1)
            if not isinstance(offset, int) or offset < 0:
                raise ValueError(f"invalid cursor {cursor!r}")
        direction = " DESC" if descending else ""
        order_sql, order_params = [], []
        for key, key_params in sort_keys(order):
            # NULLs (executions without the field) last in both orders, on both databases.
            order_sql.append(f"{key} IS NULL, {key}{direction}")
            order_params += key_params * 2
        columns = ", ".join(f"{E}.{c}" for c in select) if select else f"{E}.*"
        sql = f"SELECT {columns} FROM {E}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {', '.join(order_sql)}, {E}.id LIMIT ? OFFSET ?"
        rows = self._all(EXECUTIONS, sql, [*params, *order_params, limit + 1, offset])
        more = len(rows) > limit
        return Page(rows[:limit], encode_cursor([offset + limit]) if more else None)

    # -- lineage ----------------------------------------------------------------------------
    def files_with_sha256(self, digests: list[str]) -> list[Row]:
        """Every input, output and artifact row with one of these sha256s."""
        return self._chunked("f.sha256", digests)

    def files_of_executions(self, executions: list[str]) -> list[Row]:
        """Every input, output and artifact row of these executions (uuids)."""
        return self._chunked("f.execution", executions)

    def files_at(self, uri: str) -> list[Row]:
        """File rows recorded at this uri or path (exactly)."""
        return self._chunked("f.uri", [uri])

    def _chunked(self, column: str, keys: list[str]) -> list[Row]:
        rows: list[Row] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            sql = f"{_FILE_ROWS}{column} IN ({', '.join('?' * len(chunk))}) ORDER BY f.id"
            rows += [decode_row(EXECUTIONS, r) for r in self._all(EXECUTIONS, sql, chunk)]
        return rows

    def values_of(self, executions: list[str], fields: list[Field]) -> dict[str, dict[str, Any]]:
        """For each execution (uuid), the values of these fields (named by their text) that
        it has: params, config, tags and metrics typed as recorded, columns as stored."""
        from ...domain.query import to_text_field

        out: dict[str, dict[str, Any]] = {e: {} for e in executions}
        if not executions or not fields:
            return out
        marks = ", ".join("?" * len(executions))
        named = [f for f in fields if f.kind not in COLUMNS and f.kind not in FILE_FIELDS]
        keys = {
            (VALUE_FIELDS.get(f.kind) or _value_key(f)): to_text_field(f)
            for f in named
            if f.kind != "metrics"
        }
        # Value rows by key (execution \t kind \t name): the table has no execution index.
        wanted = [f"{e}\t{kind}\t{name}" for e in executions for kind, name in keys]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            sql = (
                "SELECT execution, kind, name, text, number FROM execution_values "
                f"WHERE id IN ({', '.join('?' * len(chunk))})"
            )
            for row in self._all(EXECUTIONS, sql, chunk):
                label = keys.get((row["kind"], row["name"]))  # None for a tombstone
                if label is not None:
                    number = row["number"]
                    out[row["execution"]][label] = number if number is not None else row["text"]
        metrics = {(f.name, f.aggregate): to_text_field(f) for f in named if f.kind == "metrics"}
        if metrics:
            names = sorted({n for n, _ in metrics})
            sql = (
                f"SELECT * FROM execution_metrics WHERE execution IN ({marks}) "
                f"AND name IN ({', '.join('?' * len(names))})"
            )
            for row in self._all(EXECUTIONS, sql, [*executions, *names]):
                for (name, aggregate), label in metrics.items():
                    if name == row["name"]:
                        out[row["execution"]][label] = row[aggregate]
        return out
