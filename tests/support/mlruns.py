"""Write small MLflow file stores (`mlruns/`, MLflow 2.x and 3.x layouts; formats.md §6)."""

from __future__ import annotations

from pathlib import Path

import yaml


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def experiment(store: Path, exp_id: str, name: str) -> Path:
    exp = store / exp_id
    meta = {
        "artifact_location": f"file://{exp}",
        "creation_time": 1758275523966,
        "experiment_id": exp_id,
        "last_update_time": 1758275523966,
        "lifecycle_stage": "active",
        "name": name,
    }
    _write(exp / "meta.yaml", yaml.safe_dump(meta))
    return exp


def run(
    exp: Path,
    run_id: str,
    *,
    status: int = 3,
    mlflow3: bool = False,
    params: dict[str, str] | None = None,
    metrics: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    artifacts: dict[str, bytes] | None = None,
    start: int = 1758275954447,
    end: int | None = 1758276085793,
) -> Path:
    run_dir = exp / run_id
    meta = {
        "artifact_uri": f"file://{run_dir}/artifacts",
        "end_time": end,
        "entry_point_name": "",
        "experiment_id": exp.name,
        "lifecycle_stage": "active",
        "run_id": run_id,
        "run_name": f"name-{run_id[:4]}",
        "source_name": "",
        "source_type": 4,
        "source_version": "",
        "start_time": start,
        "status": status,
        "tags": [],
        "user_id": "krokant",
    }
    if not mlflow3:
        meta["run_uuid"] = run_id
    _write(run_dir / "meta.yaml", yaml.safe_dump(meta))
    for key, value in (params or {}).items():
        _write(run_dir / "params" / key, value)
    for key, value in (metrics or {}).items():
        _write(run_dir / "metrics" / key, value)
    default_tags = {"mlflow.runName": meta["run_name"], "mlflow.user": "krokant"}
    for key, value in {**default_tags, **(tags or {})}.items():
        _write(run_dir / "tags" / key, value)
    for key, data in (artifacts or {}).items():
        _write(run_dir / "artifacts" / key, data)
    if mlflow3:
        model = "m-b67ce6ce3aa14ac6b96b1560ca678cb5"
        out = {
            "destination_id": model,
            "destination_type": "MODEL_OUTPUT",
            "source_id": model,
            "source_type": "RUN_OUTPUT",
            "step": 0,
            "tags": {},
        }
        _write(run_dir / "outputs" / model / "meta.yaml", yaml.safe_dump(out))
        _write(exp / "models" / model / "meta.yaml", yaml.safe_dump({"model_id": model}))
    return run_dir
