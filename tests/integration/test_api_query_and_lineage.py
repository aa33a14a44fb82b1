"""`where`, `order_by`, files and lineage over the HTTP API, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provledger.application.ledger import Ledger
from tests.support.api import Api, record, running_api

RAW, OUT = "1" * 64, "2" * 64


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger) as api:
        response = api.post(
            "/api/v1/executions",
            [
                record(
                    "prep",
                    params={"dt": "0.5"},
                    outputs=[{"uri": "raw.nc", "sha256": RAW}],
                    metrics={"loss": [{"value": 0.4}]},
                ),
                record(
                    "model",
                    started="2026-01-02T10:00:00+00:00",
                    params={"dt": 0.25, "compiler": "intel"},
                    inputs=[{"uri": "raw.nc", "sha256": RAW}],
                    outputs=[{"uri": "out.nc", "sha256": OUT}],
                    metrics={"loss": [{"value": 0.9}, {"value": 0.05}]},
                ),
                record("other", case="climate/river", params={"dt": 0.5}),
            ],
        )
        assert response.status_code == 201, response.text
        yield api


def ids(api: Api, **params: str) -> list[str]:
    response = api.get("/api/v1/executions", params=params)
    assert response.status_code == 200, response.text
    return [item["execution_id"] for item in response.json()["items"]]


def test_where_compares_numbers_as_numbers_and_combines_with_filters(api: Api) -> None:
    assert sorted(ids(api, where="params.dt = 0.50")) == ["other", "prep"]
    assert ids(api, where="metrics.loss < 0.1") == ["model"]
    assert ids(api, where="params.dt = 0.5", case="climate/ocean") == ["prep"]
    assert ids(api, where="params.dt exists", **{"param.compiler": "intel"}) == ["model"]


def test_order_by_pages_with_a_cursor(api: Api) -> None:
    first = api.get("/api/v1/executions", params={"order_by": "metrics.loss desc", "limit": 1})
    body = first.json()
    assert [i["execution_id"] for i in body["items"]] == ["prep"]
    rest = api.get(
        "/api/v1/executions",
        params={"order_by": "metrics.loss desc", "limit": 5, "cursor": body["next_cursor"]},
    ).json()
    assert [i["execution_id"] for i in rest["items"]] == ["model", "other"]


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("params.dt >", "at position 12: expected a value"),
        ("param.dt = 1", "unknown field 'param.dt'"),
        ("metrics.loss = low", "metrics.loss is a number"),
    ],
)
def test_a_bad_query_is_a_400_naming_what_is_wrong(api: Api, where: str, fragment: str) -> None:
    response = api.get("/api/v1/executions", params={"where": where})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_query"
    assert fragment in error["message"]


def test_a_file_names_its_producers_and_consumers(api: Api) -> None:
    body = api.get(f"/api/v1/files/{RAW}").json()
    assert body["uris"] == ["raw.nc"]
    assert [p["execution_id"] for p in body["producers"]] == ["prep"]
    assert [c["execution_id"] for c in body["consumers"]] == ["model"]
    assert api.get(f"/api/v1/files/{'f' * 64}").status_code == 404
    assert api.get("/api/v1/files/not-a-sha").status_code == 400


def test_an_executions_lineage_has_nodes_and_edges(api: Api) -> None:
    body = api.get("/api/v1/executions/model/lineage", params={"direction": "up"}).json()
    nodes = {n["id"]: n for n in body["nodes"]}
    prep = next(n for n in nodes.values() if n.get("execution_id") == "prep")
    assert prep["depth"] == 1
    relations = {(e["from"], e["relation"], e["to"]) for e in body["edges"]}
    assert (RAW, "wasGeneratedBy", prep["id"]) in relations
    down = api.get("/api/v1/executions/prep/lineage?direction=down&depth=3").json()
    assert {n.get("execution_id") for n in down["nodes"]} >= {"prep", "model"}


def test_diff_honours_the_case_scope(api: Api) -> None:
    api.post("/api/v1/executions", [record("prep", case="climate/river", params={"dt": 1})])
    assert api.get("/api/v1/executions/prep/diff/model").status_code == 409  # ambiguous
    body = api.get("/api/v1/executions/prep/diff/model", params={"case": "climate/ocean"}).json()
    params = next(s for s in body["sections"] if s["name"] == "params")
    assert {"field": "dt", "a": "0.5", "b": 0.25} in params["changes"]
