"""Reading the ledger over HTTP, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provledger.application.ledger import Ledger
from tests.support.api import Api, MemoryArchive, record, running_api


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger) as api:
        response = api.post(
            "/api/v1/executions",
            [
                record("run-1", status="failed", started="2026-01-01T09:00:00+00:00"),
                record("run-2", started="2026-01-02T09:00:00+00:00", tags={"campaign": "a"}),
                record(
                    "run-3",
                    started="2026-01-03T09:00:00+00:00",
                    params={"dt": 0.25, "compiler": "intel"},
                ),
                record("run-9", case="climate/river", group="rivers"),
            ],
        )
        assert response.status_code == 201, response.text
        yield api


def test_cases_are_listed_with_counts_and_canonical(api: Api) -> None:
    page = api.get("/api/v1/cases").json()
    ocean = next(c for c in page["items"] if c["key"] == "climate/ocean")
    assert ocean["canonical_execution_id"] == "run-2"
    assert ocean["counts"]["executions"] == 3
    assert ocean["counts"]["failed"] == 1


def test_cases_filter_by_group_and_text(api: Api) -> None:
    assert [c["name"] for c in api.get("/api/v1/cases?group=rivers").json()["items"]] == ["river"]
    assert [c["name"] for c in api.get("/api/v1/cases?text=OCE").json()["items"]] == ["ocean"]


def test_case_pages_follow_a_stable_cursor(api: Api) -> None:
    first = api.get("/api/v1/cases?limit=1&sort=-name").json()
    second = api.get(f"/api/v1/cases?limit=1&sort=-name&cursor={first['next_cursor']}").json()
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["river", "ocean"]
    assert second["next_cursor"] is None


def test_a_case_by_namespace_and_name_nests_its_executions(api: Api) -> None:
    case = api.get("/api/v1/cases/climate/ocean").json()
    by_id = {e["execution_id"]: e for e in case["executions"]}
    assert by_id["run-2"]["is_canonical"] is True
    assert by_id["run-3"]["change_count"] == 2
    assert api.get(f"/api/v1/cases/{case['id']}").json()["key"] == "climate/ocean"


def test_executions_filter_by_status_canonical_time_tag_and_param(api: Api) -> None:
    def ids(query: str) -> list[str]:
        response = api.get(f"/api/v1/executions?{query}")
        assert response.status_code == 200, response.text
        return [e["execution_id"] for e in response.json()["items"]]

    assert ids("status=failed") == ["run-1"]
    assert ids("canonical=true&case=climate/ocean") == ["run-2"]
    assert ids("started_after=2026-01-02T00:00:00%2B00:00&case=climate/ocean") == [
        "run-2",
        "run-3",
    ]
    assert ids("started_before=2026-01-02T00:00:00%2B00:00&case=climate/ocean") == ["run-1"]
    assert ids("tag=campaign=a") == ["run-2"]
    assert ids("tag.campaign=a") == ["run-2"]
    assert ids("param.compiler=intel") == ["run-3"]
    assert ids("group=rivers") == ["run-9"]
    assert ids("sort=-started&limit=2&case=climate/ocean") == ["run-3", "run-2"]


def test_an_execution_by_external_id_has_canonical_flag_and_deltas(api: Api) -> None:
    body = api.get("/api/v1/executions/run-3").json()
    assert body["is_canonical"] is False
    assert body["change_count"] == 2
    assert body["deltas"]["params.compiler"] == {"canonical": "gnu", "current": "intel"}
    assert api.get(f"/api/v1/executions/{body['id']}").json()["execution_id"] == "run-3"


def test_the_record_comes_back_exactly_as_recorded(api: Api) -> None:
    body = api.get("/api/v1/executions/run-2/record")
    assert body.headers["X-Provledger-Source"] == "ledger"
    assert body.json()["tags"] == {"campaign": "a"}
    assert body.json()["params"] == {"dt": 0.5, "compiler": "gnu"}


def test_history_lists_events_with_positions_and_times(api: Api) -> None:
    items = api.get("/api/v1/executions/run-2/history").json()["items"]
    recorded = next(i for i in items if i["type"] == "ExecutionRecorded")
    assert recorded["position"] > 0
    assert recorded["actor"].startswith("token:")
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)


def test_history_includes_the_canonical_choices_naming_the_execution(api: Api) -> None:
    api.put("/api/v1/cases/climate/ocean/canonical", {"execution_id": "run-3", "reason": "x"})
    for execution, chosen in (("run-3", ["run-3"]), ("run-2", ["run-2", "run-3"])):
        items = api.get(f"/api/v1/executions/{execution}/history").json()["items"]
        canonical = [i["payload"] for i in items if i["type"] == "CanonicalChosen"]
        assert [c["execution_id"] for c in canonical] == chosen
        assert all(i["correlation_id"] for i in items)


def test_diff_compares_two_executions(api: Api) -> None:
    body = api.get("/api/v1/executions/run-2/diff/run-3").json()
    assert body["change_count"] == 3  # params dt and compiler, the start time
    assert body["deltas"]["params.dt"] == {"canonical": 0.5, "current": 0.25}
    params = next(s for s in body["sections"] if s["name"] == "params")
    assert params["changes"][0] == {"field": "compiler", "a": "gnu", "b": "intel"}


def test_status_reports_event_count_positions_and_lag(api: Api) -> None:
    body = api.get("/api/v1/status").json()
    assert body["event_count"] >= 6
    assert body["lag"] == 0
    assert {p["name"] for p in body["projections"]} == {"cases", "executions", "search"}
    assert body["executions"] == 4


def test_dissmodel_job_alias_answers_in_jobresponse_shape(api: Api) -> None:
    job = api.get("/job/run-2").json()
    assert job["job_id"] == job["experiment_id"] == "run-2"
    assert job["status"] == "completed"
    assert api.get("/experiments/run-2/record").json()["execution_id"] == "run-2"


def test_an_unknown_execution_is_404_in_the_error_shape(api: Api) -> None:
    response = api.get("/api/v1/executions/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "execution_not_found"
    assert "nope" in response.json()["error"]["message"]


def test_the_record_falls_back_to_the_archive_when_the_read_model_lacks_it(
    ledger: Ledger,
) -> None:
    archive = MemoryArchive()
    archive.put("experiments/lost-1/record.json", b'{"execution_id": "lost-1", "case": "c"}')
    with running_api(ledger, archive=archive) as api:
        response = api.get("/api/v1/executions/lost-1/record")
        assert response.status_code == 200
        assert response.headers["X-Provledger-Source"] == "archive"
        assert response.json() == {"execution_id": "lost-1", "case": "c"}
        assert api.get("/api/v1/executions/other/record").status_code == 404
