"""The `search` read model: every execution's typed values (params, config, tags, code,
duration), metric summaries and files, for the query language and for lineage.

Import it through projections.views (which registers it in ALL_PROJECTIONS): it subclasses the
Projection defined there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from ..domain.deltas import config_fields
from ..domain.execution import Execution
from ..domain.record import ExecutionRecord
from .search_tables import (
    EXECUTION_FIELDS,
    EXECUTION_FILES,
    EXECUTION_METRICS,
    EXECUTION_VALUES,
    FILE_LISTS,
    typed,
)
from .views import Projection, Row, ViewSession

_CONFIG_PREFIX = "spec.resolved."


def record_values(record: ExecutionRecord) -> Iterator[tuple[str, str, Any]]:
    """(kind, name, value) of everything a query compares, except tags and metrics."""
    for name, value in record.params.items():
        yield "params", str(name), value
    if record.spec is not None and record.spec.resolved:
        # The spec alone flattened (config_fields of a record without params and code).
        spec_only = msgspec.structs.replace(record, params={}, code=None)
        for name, value in config_fields(spec_only).items():
            yield "config", name[len(_CONFIG_PREFIX) :], value
    if record.code is not None:
        yield "code", "commit", record.code.commit
        yield "code", "dirty", record.code.dirty
    if record.started is not None and record.ended is not None:
        yield "rec", "duration", (record.ended - record.started).total_seconds()
    # Reuse (domain/reuse.py): looked up by key through the (kind, name, number, text) index.
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


def extended_metric_row(
    old: Row | None, execution: str, name: str, points: Sequence[Any]
) -> Row | None:
    """A metric's summary after `points` were appended to the series `old` summarises (what
    metric_row gives for the whole series, without the series)."""
    values = [p.value for p in points if math.isfinite(p.value)]
    if not values or not points:
        return old
    if old is None:
        return metric_row(execution, name, points)
    step = points[-1].step
    return {
        **old,
        "last": values[-1],
        "min": min(old["min"], *values),
        "max": max(old["max"], *values),
        "step": step if step is not None else old["step"] + len(points),
    }


class SearchView(Projection):
    """Typed values, metric summaries and files per execution (search_tables.py)."""

    name = "search"
    tables = (EXECUTION_VALUES, EXECUTION_FIELDS, EXECUTION_METRICS, EXECUTION_FILES)
    per_case = True  # its rows depend on one execution's events only

    def prefetch(self, session: ViewSession, events: Sequence[Any]) -> None:
        changed = [
            str(e.originator_id)
            for e in events
            if isinstance(e, Execution.Finished | Execution.Updated)
        ]
        if changed:
            session.prefetch(EXECUTION_FIELDS, changed)

    def handle(self, session: ViewSession, position: int, event: Any) -> None:
        if isinstance(event, Execution.Recorded):
            self._record(session, str(event.originator_id), event.record, fresh=True)
        elif isinstance(event, Execution.Finished | Execution.Updated):
            self._record(session, str(event.originator_id), event.record, fresh=False)
        elif isinstance(event, Execution.Observed):  # only points appended: the summaries move
            execution = str(event.originator_id)
            for name, points in event.metrics.items():
                key = f"{execution}\t{name}"
                row = extended_metric_row(
                    session.get(EXECUTION_METRICS, key), execution, name, points
                )
                if row is not None:
                    session.put(EXECUTION_METRICS, row)
        elif isinstance(event, Execution.Annotated):
            execution = str(event.originator_id)
            for name, value in event.tags.items():
                session.put(EXECUTION_VALUES, _value_row(execution, "tags", name, value))
            for name in event.removed_tags:
                session.put(EXECUTION_VALUES, _tombstone(execution, "tags", name))

    def _record(
        self, session: ViewSession, execution: str, record: ExecutionRecord, *, fresh: bool
    ) -> None:
        put = session.put
        fields = []
        for kind, name, value in record_values(record):
            if value is not None:
                fields.append(f"{kind}\t{name}")
                put(EXECUTION_VALUES, _value_row(execution, kind, name, value))
        for name, value in record.tags.items():
            put(EXECUTION_VALUES, _value_row(execution, "tags", name, value))
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
            before = session.get(EXECUTION_FIELDS, execution)
            for key in set(before["fields"] if before else ()).difference(fields):
                kind, _, name = key.partition("\t")
                put(EXECUTION_VALUES, _tombstone(execution, kind, name))
            for old in session.where(EXECUTION_FILES, "execution", execution):
                if old["id"] not in files and old["direction"]:
                    put(EXECUTION_FILES, {**old, "direction": ""})
        put(EXECUTION_FIELDS, {"id": execution, "fields": fields})
        for row in files.values():
            put(EXECUTION_FILES, row)
        for name, points in record.metrics.items():
            metric = metric_row(execution, name, points)
            if metric is not None:
                put(EXECUTION_METRICS, metric)


def _value_row(execution: str, kind: str, name: str, value: Any) -> Row:
    text, number = typed(value)
    return {
        "id": f"{execution}\t{kind}\t{name}",
        "execution": execution,
        "kind": kind,
        "name": name,
        "text": text,
        "number": number,
    }


def _tombstone(execution: str, kind: str, name: str) -> Row:
    """The row of a value the execution no longer has: kind '', so no condition finds it."""
    return {
        "id": f"{execution}\t{kind}\t{name}",
        "execution": execution,
        "kind": "",
        "name": name,
        "text": None,
        "number": None,
    }
