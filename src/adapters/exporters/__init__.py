"""Exports of executions: W3C PROV-JSON, RO-Crate, Parquet (see docs/importers.md)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ...domain.record import ExecutionRecord, record_to_builtins


def publication_exports() -> dict[str, Callable[[ExecutionRecord, str], bytes]]:
    """What `publish` stores beside a published record: its PROV-JSON and RO-Crate metadata."""
    from .prov import to_prov
    from .rocrate import build_crate

    def prov(record: ExecutionRecord, execution_uuid: str) -> bytes:
        return msgspec.json.encode(to_prov(record, execution_uuid), order="sorted")

    def crate(record: ExecutionRecord, execution_uuid: str) -> bytes:
        record_json = msgspec.json.encode(record_to_builtins(record))
        return msgspec.json.encode(build_crate(record, execution_uuid, record_json), order="sorted")

    return {"prov.json": prov, "ro-crate-metadata.json": crate}
