"""Schemathesis drives every operation in /openapi.json with generated input: never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from provledger.adapters.http.app import create_app
from provledger.adapters.http.tokens import token_store_for
from provledger.application.ledger import Ledger
from tests.support.api import record

TOKENS: dict[str, str] = {}


@pytest.fixture
def api_schema(ledger: Ledger) -> Iterator[Any]:
    tokens = token_store_for(ledger)
    TOKENS["write"] = tokens.create("write").secret
    ledger.record([])  # nothing; the app below records some executions to find
    app = create_app(ledger, tokens=tokens, follow=False, max_body_bytes=64 * 1024)
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {TOKENS['write']}"}
        client.post("/api/v1/executions", json=[record("run-1"), record("run-2", status="failed")])
        client.post(
            "/api/v1/executions",
            json=[record("run-1"), record("run-3", params={"dt": 1})],
            headers=headers,
        )
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_generated_request_gets_a_server_error(api_schema: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['write']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    calls = 0

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()
    assert calls >= 4 * len(operations)
