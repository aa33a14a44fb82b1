"""The API's pure pieces: tokens, scopes, the size limit, JobResponse and published documents."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from provledger.adapters.http.errors import ApiError, install_error_handlers
from provledger.adapters.http.limits import BodyLimitMiddleware
from provledger.adapters.http.routes.experiments import job_response
from provledger.adapters.http.tokens import (
    ANONYMOUS,
    MemoryTokenStore,
    Principal,
    TokenError,
    digest,
)
from provledger.application.publish import publishable
from provledger.domain.errors import ExecutionNotFoundError
from provledger.domain.record import ExecutionRecord, FileRef, Status


def test_a_write_token_may_read_and_a_read_token_may_not_write() -> None:
    assert Principal("1", "w", "write").can("read")
    assert not Principal("1", "r", "read").can("write")
    assert not ANONYMOUS.can("write")


def test_a_token_is_looked_up_by_its_secret_and_only_its_digest_is_kept() -> None:
    store = MemoryTokenStore()
    issued = store.create("read", name="ci")
    assert store.lookup(issued.secret) == issued.principal
    assert store.lookup(issued.secret + "x") is None
    assert issued.secret not in repr(store._by_hash)
    assert digest(issued.secret) in store._by_hash


def test_an_unknown_scope_is_refused_naming_the_choices() -> None:
    with pytest.raises(TokenError, match="read, write"):
        MemoryTokenStore().create("admin")


def test_a_revoked_token_no_longer_resolves() -> None:
    store = MemoryTokenStore()
    issued = store.create("write", name="temp")
    store.revoke("temp")
    assert store.lookup(issued.secret) is None
    with pytest.raises(TokenError):
        store.revoke("temp")


def _echo_app(limit: int) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    @app.get("/missing")
    def missing() -> None:
        raise ExecutionNotFoundError("no execution 'x'")

    @app.get("/teapot")
    def teapot() -> None:
        raise ApiError(409, "busy", "try later", {"n": 1})

    app.add_middleware(BodyLimitMiddleware, max_body_bytes=limit)
    return TestClient(app)


def test_bodies_under_the_limit_pass_and_over_it_are_413() -> None:
    client = _echo_app(64)
    assert client.post("/echo", json={"a": "b"}).json() == {"a": "b"}
    response = client.post("/echo", json={"a": "b" * 100})
    assert response.status_code == 413
    assert response.json()["error"]["details"]["limit_bytes"] == 64


def test_domain_errors_and_api_errors_share_one_shape() -> None:
    client = _echo_app(1024)
    missing = client.get("/missing")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "execution_not_found", "message": "no execution 'x'", "details": {}}
    }
    assert client.get("/teapot").json()["error"] == {
        "code": "busy",
        "message": "try later",
        "details": {"n": 1},
    }


def test_a_validation_error_names_the_field() -> None:
    response = _echo_app(1024).post("/echo", json={"a": 1})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("body.a:")


def _record(**fields: object) -> ExecutionRecord:
    base: dict[str, object] = {
        "execution_id": "e1",
        "case": "lucc",
        "status": Status.SUCCEEDED,
        "started": datetime(2026, 9, 22, tzinfo=UTC),
        "inputs": [FileRef(uri="in.zip", sha256="a" * 64)],
        "outputs": [FileRef(uri="out.tif", sha256="b" * 64, role="output")],
        "attributes": {"model_name": "lucc"},
        "logs": ["done"],
    }
    base.update(fields)
    return ExecutionRecord(**base)  # type: ignore[arg-type]


def test_job_response_maps_statuses_and_checksums_like_dissmodel() -> None:
    job = job_response(_record())
    assert (job.status, job.model_name, job.output_path) == ("completed", "lucc", "out.tif")
    assert (job.input_sha256, job.output_sha256) == ("a" * 64, "b" * 64)
    assert job_response(_record(status=Status.UNKNOWN)).status == "pending"
    assert job_response(_record(status=Status.INCOMPLETE)).status == "failed"


def test_the_published_document_is_deterministic_and_lists_checksums() -> None:
    a = msgspec.json.encode(publishable(_record()), order="sorted")
    b = msgspec.json.encode(publishable(_record()), order="sorted")
    assert a == b
    checksums = publishable(_record())["checksums"]
    assert checksums["files"] == {"in.zip": "a" * 64, "out.tif": "b" * 64}
    assert len(checksums["record_sha256"]) == 64
