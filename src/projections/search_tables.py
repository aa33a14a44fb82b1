"""Tables of the `search` projection (projections/search.py): typed values, metric summaries
and files of every execution, which the query language (domain/query.py) and lineage read.

Each row's key joins its natural key with tabs (the stores key a table by one column). A value
or file that an execution no longer has keeps its row as a tombstone (kind or direction ''),
since the stores' units of work put rows and never delete them; readers skip tombstones by
asking for a kind or direction.

`execution_values` holds tens of rows per execution, so it is kept narrow (ADR 0009): no index
on `execution` (the projection finds an execution's rows through `execution_fields`, readers
by key: execution \t kind \t name), and no text for a value recorded as a number.
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec

from .tables import Table

# Values longer than this are kept (and compared) by their first VALUE_CHARS characters, so
# that every value fits a b-tree index entry on Postgres (about 2.7 kB at most).
VALUE_CHARS = 512

EXECUTION_VALUES = Table(
    name="execution_values",
    key="id",  # execution \t kind \t name
    columns=(
        ("id", "TEXT"),
        ("execution", "TEXT"),  # executions.id
        ("kind", "TEXT"),  # params, config, tags, code, rec ('' once removed)
        ("name", "TEXT"),
        # The value as text: strings as is, true/false, JSON; NULL for a number recorded as
        # a number (int or float), which `number` holds.
        ("text", "TEXT"),
        ("number", "FLOAT8"),  # the value as a number when it is one or reads as one
    ),
    # One index serves every compiled equality and range (ADR 0009): a number's, and a
    # text's (a text that is no number has number NULL, one that reads as a number has it).
    indexes=(("kind", "name", "number", "text"),),
)

# One row per execution: the (kind, name) of the values its record gave (tags aside), so that
# a later record of the same execution turns the ones it lacks into tombstones by key.
EXECUTION_FIELDS = Table(
    name="execution_fields",
    key="id",  # executions.id
    columns=(("id", "TEXT"), ("fields", "JSON")),  # ["kind\tname", ...]
)

EXECUTION_METRICS = Table(
    name="execution_metrics",
    key="id",  # execution \t name
    columns=(
        ("id", "TEXT"),
        ("execution", "TEXT"),
        ("name", "TEXT"),
        ("last", "FLOAT8"),
        ("min", "FLOAT8"),
        ("max", "FLOAT8"),
        ("step", "INTEGER"),  # the last point's step (its index when the tool gave none)
    ),
    indexes=(("execution",), ("name", "last")),
    lookups=("execution",),
)

EXECUTION_FILES = Table(
    name="execution_files",
    key="id",  # execution \t direction \t index in its list
    columns=(
        ("id", "TEXT"),
        ("execution", "TEXT"),
        ("direction", "TEXT"),  # input, output, artifact ('' once removed)
        ("uri", "TEXT"),
        ("sha256", "TEXT"),
        ("size", "INTEGER"),
        ("role", "TEXT"),
    ),
    indexes=(("execution",), ("sha256",)),
    lookups=("execution",),
)

_NUMERIC = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
FILE_LISTS = (("input", "inputs"), ("output", "outputs"), ("artifact", "artifacts"))
_json = msgspec.json.Encoder()


def typed(value: Any) -> tuple[str | None, float | None]:
    """A value as (text, number): a number as (None, the number); a string as itself and,
    when it reads as one, its number (`"0.50"` -> 0.5); booleans as true/false (no number),
    structures as JSON. A number that is not finite (nan, inf) is kept as text."""
    kind = type(value)
    if kind is str:
        parsed: float | None = None
        if len(value) < 64 and _NUMERIC.fullmatch(value):
            parsed = float(value)
            if not math.isfinite(parsed):
                parsed = None
        return value[:VALUE_CHARS], parsed
    if kind is float or kind is int:
        try:
            number = float(value)
        except OverflowError:  # an integer past the float range: text only
            return repr(value)[:VALUE_CHARS], None
        return (None, number) if math.isfinite(number) else (repr(value), None)
    if value is None:
        return None, None
    if kind is bool:
        return ("true" if value else "false"), None
    if isinstance(value, int | float):  # subclasses (IntEnum, numpy scalars that subclass)
        return typed(float(value))
    if isinstance(value, str):
        return typed(str(value))
    return _json.encode(value).decode()[:VALUE_CHARS], None


def text_number(text: str) -> float | None:
    """The number a text reads as (`"0.50"` -> 0.5), if any: what `typed` stores for it."""
    return typed(text)[1]
