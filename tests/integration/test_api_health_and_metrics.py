"""/healthz, /readyz and /metrics on both backends, through the real app."""

from __future__ import annotations

from provledger.adapters.archive import open_archive
from provledger.adapters.http.observability import ObservabilityOptions
from provledger.application.ledger import Ledger
from tests.support.api import MemoryArchive, record, running_api
from tests.unit.records import make_record


def test_healthz_and_readyz_answer_without_a_token_when_all_is_well(ledger: Ledger) -> None:
    options = ObservabilityOptions(archive_configured=True)
    with running_api(ledger, MemoryArchive(), observability=options) as api:
        assert api.client.get("/healthz").json() == {"status": "ok"}
        ready = api.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "projection_lag": 0, "archive": "ok"}


def test_readyz_is_503_with_the_reason_when_the_projections_lag_too_far(ledger: Ledger) -> None:
    options = ObservabilityOptions(ready_max_lag=2)
    with running_api(ledger, observability=options, follow=False) as api:
        ledger.catch_up()
        ledger.record([make_record(f"r{i}", minutes=i) for i in range(3)], catch_up=False)
        ready = api.client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not ready"
        assert body["reasons"][0].startswith("projections are ")
        assert body["reasons"][0].endswith("events behind the log (more than 2)")


def test_readyz_is_503_naming_the_archive_when_it_cannot_be_reached(ledger: Ledger) -> None:
    unreachable = open_archive("s3://nowhere/p", endpoint_url="http://127.0.0.1:9")
    options = ObservabilityOptions(archive_configured=True)
    with running_api(ledger, unreachable, observability=options) as api:
        ready = api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["reasons"][0].startswith("archive ")


def test_metrics_count_requests_by_route_template_and_read_the_ledger(ledger: Ledger) -> None:
    with running_api(ledger, MemoryArchive()) as api:
        created = api.post("/api/v1/executions", record("m-1"))
        assert created.status_code == 201, created.text
        for ref in ("m-1", "nope-1", "nope-2"):
            api.get(f"/api/v1/executions/{ref}")
        text = api.client.get("/metrics").text  # no token
    route = 'route="/api/v1/executions/{execution}"'
    assert f'provledger_http_requests_total{{method="GET",{route},status="404"}}' in text
    assert "nope-1" not in text  # ids never become labels
    assert f'provledger_http_request_duration_seconds_count{{method="GET",{route}}}' in text
    assert "provledger_executions_recorded_total 1.0" in text
    assert 'provledger_projection_lag_events{projection="executions"} 0.0' in text
    assert "provledger_persister_backlog_events" in text
    assert "provledger_archive_backlog_events" in text
    assert "provledger_database_up 1.0" in text


def test_metrics_need_a_read_token_when_the_setting_says_so(ledger: Ledger) -> None:
    options = ObservabilityOptions(metrics_need_token=True)
    with running_api(ledger, observability=options) as api:
        assert api.client.get("/metrics").status_code == 401
        assert api.get("/metrics").status_code == 200


def test_a_write_carries_the_callers_request_id_into_its_events_and_the_response(
    ledger: Ledger,
) -> None:
    with running_api(ledger) as api:
        headers = {**api.write, "X-Request-ID": "req-42"}
        created = api.post("/api/v1/executions", record("c-1"), headers=headers)
        assert created.headers["x-request-id"] == "req-42"
        generated = api.client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 36
    history = ledger.history("c-1")
    assert {e.event.correlation_id for e in history} == {"req-42"}
