"""MLflow's artifact service (`/api/2.0/mlflow-artifacts/`): a run's artifacts stored
content-addressed by sha256 in the archive (`files/sha256/…`) and listed on the run
(mlflow_api.py has the tracking calls)."""

from __future__ import annotations

import hashlib
import posixpath
import tempfile
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ....domain.record import FileRef
from ...capture.keeping import file_key
from ..deps import Reader, ServicesDep, Writer
from .mlflow_api import ARTIFACTS, _json, _router, _tracking
from .mlflow_shapes import MlflowError, invalid, not_found


def _artifact_path(path: str) -> tuple[str, str, str]:
    """`<experiment>/<run>/artifacts/<relative>` -> (experiment, run, relative)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[2] != ARTIFACTS or any(p in (".", "..") for p in parts):
        raise invalid(f"not an artifact path of a run: {path!r}")
    return parts[0], parts[1], "/".join(parts[3:])


def artifacts_router(prefix: str) -> APIRouter:
    router = _router(prefix)

    @router.put("/artifacts/{path:path}", summary="MLflow: upload an artifact (by sha256)")
    async def upload(
        path: str, request: Request, services: ServicesDep, principal: Writer
    ) -> Response:
        _experiment, run_id, relative = _artifact_path(path)
        if not relative:
            raise invalid("an artifact needs a file name")
        archive = services.archive
        if archive is None:
            raise MlflowError(
                400, "FEATURE_DISABLED", "this server has no archive to keep artifacts in"
            )
        tracking = _tracking(services)
        await run_in_threadpool(tracking.case_of, run_id)
        limit = services.max_file_bytes
        digest, size = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(prefix="provledger-mlflow-") as spool:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise MlflowError(
                        413, "INVALID_PARAMETER_VALUE", f"the artifact is over {limit} bytes"
                    )
                digest.update(chunk)
                spool.write(chunk)
            spool.flush()
            sha256 = digest.hexdigest()
            key = file_key(sha256)
            if not await run_in_threadpool(archive.exists, key):
                await run_in_threadpool(archive.put_path, key, FilePath(spool.name))
        ref = FileRef(uri=f"{ARTIFACTS}/{relative}", sha256=sha256, size=size, role="artifact")

        def write() -> None:
            tracking.record(request, principal, tracking.snapshot(run_id, artifacts=[ref]))

        await run_in_threadpool(write)
        return _json({})

    @router.get("/artifacts/{path:path}", summary="MLflow: download an artifact")
    async def download(path: str, services: ServicesDep, _: Reader) -> Response:
        _experiment, run_id, relative = _artifact_path(path)
        tracking = _tracking(services)
        execution = await run_in_threadpool(tracking.execution, run_id)
        wanted = f"{ARTIFACTS}/{relative}"
        ref = next((a for a in execution.record.artifacts if a.uri == wanted), None)
        if ref is None or ref.sha256 is None or services.archive is None:
            raise not_found(f"no artifact {relative!r} in run {run_id}")
        chunks = await run_in_threadpool(services.archive.chunks, file_key(ref.sha256))
        if chunks is None:
            raise not_found(f"the bytes of artifact {relative!r} are not in the archive")
        return StreamingResponse(chunks, media_type="application/octet-stream")

    @router.get("/artifacts", summary="MLflow: list a run's artifacts under a path")
    def list_artifacts(request: Request, services: ServicesDep, _: Reader) -> Response:
        path = request.query_params.get("path") or ""
        _experiment, run_id, relative = _artifact_path(path)
        execution = _tracking(services).execution(run_id)
        base = f"{ARTIFACTS}/{relative}".rstrip("/") + "/"
        files: dict[str, dict[str, Any]] = {}
        for ref in execution.record.artifacts:
            if not ref.uri.startswith(base):
                continue
            rest = ref.uri[len(base) :]
            head, sep, _tail = rest.partition("/")
            name = posixpath.join(relative, head) if relative else head
            if sep:
                files.setdefault(head, {"path": name, "is_dir": True})
            else:
                files[head] = {"path": name, "is_dir": False, "file_size": ref.size or 0}
        return _json({"files": [files[k] for k in sorted(files)]})

    @router.api_route(
        "/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False
    )
    def not_kept(rest: str) -> Response:
        raise MlflowError(
            404, "ENDPOINT_NOT_FOUND", f"provledger does not answer the MLflow endpoint {rest!r}"
        )

    return router
