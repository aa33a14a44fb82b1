"""`POST /api/v1/lineage`: RunEvents built and serialised by the real openlineage-python client."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from provledger.application.ledger import Ledger
from tests.support.api import Api, running_api

ol = pytest.importorskip("openlineage.client.event_v2")
from openlineage.client.facet_v2 import (  # noqa: E402
    dataset_version_dataset,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
)
from openlineage.client.serde import Serde  # noqa: E402

PRODUCER = "https://example.com/provledger-tests"
SHA = "ab" * 32


class LineageApi(Api):
    """Reads wait for the last write's position: /lineage answers before the read models
    caught up (the X-Provledger-Min-Position convention, api.md "Read your writes")."""

    position = 0

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = super().post(path, body, **kwargs)
        if answer.status_code < 300:
            self.position = max(self.position, answer.json()["position"])
        return answer

    def get(self, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", {**self.read, "X-Provledger-Min-Position": str(self.position)})
        return super().get(path, **kwargs)


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger) as api:
        yield LineageApi(api.client, api.read_token, api.write_token)


def event(
    kind: str,
    run_id: str,
    *,
    job: str = "daily.load",
    at: str = "2026-03-01T10:00:00+00:00",
    inputs: list[Any] | None = None,
    outputs: list[Any] | None = None,
    run_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    built = ol.RunEvent(
        eventType=ol.RunState[kind],
        eventTime=at,
        run=ol.Run(runId=run_id, facets=run_facets or {}),
        job=ol.Job(namespace="etl", name=job),
        producer=PRODUCER,
        inputs=inputs or [],
        outputs=outputs or [],
    )
    data: dict[str, Any] = json.loads(Serde.to_json(built))
    return data


RUN = "0190a5c8-0000-7000-8000-000000000001"


def test_start_then_complete_records_a_running_run_then_its_final_state(api: Api) -> None:
    raw = ol.InputDataset(
        namespace="s3://raw",
        name="orders.csv",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(SHA)},
    )
    out = ol.OutputDataset(
        namespace="postgres://db:5432",
        name="shop.public.orders",
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=10, size=2048
            )
        },
    )
    started = api.post("/api/v1/lineage", event("START", RUN, inputs=[raw], outputs=[out]))
    assert started.status_code == 201, started.text
    assert started.json()["items"][0]["status"] == "running"

    done = api.post(
        "/api/v1/lineage",
        event("COMPLETE", RUN, at="2026-03-01T10:05:00+00:00", inputs=[raw], outputs=[out]),
    )
    assert done.status_code == 201, done.text
    assert done.json()["items"][0]["outcome"] == "updated"

    shown = api.get(f"/api/v1/executions/{RUN}/record").json()
    assert shown["status"] == "succeeded"
    assert shown["started"].startswith("2026-03-01T10:00:00")
    assert shown["ended"].startswith("2026-03-01T10:05:00")
    assert shown["inputs"] == [{"uri": "s3://raw/orders.csv", "sha256": SHA}]
    assert shown["outputs"] == [{"uri": "postgres://db:5432/shop.public.orders"}]
    events = shown["attributes"]["openlineage"]["events"]
    assert sorted(events) == [
        "2026-03-01T10:00:00+00:00 START",
        "2026-03-01T10:05:00+00:00 COMPLETE",
    ]
    stats = events["2026-03-01T10:05:00+00:00 COMPLETE"]["outputs"][
        "postgres://db:5432/shop.public.orders"
    ]["outputFacets"]["outputStatistics"]
    assert stats["rowCount"] == 10
    history = api.get(f"/api/v1/executions/{RUN}/history").json()
    topics = [e["type"] for e in history["items"]]
    assert topics == ["ExecutionRecorded", "CanonicalChosen", "ExecutionUpdated"], topics


def test_complete_before_start_and_repeats_still_end_complete(api: Api) -> None:
    complete = event("FAIL", RUN, at="2026-03-01T10:05:00+00:00")
    complete["run"]["facets"]["errorMessage"] = json.loads(
        Serde.to_json(error_message_run.ErrorMessageRunFacet("boom", "python"))
    )
    assert api.post("/api/v1/lineage", complete).status_code == 201
    late_start = api.post("/api/v1/lineage", event("START", RUN))
    assert late_start.status_code == 201, late_start.text
    again = api.post("/api/v1/lineage", complete)
    assert again.status_code == 200
    assert again.json()["items"][0]["outcome"] == "duplicate"
    shown = api.get(f"/api/v1/executions/{RUN}/record").json()
    assert shown["status"] == "failed"
    assert shown["started"].startswith("2026-03-01T10:00:00")
    fail = shown["attributes"]["openlineage"]["events"]["2026-03-01T10:05:00+00:00 FAIL"]
    assert fail["run_facets"]["errorMessage"]["message"] == "boom"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda e: e.pop("producer"), "'producer' is a required property"),
        (lambda e: e.update(eventType="DONE"), "at eventType"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "at run/runId"),
        (lambda e: e.pop("run"), "JobEvent"),
    ],
)
def test_an_event_outside_the_spec_is_refused_naming_what_is_wrong(
    api: Api, change: Any, fragment: str
) -> None:
    body = event("START", RUN)
    change(body)
    refused = api.post("/api/v1/lineage", body)
    assert refused.status_code == 422, refused.text
    assert fragment in refused.json()["error"]["message"]
    assert api.get("/api/v1/executions").json()["items"] == []


def test_writing_lineage_needs_a_write_token_and_gzip_bodies_are_read(api: Api) -> None:
    body = json.dumps(event("START", RUN)).encode()
    assert api.post("/api/v1/lineage", event("START", RUN), headers=api.read).status_code == 403
    assert api.post("/api/v1/lineage", event("START", RUN), headers={}).status_code == 401
    sent = api.client.post(
        "/api/v1/lineage",
        content=gzip.compress(body),
        headers={**api.write, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert sent.status_code == 201, sent.text


def test_a_parent_run_of_the_same_job_is_the_parent_and_of_another_job_an_attribute(
    api: Api,
) -> None:
    child = "0190a5c8-0000-7000-8000-000000000002"
    other = "0190a5c8-0000-7000-8000-000000000003"

    def facet(job: str) -> dict[str, Any]:
        made = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=RUN), job=parent_run.Job(namespace="etl", name=job)
        )
        return {"parent": json.loads(Serde.to_json(made))}

    api.post("/api/v1/lineage", event("START", RUN))
    api.post("/api/v1/lineage", event("START", child, run_facets=facet("daily.load")))
    api.post("/api/v1/lineage", event("START", other, job="t2", run_facets=facet("daily.load")))
    assert api.get(f"/api/v1/executions/{child}/record").json()["parent"] == RUN
    record = api.get(f"/api/v1/executions/{other}/record").json()
    assert "parent" not in record
    assert record["attributes"]["openlineage"]["parent"] == f"etl/daily.load/{RUN}"


def test_two_runs_sharing_a_dataset_are_linked_by_lineage(api: Api) -> None:
    table = "shop.public.orders"
    producer, consumer = RUN, "0190a5c8-0000-7000-8000-000000000004"
    made = ol.OutputDataset(namespace="postgres://db:5432", name=table)
    used = ol.InputDataset(namespace="postgres://db:5432", name=table)
    api.post("/api/v1/lineage", event("COMPLETE", producer, job="load", outputs=[made]))
    api.post("/api/v1/lineage", event("COMPLETE", consumer, job="report", inputs=[used]))
    graph = api.get(f"/api/v1/executions/{consumer}/lineage?direction=up").json()
    ids = {n.get("execution_id") for n in graph["nodes"] if n["type"] == "execution"}
    assert ids == {producer, consumer}
    uri = "postgres://db:5432/shop.public.orders"
    assert {(e["from"], e["relation"], e["to"]) for e in graph["edges"]} >= {
        (uri, "wasGeneratedBy", _id(graph, producer)),
        (_id(graph, consumer), "used", uri),
    }


def _id(graph: dict[str, Any], execution_id: str) -> str:
    return next(n["id"] for n in graph["nodes"] if n.get("execution_id") == execution_id)
