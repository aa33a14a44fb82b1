"""The real MLflow client (mlflow-skinny, in its own virtualenv), unmodified, against
`provledger serve`: MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN are all it is given."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve_http import Server, _cli
from tests.support.mlflow_venv import mlflow_env

SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mlflow_client_script.py"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROVLEDGER_", "MLFLOW_"))}
    env["PROVLEDGER_HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    started = Server(env)
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.slow
def test_an_unmodified_mlflow_script_logs_into_the_ledger_and_reads_it_back(
    env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    python = mlflow_env().python
    token = _cli(env, "token", "create", "--scope", "write", "--name", "trainer")
    client_env = {**env, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_TOKEN": token}
    done = subprocess.run(
        [str(python), str(SCRIPT), "ocean-sweep"],
        env=client_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    ids = seen["ids"]
    assert seen["found"] == [ids["dt-0.25"]]  # params.dt = '0.25' and metrics.loss < 0.1
    assert seen["history"] == [[0, 0.5], [1, 0.25], [2, 0.5 / 3], [3, 0.125], [4, 0.1]]
    assert seen["params"] == {"dt": "0.5", "compiler": "gnu", "grid": "64"}
    assert seen["metrics"] == {"loss": 0.1, "energy": 0.75, "mass": 2.0}
    assert seen["tags"] == {"team": "ocean"}
    assert seen["status"] == "FINISHED"
    assert seen["broken"] == "FAILED"
    assert seen["parent_of_child"] == ids["dt-0.5"]
    assert seen["artifacts"] == ["state.txt"]
    assert seen["content"] == "state for dt=0.5\n"

    cases = _cli(env, "cases")
    assert f"mlflow/ocean-sweep: canonical {ids['dt-0.5']}" in cases
    assert "params.dt: 0.5 -> 0.25" in cases
    shown = json.loads(_cli(env, "show", ids["child-0.5"], "--json"))
    assert shown["record"]["parent"] == ids["dt-0.5"]
    artifact = json.loads(_cli(env, "show", ids["dt-0.5"], "--json"))["record"]["artifacts"][0]
    assert artifact["uri"] == "artifacts/state.txt"
    assert len(artifact["sha256"]) == 64
    history = _cli(env, "history", ids["dt-0.25"])
    assert "ExecutionRecorded" in history
    assert "ExecutionUpdated" in history
    assert "status=succeeded" in history

    # What the ledger does not keep answers MLflow's error shape, never a 5xx.
    auth = {"Authorization": f"Bearer {token}"}
    registry = httpx.post(
        f"{server.url}/api/2.0/mlflow/registered-models/create", json={"name": "m"}, headers=auth
    )
    assert registry.status_code == 404
    assert registry.json()["error_code"] == "FEATURE_DISABLED"
