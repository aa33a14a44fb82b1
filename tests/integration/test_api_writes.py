"""Appending to the ledger over HTTP: record, canonical, reproduce, publish; on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.ledger import Ledger
from provledger.application.publish import publish
from tests.support.api import Api, MemoryArchive, dissmodel_record, record, running_api


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger) as api:
        yield api


def test_one_record_is_created_and_readable_at_the_returned_position(api: Api) -> None:
    response = api.post("/api/v1/executions", record("run-1"))
    assert response.status_code == 201
    body = response.json()
    assert body["items"][0]["outcome"] == "created"
    assert body["items"][0]["canonical"] is True
    position = body["position"]
    read = api.get(f"/api/v1/executions/run-1?min_position={position}")
    assert read.status_code == 200
    assert read.json()["is_canonical"] is True


def test_a_batch_reports_created_duplicate_conflict_and_invalid_per_item(api: Api) -> None:
    api.post("/api/v1/executions", [record("run-1"), record("run-2")])
    response = api.post(
        "/api/v1/executions",
        [record("run-1"), record("run-2", status="failed"), {"case": "x"}, record("run-3")],
    )
    assert response.status_code == 201
    outcomes = [(i["index"], i["outcome"]) for i in response.json()["items"]]
    assert outcomes == [(0, "duplicate"), (1, "conflict"), (2, "invalid"), (3, "created")]
    conflict = response.json()["items"][1]
    assert conflict["conflicting_fields"] == ["status"]
    assert api.get("/api/v1/executions/run-2").json()["status"] == "succeeded"


def test_a_duplicate_only_batch_answers_200(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1"))
    again = api.post("/api/v1/executions", record("run-1"))
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1


def test_a_single_conflicting_record_is_409_and_changes_nothing(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1"))
    response = api.post("/api/v1/executions", record("run-1", params={"dt": 9}))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "record_conflict"
    assert api.get("/api/v1/executions/run-1/record").json()["params"]["dt"] == 0.5


def test_all_invalid_records_are_422_naming_each_problem(api: Api) -> None:
    response = api.post("/api/v1/executions", [{"execution_id": "x"}, {"case": "y"}])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_record"
    assert [i["index"] for i in error["details"]["items"]] == [0, 1]
    assert "case" in error["details"]["items"][0]["error"]["message"]


def test_dissmodel_records_are_accepted_and_served_as_jobs(api: Api) -> None:
    response = api.post("/api/v1/executions?format=dissmodel", dissmodel_record("exp-1"))
    assert response.status_code == 201, response.text
    job = api.get("/job/exp-1").json()
    assert job["status"] == "completed"
    assert job["model_name"] == "lucc"
    assert job["output_path"] == "outputs/result.tif"
    assert job["output_sha256"] == "b" * 64
    assert job["input_sha256"] == "a" * 64
    assert job["logs"] == ["Loaded", "Saved"]


def test_malformed_json_is_400_and_an_empty_body_too(api: Api) -> None:
    bad = api.client.post(
        "/api/v1/executions",
        content=b"{nope",
        headers={**api.write, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"
    empty = api.client.post("/api/v1/executions", content=b"", headers=api.write)
    assert empty.status_code == 400


def test_canonical_can_be_chosen_by_hand_with_a_reason(api: Api) -> None:
    api.post("/api/v1/executions", [record("run-1"), record("run-2", params={"dt": 1})])
    response = api.put(
        "/api/v1/cases/climate/ocean/canonical", {"execution_id": "run-2", "reason": "finer"}
    )
    assert response.status_code == 200, response.text
    position = response.json()["position"]
    case = api.get(f"/api/v1/cases/climate/ocean?min_position={position}").json()
    assert case["canonical_execution_id"] == "run-2"
    deltas = api.get("/api/v1/executions/run-1").json()["deltas"]
    assert deltas["params.dt"] == {"canonical": 1, "current": 0.5}


def test_a_failed_execution_cannot_be_made_canonical(api: Api) -> None:
    api.post("/api/v1/executions", [record("run-1"), record("run-2", status="failed")])
    response = api.put(
        "/api/v1/cases/climate/ocean/canonical", {"execution_id": "run-2", "reason": "why not"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "canonical_rule"


def test_a_canonical_choice_without_a_reason_is_422(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1"))
    response = api.put("/api/v1/cases/climate/ocean/canonical", {"execution_id": "run-1"})
    assert response.status_code == 422
    assert "reason" in response.json()["error"]["message"]


def test_reproduce_returns_the_pinned_spec_and_inputs_and_records_the_request(api: Api) -> None:
    api.post(
        "/api/v1/executions",
        record(
            "run-1",
            spec={"format": "toml", "resolved": {"grid": {"nx": 64}}},
            inputs=[{"uri": "s3://b/in.nc", "sha256": "c" * 64}],
        ),
    )
    response = api.post("/experiments/run-1/reproduce", {"note": "check"})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["spec"]["resolved"] == {"grid": {"nx": 64}}
    assert plan["inputs"][0]["uri"] == "s3://b/in.nc"
    assert plan["inputs"][0]["sha256"] == "c" * 64
    assert plan["record_template"]["reproduces"] == "run-1"
    history = api.get("/api/v1/executions/run-1/history").json()["items"]
    assert history[-1]["type"] == "ReproductionRequested"
    assert history[-1]["payload"]["note"] == "check"


def test_publish_returns_the_record_with_checksums_once(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1", outputs=[{"uri": "o.nc", "sha256": "d" * 64}]))
    first = api.post("/experiments/run-1/publish")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["location"] == "ledger:published/climate/ocean/run-1"
    assert body["document"]["checksums"]["output_sha256"] == "d" * 64
    assert body["already_published"] is False
    again = api.post("/api/v1/experiments/run-1/publish").json()
    assert again["already_published"] is True
    assert again["sha256"] == body["sha256"]
    assert again["position"] == body["position"]


def test_publish_writes_the_document_to_the_archive(ledger: Ledger) -> None:
    archive = MemoryArchive()
    with running_api(ledger, archive=archive) as api:
        api.post("/api/v1/executions", record("run-1"))
        body = api.post("/experiments/run-1/publish").json()
    assert body["location"] == "memory://archive/published/climate/ocean/run-1.json"
    stored = archive.objects["published/climate/ocean/run-1.json"]
    assert msgspec.json.decode(stored) == body["document"]


def test_the_same_execution_id_in_two_cases_publishes_to_two_keys(ledger: Ledger) -> None:
    archive = MemoryArchive()
    with running_api(ledger, archive=archive) as api:
        api.post("/api/v1/executions", [record("run-3"), record("run-3", case="other/box")])
        assert api.post("/experiments/run-3/publish").status_code == 409  # ambiguous
        first = api.post("/experiments/run-3/publish?case=climate/ocean")
        second = api.post("/api/v1/experiments/run-3/publish?case=other/box")
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["already_published"] is False
    assert publish(ledger, "other/box/run-3", archive).already_published
    assert "published/climate/ocean/run-3.json" in archive.objects
    assert "published/other/box/run-3.json" in archive.objects


def test_a_document_published_under_the_old_key_stays_published_there(ledger: Ledger) -> None:
    archive = MemoryArchive()
    with running_api(ledger, archive=archive) as api:
        api.post("/api/v1/executions", record("run-1"))
        body = api.post("/experiments/run-1/publish").json()
    # As a ledger that published before keys carried the case: the old object and event.
    old = "memory://archive/published/run-1.json"
    archive.objects.clear()
    archive.put("published/run-1.json", msgspec.json.encode(body["document"], order="sorted"))
    execution = ledger.execution("run-1")
    execution.publish(old, body["sha256"])
    ledger.events.save(execution)
    with running_api(ledger, archive=archive) as api:
        again = api.post("/experiments/run-1/publish").json()
    assert again["already_published"] is True
    assert again["location"] == old
    assert list(archive.objects) == ["published/run-1.json"]


def test_only_succeeded_executions_can_be_published(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1", status="failed"))
    response = api.post("/experiments/run-1/publish")
    assert response.status_code == 409
    assert "only succeeded" in response.json()["error"]["message"]


def test_reads_see_writes_made_by_another_process_through_the_follower(
    ledger: Ledger, settings: Settings
) -> None:
    with running_api(ledger) as api:
        other = bootstrap(settings)  # another writer on the same database
        try:
            result = other.recorder.record([msgspec.convert(record("elsewhere"), type=_Rec())])
        finally:
            other.close()
        position = result[0].position
        response = api.get(f"/api/v1/executions/elsewhere?min_position={position}")
        assert response.status_code == 200, response.text


def _Rec() -> type:
    from provledger.domain.record import ExecutionRecord

    return ExecutionRecord


def test_records_of_unforeseen_shapes_are_invalid_items_not_server_errors(api: Api) -> None:
    response = api.post(
        "/api/v1/executions?format=dissmodel",
        [
            {"case": "", "execution_id": "", "artifacts": [{"uri": ""}]},
            dissmodel_record("ok-1"),
        ],
    )
    assert response.status_code == 201, response.text
    outcomes = [i["outcome"] for i in response.json()["items"]]
    assert outcomes == ["invalid", "created"]


def test_a_running_execution_posted_again_finished_is_updated(api: Api) -> None:
    api.post("/api/v1/executions", record("run-1", status="running", ended=None))
    finished = record("run-1", ended="2026-01-01T11:00:00+00:00", tags={"done": "yes"})
    response = api.post("/api/v1/executions", finished)
    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == 1
    (item,) = body["items"]
    assert (item["outcome"], item["canonical"]) == ("updated", True)
    assert item["changed_fields"] == ["ended", "status"]
    read = api.get(f"/api/v1/executions/run-1?min_position={body['position']}").json()
    assert (read["status"], read["is_canonical"], read["tags"]) == (
        "succeeded",
        True,
        {"done": "yes"},
    )
    conflict = api.post("/api/v1/executions", record("run-1", status="failed"))
    assert conflict.status_code == 409
    assert "status" in conflict.json()["error"]["message"]


def test_a_dissmodel_record_re_sent_as_its_job_progresses_is_updated(api: Api) -> None:
    queued = dissmodel_record("exp-9", status="running", logs=["Loaded"], artifacts={})
    queued.pop("output_path")
    assert api.post("/api/v1/executions", queued).status_code == 201
    done = api.post("/api/v1/executions", dissmodel_record("exp-9"))
    assert done.status_code == 200
    (item,) = done.json()["items"]
    assert item["outcome"] == "updated"
    assert {"logs", "outputs", "status"} <= set(item["changed_fields"])
    record = api.get(f"/api/v1/executions/exp-9/record?min_position={done.json()['position']}")
    assert record.json()["status"] == "succeeded"
    assert record.json()["logs"] == ["Loaded", "Saved"]
