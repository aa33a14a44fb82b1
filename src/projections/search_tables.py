"""Tables of the `search` projection (projections/search.py): typed values, metric summaries
and files of every execution, which the query language (domain/query.py) and lineage read.

Each row's key joins its natural key with tabs (the stores key a table by one column). A value
or file that an execution no longer has keeps its row as a tombstone (kind or direction ''),
since the stores' units of work put rows and never delete them; readers skip tombstones by
asking for a kind or direction.
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
        ("value", "TEXT"),  # the value as text: strings as is, true/false, numbers, JSON
        ("number", "FLOAT8"),  # the value as a number when it is one or reads as one
    ),
    indexes=(("execution",), ("kind", "name", "number"), ("kind", "name", "value")),
    lookups=("execution",),
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
    """A value as (text, number): the number when it is one or a string that reads as one
    (`"0.50"` -> 0.5); booleans as true/false (no number), structures as JSON."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float):
        number = float(value)
        return repr(value), (number if math.isfinite(number) else None)
    if isinstance(value, str):
        parsed: float | None = None
        if len(value) < 64 and _NUMERIC.fullmatch(value):
            parsed = float(value)
        return value[:VALUE_CHARS], (
            parsed if parsed is not None and math.isfinite(parsed) else None
        )
    return _json.encode(value).decode()[:VALUE_CHARS], None
