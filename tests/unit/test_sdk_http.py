"""The SDK's server client against the HTTP contract (httpx MockTransport stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from provledger.sdk import HttpBackend, TrackingError, track


def _client(handler: object) -> httpx.Client:
    return httpx.Client(base_url="http://ledger.test", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_the_final_record_is_posted_once_with_the_bearer_token(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"created": 1})

    backend = HttpBackend(
        "http://ledger.test", "s3cret", spool=tmp_path / "spool", client=_client(handler)
    )
    with track(case="heat", backend=backend, capture_environment=False) as run:
        run.log_metric("loss", 0.5, step=1)
    assert len(seen) == 1
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/executions"
    assert request.headers["Authorization"] == "Bearer s3cret"
    body = json.loads(request.content)
    assert body["execution_id"] == run.run_id
    assert body["status"] == "succeeded"
    assert body["metrics"]["loss"][0]["value"] == 0.5
    assert list((tmp_path / "spool").glob("*.json")) == []


def test_a_refused_record_is_kept_in_the_spool_and_named(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "bad token"}})

    backend = HttpBackend("http://ledger.test", "x", spool=tmp_path, client=_client(handler))
    with (
        pytest.raises(TrackingError, match="bad token") as info,
        track(case="heat", backend=backend, capture_environment=False),
    ):
        pass
    kept = list(tmp_path.glob("*.record.json"))
    assert len(kept) == 1
    assert str(kept[0]) in str(info.value)


def test_spooled_records_are_resent_when_the_server_is_back(tmp_path: Path) -> None:
    up = {"ok": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if not up["ok"]:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, json={})

    backend = HttpBackend("http://ledger.test", None, spool=tmp_path, client=_client(handler))
    with (
        pytest.raises(TrackingError, match="not reachable"),
        track(case="heat", backend=backend, capture_environment=False),
    ):
        pass
    up["ok"] = True
    assert backend.resend() == 1
    assert list(tmp_path.glob("*.record.json")) == []


def test_a_server_url_without_a_scheme_is_refused() -> None:
    with pytest.raises(TrackingError, match="http:// or https://"):
        HttpBackend("ledger.test:8000")
