"""Run by the real MLflow's interpreter (tests/support/mlflow_venv.py), never imported by the
tests: writes a tracking store through MLflow's own API and prints what it made as JSON.

    python mlflow_writer.py STORE_URI story           # the standard content (below)
    python mlflow_writer.py STORE_URI start           # one run left RUNNING, one metric point
    python mlflow_writer.py STORE_URI finish RUN_ID   # more points, a tag, then FINISHED

The story: experiment `sweep` (experiment tag `team`) holds `outer` (params, a metric history
with steps, NaN and inf points, tags, artifacts in a subfolder) with two nested runs (`child`
finished, `broken` failed), and `dropped` (deleted afterwards); experiment `other` holds
`stray`, tagged with a parent in `sweep`; experiment `gone` is deleted with its run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

ARTIFACTS = {
    "model/weights.bin": bytes(range(256)) * 4,
    "notes.txt": b"trained on the small grid\n",
}


def story(uri: str) -> dict[str, object]:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    runs: dict[str, str] = {}
    experiments: dict[str, str] = {}

    experiments["sweep"] = mlflow.set_experiment("sweep").experiment_id
    mlflow.set_experiment_tag("team", "ocean")
    with mlflow.start_run(run_name="outer") as outer:
        runs["outer"] = outer.info.run_id
        mlflow.log_params({"alpha": "0.1", "nested/key": "x", "layers": "4"})
        for step, value in enumerate((0.5, 0.25, 0.125)):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_metric("accuracy", 0.9, step=0)
        mlflow.log_metric("weird", float("nan"), step=1)
        mlflow.log_metric("huge", float("inf"), step=2)
        mlflow.set_tags({"stage": "train", "mlflow.source.git.commit": "abc123"})
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in ARTIFACTS.items():
                path = Path(tmp) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            mlflow.log_artifacts(tmp)
        with mlflow.start_run(run_name="child", nested=True) as child:
            runs["child"] = child.info.run_id
            mlflow.log_param("beta", "2")
            mlflow.log_metric("loss", 0.3, step=0)
        with mlflow.start_run(run_name="broken", nested=True) as broken:
            runs["broken"] = broken.info.run_id
            mlflow.log_param("beta", "3")
            mlflow.end_run(status="FAILED")
    with mlflow.start_run(run_name="dropped") as dropped:
        runs["dropped"] = dropped.info.run_id
        mlflow.log_param("alpha", "9")
    client.delete_run(runs["dropped"])

    experiments["other"] = mlflow.set_experiment("other").experiment_id
    with mlflow.start_run(run_name="stray") as stray:
        runs["stray"] = stray.info.run_id
        mlflow.set_tag("mlflow.parentRunId", runs["outer"])  # a parent in another experiment

    experiments["gone"] = mlflow.set_experiment("gone").experiment_id
    with mlflow.start_run(run_name="lost") as lost:
        runs["lost"] = lost.info.run_id
    client.delete_experiment(experiments["gone"])
    hashes = {f"artifacts/{k}": hashlib.sha256(v).hexdigest() for k, v in ARTIFACTS.items()}
    return {
        "runs": runs,
        "experiments": experiments,
        "artifacts": hashes,
        "version": mlflow.__version__,
    }


def start(uri: str) -> dict[str, object]:
    """A run that is still going: created, one point logged, never ended (no atexit end)."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("live")
    run = client.create_run(experiment, run_name="live-run")
    client.log_param(run.info.run_id, "lr", "0.01")
    client.log_metric(run.info.run_id, "loss", 1.0, step=0)
    return {"run": run.info.run_id}


def finish(uri: str, run_id: str) -> dict[str, object]:
    client = MlflowClient(tracking_uri=uri)
    client.log_metric(run_id, "loss", 0.5, step=1)
    client.log_metric(run_id, "loss", 0.25, step=2)
    client.set_tag(run_id, "outcome", "converged")
    client.set_terminated(run_id, "FINISHED")
    return {"run": run_id}


def main() -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 refuses file stores without it
    uri, mode, *rest = sys.argv[1:]
    done = {"story": story, "start": start, "finish": finish}[mode](uri, *rest)
    print(json.dumps(done))


if __name__ == "__main__":
    main()
