"""Helpers for the archive integration tests: read-model fingerprints, raw SQL edits."""

from __future__ import annotations

import hashlib
from typing import Any

from provledger.adapters.archive import S3Archive, raw_log_of
from provledger.application.ledger import Ledger
from tests.support.s3server import S3Server


def read_model_hashes(ledger: Ledger) -> dict[str, list[str]]:
    """A sha256 of every row of the cases and executions tables, in key order."""
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    out: dict[str, list[str]] = {}
    with datastore.transaction(commit=False) as c:
        for table, key in (("cases", "case_id"), ("executions", "id")):
            c.execute(f"SELECT * FROM {table} ORDER BY {key}")
            out[table] = [
                hashlib.sha256(repr(sorted(dict(r).items())).encode()).hexdigest()
                for r in c.fetchall()
            ]
    return out


def s3_archive(server: S3Server, bucket: str, prefix: str = "ledger") -> S3Archive:
    return S3Archive(bucket, prefix, endpoint_url=server.endpoint, region="us-east-1")


def execute(ledger: Ledger, statement: str, params: Any = ()) -> None:
    log = raw_log_of(ledger)
    with log.datastore.transaction(commit=True) as c:
        c.execute(log._sql(statement.replace("{table}", log.table)), params)
