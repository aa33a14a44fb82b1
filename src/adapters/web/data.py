"""What each page shows, read through the ledger (the application layer) and returned as plain
data: the template renders it, `?format=json` returns it as is."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import msgspec

from ...application.ledger import Ledger
from ...application.lineage import file_lineage
from ...application.ports import ExecutionFilter
from ...domain.compare import SECTIONS, compare_records
from ...domain.query import Field, parse, parse_field, to_text_field
from ...domain.record import ExecutionRecord, FileRef, record_to_builtins
from .. import presenters
from . import charts
from .graph import svg

CASE_SORTS = ("name", "-name", "last_seen", "-last_seen", "opened", "-opened")
EXECUTION_SORTS = ("started", "-started", "recorded", "-recorded", "execution_id", "status")
MAX_COMPARE = 8
MAX_LOG_LINES = 2000
_FACETS_SECONDS = 10.0
_facets: dict[int, tuple[float, dict[str, list[str]]]] = {}
_facets_lock = threading.Lock()


class BadRequestError(ValueError):
    """Input a page cannot answer (an unknown sort, a malformed query): shown, never a 5xx."""


def _limit(value: int, most: int) -> int:
    if not 1 <= value <= most:
        raise BadRequestError(f"limit must be between 1 and {most} (got {value})")
    return value


def facets(ledger: Ledger) -> dict[str, list[str]]:
    """Namespaces and groups for the filter dropdowns, kept a few seconds per ledger."""
    now = time.monotonic()
    hit = _facets.get(id(ledger))
    if hit and hit[0] > now:
        return hit[1]
    found = ledger.queries.case_facets()
    with _facets_lock:
        _facets[id(ledger)] = (now + _FACETS_SECONDS, found)
    return found


def case_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["case_id"],
        "key": f"{row['namespace']}/{row['name']}",
        "namespace": row["namespace"],
        "name": row["name"],
        "group": row["grp"],
        "canonical_id": row["canonical"],
        "canonical_execution_id": row["canonical_execution_id"],
        "canonical_reason": row["canonical_reason"],
        "counts": {
            "executions": row["n_executions"],
            "succeeded": row["n_succeeded"],
            "failed": row["n_failed"],
            "incomplete": row["n_incomplete"],
            "running": row["n_running"],
            "cancelled": row["n_cancelled"],
            "unknown": row["n_unknown"],
        },
        "opened_at": row["opened_at"],
        "last_seen": row["last_seen"],
    }


def execution_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "execution_id": row["execution_id"],
        "case": f"{row['namespace']}/{row['case_name']}",
        "namespace": row["namespace"],
        "case_name": row["case_name"],
        "group": row["grp"],
        "parent": row.get("parent"),
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"] or 0,
        "missing_count": row.get("missing_count") or 0,
        "started": row["started"],
        "ended": row["ended"],
        "tags": row.get("tags") or {},
    }


# -- Cases ----------------------------------------------------------------------------------
def cases(
    ledger: Ledger,
    *,
    namespace: str | None,
    group: str | None,
    text: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    if sort not in CASE_SORTS:
        raise BadRequestError(f"cannot sort by {sort!r}; choose one of {', '.join(CASE_SORTS)}")
    page = ledger.queries.list_cases(
        namespace=namespace or None,
        group=group or None,
        text=text or None,
        sort=sort,
        limit=_limit(limit, 500),
        cursor=cursor or None,
    )
    return {
        "filters": {"namespace": namespace, "group": group, "text": text, "sort": sort},
        "facets": facets(ledger),
        "items": [case_item(r) for r in page.items],
        "next_cursor": page.next_cursor,
    }


# -- Case -----------------------------------------------------------------------------------
def parse_columns(text: str | None) -> list[Field]:
    fields = []
    for name in filter(None, (c.strip() for c in (text or "").split(","))):
        fields.append(parse_field(name))
    if len(fields) > 20:
        raise BadRequestError("at most 20 columns")
    return fields


def parse_order(order_by: str | None) -> tuple[Field, bool] | None:
    if not order_by or not order_by.strip():
        return None
    name, _, way = order_by.strip().rpartition(" ")
    if way.lower() not in ("asc", "desc"):
        name, way = order_by.strip(), "asc"
    return parse_field(name.strip()), way.lower() == "desc"


def case(
    ledger: Ledger,
    key: str,
    *,
    where: str | None,
    order_by: str | None,
    columns: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    row = ledger.case_row(key)
    if sort not in EXECUTION_SORTS:
        raise BadRequestError(
            f"cannot sort by {sort!r}; choose one of {', '.join(EXECUTION_SORTS)}"
        )
    query = parse(where) if where and where.strip() else None
    fields = parse_columns(columns)
    order = parse_order(order_by)
    page = ledger.queries.list_executions(
        ExecutionFilter(case=row["case_id"]),
        sort=sort,
        limit=_limit(limit, 1000),
        cursor=cursor or None,
        summary=True,
        query=query,
        order=order,
    )
    names = [to_text_field(f) for f in fields]
    values = ledger.queries.values_of([r["id"] for r in page.items], fields) if fields else {}
    items = []
    for r in page.items:
        item = execution_item(r)
        found = values.get(r["id"], {})
        item["columns"] = {n: found.get(n, r.get(n)) for n in names}
        items.append(item)
    return {
        "case": case_item(row),
        "query": {"where": where, "order_by": order_by, "columns": names, "sort": sort},
        "items": items,
        "next_cursor": page.next_cursor,
    }


# -- Execution ------------------------------------------------------------------------------
def _files(refs: list[FileRef]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(f) for f in refs]


def execution(ledger: Ledger, ref: str) -> dict[str, Any]:
    row = ledger.execution_row(ref)
    record = ledger.record_of(row["id"])
    history = [
        {**presenters.event_public(e.position, e.event), "on": "execution"}
        for e in ledger.events.history(UUID(row["id"]))
    ]
    # The case's events about this execution (CanonicalChosen naming it, now or before).
    for e in ledger.events.history(UUID(row["case_id"])):
        event = presenters.event_public(e.position, e.event)
        if row["id"] in (
            str(event["payload"].get("execution")),
            str(event["payload"].get("previous")),
        ):
            history.append({**event, "on": "case"})
    history.sort(key=lambda h: h["position"])
    deltas = row.get("deltas") or {}
    metrics = sorted(record.metrics.items())
    verdicts = {k: v for k, v in record.tags.items() if k.startswith("reproduction")}
    reproduction = record.attributes.get("reproduction")
    return {
        "execution": {
            **execution_item(row),
            "recorded_at": row.get("recorded_at"),
            "importer": row.get("importer"),
        },
        "canonical": {
            "is_canonical": bool(row["is_canonical"]),
            "has_baseline": row.get("deltas") is not None,
            "deltas": deltas,
        },
        "code": msgspec.to_builtins(record.code) if record.code else {},
        "environment": msgspec.to_builtins(record.environment) if record.environment else {},
        "command": record.command,
        "params": msgspec.to_builtins(record.params),
        "config": msgspec.to_builtins(record.spec.resolved) if record.spec else {},
        "files": {
            "inputs": _files(record.inputs),
            "outputs": _files(record.outputs),
            "artifacts": _files(record.artifacts),
        },
        "steps": msgspec.to_builtins(record.steps),
        "logs": record.logs[-MAX_LOG_LINES:],
        "log_lines": len(record.logs),
        "charts": [charts.chart(name, points) for name, points in metrics[: charts.MAX_CHARTS]],
        "metric_count": len(metrics),
        "reproduces": record.reproduces,
        "verdicts": verdicts,
        "reproduction": msgspec.to_builtins(reproduction) if reproduction is not None else None,
        "tags": dict(record.tags),
        "attributes": msgspec.to_builtins(record.attributes),
        "missing": list(record.missing),
        "history": history,
    }


def metrics_full(ledger: Ledger, ref: str) -> dict[str, Any]:
    record = ledger.record_of(ledger.execution_row(ref)["id"])
    return {name: msgspec.to_builtins(points) for name, points in record.metrics.items()}


def record_of(ledger: Ledger, ref: str) -> tuple[str, ExecutionRecord]:
    row = ledger.execution_row(ref)
    return row["id"], ledger.record_of(row["id"])


# -- Compare --------------------------------------------------------------------------------
def split_ids(values: list[str]) -> list[str]:
    ids: list[str] = []
    for value in values:
        ids += [v.strip() for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(ids))


def compare(ledger: Ledger, ids: list[str]) -> dict[str, Any]:
    if len(ids) < 2:
        raise BadRequestError("pick at least two executions to compare (ids=a,b)")
    if len(ids) > MAX_COMPARE:
        raise BadRequestError(f"at most {MAX_COMPARE} executions at once (got {len(ids)})")
    rows = [ledger.execution_row(i) for i in ids]
    records = [ledger.record_of(r["id"]) for r in rows]
    base = records[0]
    n = len(records)
    table: dict[str, dict[str, list[Any]]] = {name: {} for name in SECTIONS}
    for i, other in enumerate(records[1:], start=1):
        comparison = compare_records(base, other, ledger.policies.for_record(other))
        for section in comparison.sections:
            for f in section.fields:
                values = table[section.name].setdefault(f.field, [None] * n)
                values[0] = f.a
                values[i] = f.b
    sections = []
    for name in SECTIONS:
        fields = []
        for field_name, values in sorted(table[name].items()):
            plain = {msgspec.json.encode(v) for v in values}
            fields.append({"field": field_name, "values": values, "differs": len(plain) > 1})
        fields.sort(key=lambda f: not f["differs"])
        changed = sum(1 for f in fields if f["differs"])
        sections.append({"name": name, "change_count": changed, "fields": fields})
    sections.sort(key=lambda s: s["change_count"] == 0)
    names = sorted({m for r in records for m in r.metrics})
    labels = [r["execution_id"] for r in rows]
    overlays = [
        charts.overlay(
            m, [(lab, rec.metrics.get(m, [])) for lab, rec in zip(labels, records, strict=True)]
        )
        for m in names[: charts.MAX_CHARTS]
    ]
    return {
        "executions": [execution_item(r) for r in rows],
        "sections": sections,
        "change_count": sum(s["change_count"] for s in sections),
        "charts": overlays,
    }


# -- File -----------------------------------------------------------------------------------
def file(ledger: Ledger, digest: str, depth: int) -> dict[str, Any] | None:
    graph = file_lineage(ledger.queries, digest, "both", depth)
    node = graph.nodes.get(digest)
    if node is None:
        return None
    public = graph.to_public()
    return {
        "sha256": digest,
        "uris": node["uris"],
        "size": node.get("size"),
        "depth": depth,
        "producers": graph.producers(digest),
        "consumers": graph.consumers(digest),
        "graph": public,
        "svg": svg(digest, public["nodes"], public["edges"]),
    }


# -- Status ---------------------------------------------------------------------------------
def status(ledger: Ledger) -> dict[str, Any]:
    """What GET /api/v1/status and `provledger status` compute, section by section; a section
    that cannot be computed (an unreachable archive) says why instead."""
    projections = ledger.runner.status()
    head = max((p.head for p in projections), default=ledger.events.max_position())
    counts = ledger.queries.counts()
    out: dict[str, Any] = {
        "ledger_id": ledger.ledger_id,
        "backend": str(getattr(ledger.events, "backend", "unknown")),
        "head": head,
        "lag": max((p.lag for p in projections), default=0),
        "projections": [
            {"name": p.name, "position": p.position, "head": p.head, "lag": p.lag}
            for p in projections
        ],
        "cases": counts["cases"],
        "executions": counts["executions"],
        "sections": {},
    }
    from ..cli import commands_archive, commands_capture, commands_status, commands_sync

    del commands_archive, commands_capture, commands_sync  # imported: they add their sections
    for name, build in commands_status.STATUS_SECTIONS.items():
        try:
            out["sections"][name] = msgspec.to_builtins(build(ledger))
        except Exception as e:  # a section's failure is shown, never a 500
            out["sections"][name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def record_json(record: ExecutionRecord) -> bytes:
    return msgspec.json.format(msgspec.json.encode(record_to_builtins(record)), indent=2)
