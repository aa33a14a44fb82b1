"""The ledger as Parquet tables (cases, executions, params, metrics, files) for DuckDB and
pandas. params, metrics and files join executions on `id`; executions join cases on `case_id`.

Streams: read models are paged and rows written in row groups, so memory stays flat.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from ...application.ledger import Ledger
from ...domain.execution import Execution
from ...projections.search_tables import FILE_LISTS, typed

TS = pa.timestamp("us", tz="UTC")
PAGE = 1000
ROW_GROUP = 50_000

CASES = pa.schema(
    [
        ("case_id", pa.string()),
        ("namespace", pa.string()),
        ("name", pa.string()),
        ("group", pa.string()),
        ("canonical_id", pa.string()),
        ("canonical_execution_id", pa.string()),
        ("canonical_reason", pa.string()),
        ("n_executions", pa.int64()),
        ("n_succeeded", pa.int64()),
        ("n_failed", pa.int64()),
        ("n_incomplete", pa.int64()),
        ("n_running", pa.int64()),
        ("n_cancelled", pa.int64()),
        ("n_unknown", pa.int64()),
        ("opened_at", TS),
    ]
)
EXECUTIONS = pa.schema(
    [
        ("id", pa.string()),
        ("execution_id", pa.string()),
        ("case_id", pa.string()),
        ("namespace", pa.string()),
        ("case_name", pa.string()),
        ("group", pa.string()),
        ("status", pa.string()),
        ("started", TS),
        ("ended", TS),
        ("recorded_at", TS),
        ("is_canonical", pa.bool_()),
        ("change_count", pa.int64()),
        ("importer", pa.string()),
        ("output_sha256", pa.string()),
        ("spec_sha256", pa.string()),
        ("code_repository", pa.string()),
        ("code_commit", pa.string()),
        ("code_tag", pa.string()),
        ("code_branch", pa.string()),
        ("code_version", pa.string()),
        ("machine", pa.string()),
        ("user", pa.string()),
        ("missing", pa.list_(pa.string())),
        ("tags_json", pa.string()),
        ("deltas_json", pa.string()),
    ]
)
PARAMS = pa.schema(
    [
        ("id", pa.string()),
        ("execution_id", pa.string()),
        ("case_id", pa.string()),
        ("name", pa.string()),
        ("value", pa.string()),
        ("value_number", pa.float64()),
    ]
)
FILES = pa.schema(
    [
        ("id", pa.string()),
        ("execution_id", pa.string()),
        ("case_id", pa.string()),
        ("direction", pa.string()),  # input, output, artifact
        ("uri", pa.string()),
        ("sha256", pa.string()),
        ("size", pa.int64()),
        ("role", pa.string()),
    ]
)
METRICS = pa.schema(
    [
        ("id", pa.string()),
        ("execution_id", pa.string()),
        ("case_id", pa.string()),
        ("name", pa.string()),
        ("step", pa.int64()),
        ("value", pa.float64()),
        ("timestamp", TS),
    ]
)


@dataclass
class ExportCounts:
    cases: int = 0
    executions: int = 0
    params: int = 0
    metrics: int = 0
    files: int = 0


class _Table:
    """Buffered rows written as row groups to `<dir>/<name>.parquet` (via a temp file)."""

    def __init__(self, directory: Path, name: str, schema: pa.Schema) -> None:
        self.target = directory / f"{name}.parquet"
        self.tmp = directory / f".{name}.parquet.tmp"
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        self.count = 0
        self.writer = pq.ParquetWriter(self.tmp, schema)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()
        os.replace(self.tmp, self.target)


def _ts(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _json(value: Any) -> str | None:
    return msgspec.json.encode(value, order="sorted").decode() if value else None


def _pages(ledger: Ledger, kind: str) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        if kind == "cases":
            page = ledger.queries.list_cases(limit=PAGE, cursor=cursor)
        else:
            page = ledger.queries.list_executions(sort="recorded", limit=PAGE, cursor=cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def export_parquet(ledger: Ledger, directory: Path) -> ExportCounts:
    """Write cases, executions, params, metrics and files tables into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "cases": _Table(directory, "cases", CASES),
        "executions": _Table(directory, "executions", EXECUTIONS),
        "params": _Table(directory, "params", PARAMS),
        "metrics": _Table(directory, "metrics", METRICS),
        "files": _Table(directory, "files", FILES),
    }
    for row in _pages(ledger, "cases"):
        tables["cases"].add(
            {
                **{k: row.get(k) for k in CASES.names if k in row},
                "group": row.get("grp"),
                "canonical_id": row.get("canonical"),
                "opened_at": _ts(row.get("opened_at")),
            }
        )
    for row in _pages(ledger, "executions"):
        _execution_rows(ledger, row, tables)
    for table in tables.values():
        table.close()
    names = ("cases", "executions", "params", "metrics", "files")
    return ExportCounts(*(tables[n].count for n in names))


def _execution_rows(ledger: Ledger, row: dict[str, Any], tables: dict[str, _Table]) -> None:
    aggregate = ledger.events.get(UUID(row["id"]))
    if not isinstance(aggregate, Execution):
        return
    record = aggregate.record
    code, env = record.code, record.environment
    keys = {"id": row["id"], "execution_id": row["execution_id"], "case_id": row["case_id"]}
    tables["executions"].add(
        {
            **keys,
            "namespace": row["namespace"],
            "case_name": row["case_name"],
            "group": row.get("grp"),
            "status": row["status"],
            "started": record.started,
            "ended": record.ended,
            "recorded_at": _ts(row.get("recorded_at")),
            "is_canonical": bool(row.get("is_canonical")),
            "change_count": row.get("change_count") or 0,
            "importer": row.get("importer"),
            "output_sha256": row.get("output_sha256"),
            "spec_sha256": record.spec.sha256 if record.spec else None,
            "code_repository": code.repository if code else None,
            "code_commit": code.commit if code else None,
            "code_tag": code.tag if code else None,
            "code_branch": code.branch if code else None,
            "code_version": code.version if code else None,
            "machine": env.machine if env else None,
            "user": env.user if env else None,
            "missing": list(record.missing),
            "tags_json": _json(row.get("tags")),
            "deltas_json": _json(row.get("deltas")),
        }
    )
    for name, value in sorted(record.params.items()):
        _, number = typed(value)  # a number, or a string that reads as one ("0.5")
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        tables["params"].add({**keys, "name": name, "value": text, "value_number": number})
    for direction, attribute in FILE_LISTS:
        for ref in getattr(record, attribute):
            tables["files"].add(
                {
                    **keys,
                    "direction": direction,
                    "uri": ref.uri,
                    "sha256": ref.sha256,
                    "size": ref.size,
                    "role": ref.role,
                }
            )
    for name, points in sorted(record.metrics.items()):
        for p in points:
            tables["metrics"].add(
                {**keys, "name": name, "step": p.step, "value": p.value, "timestamp": p.timestamp}
            )
