"""MLflow's REST API on the app: the shapes and errors its clients rely on (the real client's
run is tests/e2e/test_mlflow_client.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provledger.application.ledger import Ledger
from tests.support.api import Api, running_api

M = "/api/2.0/mlflow"


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    with running_api(ledger) as api:
        yield api


def _run(api: Api) -> str:
    made = api.post(f"{M}/experiments/create", {"name": "sweep"})
    assert made.status_code == 200, made.text
    experiment = made.json()["experiment_id"]
    run = api.post(f"{M}/runs/create", {"experiment_id": experiment, "start_time": 1767225600000})
    assert run.status_code == 200, run.text
    assert run.json()["run"]["info"]["status"] == "RUNNING"
    return str(run.json()["run"]["info"]["run_id"])


def test_a_log_batch_is_one_update_and_a_changed_param_is_refused(api: Api, ledger: Ledger) -> None:
    run_id = _run(api)
    batch = {
        "run_id": run_id,
        "params": [{"key": "dt", "value": "0.5"}],
        "metrics": [
            {"key": "loss", "value": 1.0, "timestamp": 1767225601000, "step": 0},
            {"key": "loss", "value": 0.5, "timestamp": 1767225602000, "step": 1},
        ],
        "tags": [{"key": "team", "value": "ocean"}],
    }
    assert api.post(f"{M}/runs/log-batch", batch).status_code == 200
    before = ledger.events.max_position()
    changed = api.post(f"{M}/runs/log-parameter", {"run_id": run_id, "key": "dt", "value": "1"})
    assert changed.status_code == 400
    assert changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "params.dt" in changed.json()["message"]
    assert ledger.events.max_position() == before

    ended = api.post(
        f"{M}/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1767225700000}
    )
    assert ended.json()["run_info"]["status"] == "FINISHED"
    run = api.get(f"{M}/runs/get", params={"run_id": run_id}).json()["run"]
    assert run["data"]["metrics"] == [
        {"key": "loss", "value": 0.5, "timestamp": 1767225602000, "step": 1}
    ]
    assert {"key": "team", "value": "ocean"} in run["data"]["tags"]
    ledger.catch_up()  # the API answers before the read models catch up (they are looked up here)
    kinds = [type(e.event).__name__ for e in ledger.history(run_id)]
    assert kinds.count("Updated") == 2, kinds  # the batch, then the end


def test_errors_are_mlflow_shaped_4xx(api: Api) -> None:
    assert api.get(f"{M}/runs/get", params={"run_id": "nope"}).json()["error_code"] == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    anonymous = api.client.post(f"{M}/runs/create", json={"experiment_id": "0"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "UNAUTHENTICATED"
    for path, code in (
        ("/api/2.0/mlflow/model-versions/create", "FEATURE_DISABLED"),
        ("/api/3.0/mlflow/traces", "FEATURE_DISABLED"),
        ("/api/2.0/mlflow/no-such-thing", "ENDPOINT_NOT_FOUND"),
    ):
        answer = api.post(path, {})
        assert answer.status_code == 404, path
        assert answer.json()["error_code"] == code
    bad = api.post(f"{M}/runs/search", {"experiment_ids": ["0"], "filter": "params.x = "})
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
