"""An unmodified MLflow tracking script (run by the mlflow venv's python): MLFLOW_TRACKING_URI
and MLFLOW_TRACKING_TOKEN come from the environment. Prints one JSON line of what it read back."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient


def main() -> None:
    experiment = sys.argv[1] if len(sys.argv) > 1 else "ocean-sweep"
    mlflow.set_experiment(experiment)
    ids = {}
    for dt in (0.5, 0.25):
        with mlflow.start_run(run_name=f"dt-{dt}") as run:
            ids[f"dt-{dt}"] = run.info.run_id
            mlflow.log_param("dt", dt)
            mlflow.log_params({"compiler": "gnu", "grid": 64})
            for step in range(5):
                mlflow.log_metric("loss", dt / (step + 1), step=step)
            mlflow.log_metrics({"energy": 1.5 * dt, "mass": 2.0}, step=5)
            mlflow.set_tag("team", "ocean")
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "state.txt"
                out.write_text(f"state for dt={dt}\n")
                mlflow.log_artifact(str(out))
            with mlflow.start_run(run_name=f"child-{dt}", nested=True) as child:
                ids[f"child-{dt}"] = child.info.run_id
                mlflow.log_metric("inner", 1.0)
    failed = mlflow.start_run(run_name="broken")
    ids["broken"] = failed.info.run_id
    mlflow.end_run(status="FAILED")

    found = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string="params.dt = '0.25' and metrics.loss < 0.1",
        output_format="list",
    )
    client = MlflowClient()
    history = client.get_metric_history(ids["dt-0.5"], "loss")
    run = client.get_run(ids["dt-0.5"])
    artifacts = [a.path for a in client.list_artifacts(ids["dt-0.5"])]
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(ids["dt-0.5"], "state.txt", tmp)
        content = Path(local).read_text()
    print(
        json.dumps(
            {
                "ids": ids,
                "found": [r.info.run_id for r in found],
                "history": [[m.step, m.value] for m in history],
                "params": run.data.params,
                "metrics": run.data.metrics,
                "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
                "status": run.info.status,
                "parent_of_child": MlflowClient()
                .get_run(ids["child-0.5"])
                .data.tags.get("mlflow.parentRunId"),
                "broken": client.get_run(ids["broken"]).info.status,
                "artifacts": artifacts,
                "content": content,
            }
        )
    )


if __name__ == "__main__":
    main()
