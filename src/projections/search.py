"""The `search` read model: every execution's typed values (params, config, tags, code,
duration), metric summaries and files, for the query language and for lineage.

Import it through projections.views (which registers it in ALL_PROJECTIONS): it subclasses the
Projection defined there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from ..domain.deltas import config_fields
from ..domain.execution import Execution
from ..domain.record import ExecutionRecord
from .search_tables import EXECUTION_FILES, EXECUTION_METRICS, EXECUTION_VALUES, FILE_LISTS, typed
from .views import Projection, Row, ViewSession

_CONFIG_PREFIX = "spec.resolved."


def record_values(record: ExecutionRecord) -> Iterator[tuple[str, str, Any]]:
    """(kind, name, value) of everything a query compares, except tags and metrics."""
    for name, value in record.params.items():
        yield "params", str(name), value
    for name, value in config_fields(record).items():
        if name.startswith(_CONFIG_PREFIX):
            yield "config", name[len(_CONFIG_PREFIX) :], value
    if record.code is not None:
        yield "code", "commit", record.code.commit
        yield "code", "dirty", record.code.dirty
    if record.started is not None and record.ended is not None:
        yield "rec", "duration", (record.ended - record.started).total_seconds()
    # Reuse (domain/reuse.py): looked up by key through the (kind, name, value) index.
    if record.reuse_key is not None:
        yield "rec", "reuse_key", record.reuse_key
    if record.reused_from is not None:
        yield "rec", "reused_from", record.reused_from


def metric_row(execution: str, name: str, points: Sequence[Any]) -> Row | None:
    values = [p.value for p in points if math.isfinite(p.value)]
    if not values:
        return None
    step = points[-1].step
    return {
        "id": f"{execution}\t{name}",
        "execution": execution,
        "name": name,
        "last": values[-1],
        "min": min(values),
        "max": max(values),
        "step": step if step is not None else len(points) - 1,
    }


class SearchView(Projection):
    """Typed values, metric summaries and files per execution (search_tables.py)."""

    name = "search"
    tables = (EXECUTION_VALUES, EXECUTION_METRICS, EXECUTION_FILES)
    per_case = True  # its rows depend on one execution's events only

    def handle(self, session: ViewSession, position: int, event: Any) -> None:
        if isinstance(event, Execution.Recorded):
            self._record(session, str(event.originator_id), event.record, fresh=True)
        elif isinstance(event, Execution.Finished | Execution.Updated):
            self._record(session, str(event.originator_id), event.record, fresh=False)
        elif isinstance(event, Execution.Annotated):
            execution = str(event.originator_id)
            for name, value in event.tags.items():
                session.put(EXECUTION_VALUES, _value_row(execution, "tags", name, value))
            for name in event.removed_tags:
                session.put(
                    EXECUTION_VALUES, _value_row(execution, "", name, None, key_kind="tags")
                )

    def _record(
        self, session: ViewSession, execution: str, record: ExecutionRecord, *, fresh: bool
    ) -> None:
        values = {
            (kind, name): _value_row(execution, kind, name, value)
            for kind, name, value in record_values(record)
            if value is not None
        }
        for name, value in record.tags.items():
            values["tags", name] = _value_row(execution, "tags", name, value)
        files = {
            row["id"]: row
            for direction, attribute in FILE_LISTS
            for i, ref in enumerate(getattr(record, attribute))
            for row in [
                {
                    "id": f"{execution}\t{direction}\t{i}",
                    "execution": execution,
                    "direction": direction,
                    "uri": ref.uri,
                    "sha256": ref.sha256,
                    "size": ref.size,
                    "role": ref.role,
                }
            ]
        }
        if not fresh:
            # What the execution had before and no longer has becomes a tombstone (tags
            # excepted: annotations stay until removed by name).
            for old in session.where(EXECUTION_VALUES, "execution", execution):
                key = (old["kind"], old["name"])
                if old["kind"] not in ("", "tags") and key not in values:
                    session.put(
                        EXECUTION_VALUES, {**old, "kind": "", "value": None, "number": None}
                    )
            for old in session.where(EXECUTION_FILES, "execution", execution):
                if old["id"] not in files and old["direction"]:
                    session.put(EXECUTION_FILES, {**old, "direction": ""})
        for row in values.values():
            session.put(EXECUTION_VALUES, row)
        for row in files.values():
            session.put(EXECUTION_FILES, row)
        for name, points in record.metrics.items():
            metric = metric_row(execution, name, points)
            if metric is not None:
                session.put(EXECUTION_METRICS, metric)


def _value_row(
    execution: str, kind: str, name: str, value: Any, *, key_kind: str | None = None
) -> Row:
    """A value's row; `kind` '' with `key_kind` makes the tombstone of a removed value."""
    text, number = typed(value)
    return {
        "id": f"{execution}\t{key_kind or kind}\t{name}",
        "execution": execution,
        "kind": kind,
        "name": name,
        "value": text,
        "number": number,
    }
