"""Answering with a record exactly as recorded; from the archive when the read model lacks it."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Response

from ...application.ledger import AmbiguousReferenceError
from ...domain.errors import ExecutionNotFoundError
from .deps import Services

RECORD_SCHEMA_REF = "#/components/schemas/ExecutionRecord"
RECORD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The ExecutionRecord (see docs/record-format.md)",
        "content": {"application/json": {"schema": {"$ref": RECORD_SCHEMA_REF}}},
        "headers": {
            "X-Provledger-Source": {
                "description": "ledger, or archive when answered from archived record.json",
                "schema": {"type": "string"},
            }
        },
    }
}


def archived_record_key(execution_id: str) -> str:
    return f"experiments/{execution_id}/record.json"


def record_response(services: Services, ref: str, case: str | None = None) -> Response:
    ledger = services.ledger
    try:
        if case is None:
            record = ledger.record_of(ref)
        else:
            row = ledger.execution_row(ref, case_id=ledger.case_row(case)["case_id"])
            record = ledger.record_of(row["id"])
    except ExecutionNotFoundError as missing:
        data = _from_archive(services, ref, missing)
        return Response(
            data, media_type="application/json", headers={"X-Provledger-Source": "archive"}
        )
    return Response(
        msgspec.json.encode(record),
        media_type="application/json",
        headers={"X-Provledger-Source": "ledger"},
    )


def _from_archive(services: Services, ref: str, missing: ExecutionNotFoundError) -> bytes:
    """A lagging or rebuilding read model must not hide an archived record."""
    archive = services.archive
    if (
        isinstance(missing, AmbiguousReferenceError)
        or archive is None
        or "/" in ref
        or ".." in ref
        or not ref.strip()
    ):
        raise missing
    data = archive.get(archived_record_key(ref))
    if data is None:
        raise missing
    try:
        msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise ExecutionNotFoundError(
            f"no execution {ref!r} in the ledger, and its archived record is not valid JSON"
        ) from e
    return data
