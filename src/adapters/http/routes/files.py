"""`/api/v1/files/{sha256}`: which executions produced a file and which used it."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends

from ....application.lineage import file_lineage
from ..deps import LedgerDep, Reader, fresh_reads
from ..errors import ApiError
from ..schemas.executions import FilePublic

router = APIRouter(prefix="/files", tags=["files"], dependencies=[Depends(fresh_reads)])
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@router.get(
    "/{sha256}",
    summary="The executions that produced (output, artifact) and used (input) this file",
)
def get_file(sha256: str, ledger: LedgerDep, _: Reader) -> FilePublic:
    if not SHA256.fullmatch(sha256):
        raise ApiError(400, "bad_request", f"{sha256[:80]!r} is not a sha256 (64 hex digits)")
    digest = sha256.lower()
    graph = file_lineage(ledger.queries, digest, "both", 1)
    node = graph.nodes.get(digest)
    if node is None:
        raise ApiError(404, "file_not_found", f"no execution recorded a file with sha256 {digest}")
    return FilePublic(
        sha256=digest,
        uris=node["uris"],
        producers=graph.producers(digest),  # type: ignore[arg-type]
        consumers=graph.consumers(digest),  # type: ignore[arg-type]
    )
