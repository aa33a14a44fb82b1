"""Tokens, scopes, public reads, size limits and the one error shape, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provledger.adapters.http.tokens import token_store_for
from provledger.application.ledger import Ledger
from tests.support.api import Api, record, running_api


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger, max_body_bytes=4096) as api:
        api.post("/api/v1/executions", record("run-1"))
        yield api


def test_reads_without_a_token_are_401_with_a_hint(api: Api) -> None:
    response = api.client.get("/api/v1/executions")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "token create" in response.json()["error"]["message"]


def test_an_unknown_token_is_401(api: Api) -> None:
    response = api.get("/api/v1/cases", headers={"Authorization": "Bearer plt_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_malformed_authorization_header_is_401(api: Api) -> None:
    response = api.get("/api/v1/cases", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


def test_a_read_token_cannot_write(api: Api) -> None:
    response = api.post("/api/v1/executions", record("run-2"), headers=api.read)
    assert response.status_code == 403
    assert "write scope is needed" in response.json()["error"]["message"]


def test_a_write_token_can_read(api: Api) -> None:
    assert api.get("/api/v1/cases", headers=api.write).status_code == 200


def test_dissmodel_clients_may_send_the_token_as_x_api_key(api: Api) -> None:
    response = api.get("/job/run-1", headers={"X-API-Key": api.read_token})
    assert response.status_code == 200


def test_a_revoked_token_is_refused(ledger: Ledger) -> None:
    tokens = token_store_for(ledger)
    with running_api(ledger, tokens=tokens) as api:
        issued = tokens.create("read", name="temp")
        headers = {"Authorization": f"Bearer {issued.secret}"}
        assert api.get("/api/v1/cases", headers=headers).status_code == 200
        tokens.revoke("temp")
        assert api.get("/api/v1/cases", headers=headers).status_code == 401


def test_public_read_serves_reads_without_a_token_but_not_writes(ledger: Ledger) -> None:
    with running_api(ledger, public_read=True) as api:
        assert api.client.get("/api/v1/cases").status_code == 200
        assert api.client.get("/api/v1/tokens/current").json()["name"] == "anonymous"
        assert api.client.post("/api/v1/executions", json=record("x")).status_code == 401


def test_tokens_are_stored_hashed(ledger: Ledger) -> None:
    tokens = token_store_for(ledger)
    issued = tokens.create("write", name="hashed")
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT * FROM api_tokens")
        stored = " ".join(str(v) for row in c.fetchall() for v in dict(row).values())
    assert issued.secret not in stored


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    big = [record(f"r{i}", logs=["x" * 100]) for i in range(100)]
    response = api.post("/api/v1/executions", big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert api.get("/api/v1/status").json()["executions"] == 1


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    response = api.client.post(
        "/api/v1/executions",
        content=chunks(),
        headers={**api.write, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_a_misspelt_filter_is_400_naming_it(api: Api) -> None:
    response = api.get("/api/v1/executions?stauts=failed")
    assert response.status_code == 400
    assert "'stauts'" in response.json()["error"]["message"]


def test_a_bad_status_or_date_filter_is_422(api: Api) -> None:
    assert api.get("/api/v1/executions?status=great").status_code == 422
    response = api.get("/api/v1/executions?started_after=yesterday")
    assert response.status_code == 422
    assert "started_after" in response.json()["error"]["message"]


def test_a_bad_cursor_is_400(api: Api) -> None:
    response = api.get("/api/v1/executions?cursor=garbage")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_position_beyond_the_log_is_400(api: Api) -> None:
    response = api.get("/api/v1/executions?min_position=999999")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "position_ahead"
    header = api.get("/api/v1/cases", headers={**api.read, "X-Provledger-Min-Position": "999999"})
    assert header.status_code == 400


def test_an_ambiguous_execution_id_is_409_and_case_resolves_it(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1", case="climate/other"))
    response = api.get("/api/v1/executions/run-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ambiguous_reference"
    scoped = api.get("/api/v1/executions/run-1?case=climate/other")
    assert scoped.json()["case"] == "climate/other"


def test_a_json_body_without_content_type_is_415(api: Api) -> None:
    response = api.client.put(
        "/api/v1/cases/climate/ocean/canonical",
        content=b'{"execution_id": "run-1", "reason": "r"}',
        headers=api.write,
    )
    assert response.status_code == 415


def test_unknown_routes_are_404_in_the_error_shape(api: Api) -> None:
    response = api.get("/api/v1/nothing")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_openapi_uses_snake_case_and_documents_the_record(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "ExecutionRecord" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for name, component in schema["components"]["schemas"].items():
        for prop in component.get("properties", {}):
            assert prop == prop.lower(), f"{name}.{prop} is not snake_case"
