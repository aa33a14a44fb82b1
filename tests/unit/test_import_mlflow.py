"""MLflow file stores: experiments become cases, runs executions with params, metrics (steps
parsed from the metric lines), tags, artifacts (sha256), status and times."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provledger.adapters.readers.walk import count_items, read_items
from provledger.application.ingest import ReadItem
from provledger.domain.record import Status
from tests.conftest import SAMPLES
from tests.support import mlruns

CAP = 1024 * 1024
RUN_A = "0d8653353e3e43beb89442a8bca1a94d"
RUN_B = "2c8ca6db03ec448983eb7a3db708a3d9"


def records(path: Path, fmt: str = "auto") -> list[ReadItem]:
    return list(read_items([path], CAP, fmt))


def test_an_mlflow_2_run_maps_params_metrics_tags_artifacts_status_and_times(
    tmp_path: Path,
) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "0", "Default")
    mlruns.run(
        exp,
        RUN_A,
        params={"alpha": "0.1", "nested/key": "x"},
        metrics={"rmse": "1748257990918 0.24 0\n1748257990919 0.20 1\n"},
        tags={"mlflow.source.git.commit": "abc123"},
        artifacts={"model/MLmodel": b"flavors: {}\n"},
    )
    [item] = records(tmp_path / "mlruns")
    record = item.record
    assert record is not None
    assert (record.namespace, record.case, record.execution_id) == ("mlflow", "Default", RUN_A)
    assert record.status is Status.SUCCEEDED
    assert record.params == {"alpha": "0.1", "nested/key": "x"}
    assert [(p.value, p.step) for p in record.metrics["rmse"]] == [(0.24, 0), (0.20, 1)]
    assert record.metrics["rmse"][0].timestamp is not None
    assert record.tags["mlflow.user"] == "krokant"
    assert record.code is not None
    assert record.code.commit == "abc123"
    [artifact] = record.artifacts
    assert artifact.uri == "artifacts/model/MLmodel"
    assert artifact.sha256 == hashlib.sha256(b"flavors: {}\n").hexdigest()
    assert record.started is not None
    assert record.ended is not None
    assert record.environment is not None
    assert record.environment.user == "krokant"


def test_an_mlflow_3_run_keeps_its_logged_model_outputs(tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "711145645857372919", "wine_quality")
    mlruns.run(exp, RUN_B, mlflow3=True)
    [item] = records(tmp_path / "mlruns")
    assert item.record is not None
    assert [o.uri for o in item.record.outputs] == ["models:/m-b67ce6ce3aa14ac6b96b1560ca678cb5"]


def test_metric_steps_are_read_from_the_third_field_of_every_line_shape(tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "e")
    lines = (
        "1000 0.5\n"  # legacy: step 0
        "2000 0.4 7\n"
        "3000 0.3 9 train 5f2a\n"  # 5 fields: MLflow's own reader says step 0
        "3000 0.3 9 train 5f2a\n"  # duplicated line, as in real data
        "4000 nan 10\n"
    )
    mlruns.run(exp, RUN_A, metrics={"loss": lines})
    record = records(tmp_path / "mlruns")[0].record
    assert record is not None
    assert [(p.value, p.step) for p in record.metrics["loss"]] == [(0.5, 0), (0.4, 7), (0.3, 9)]
    assert record.attributes["non_finite_metric_points"] == {"loss": [[4000, "nan", 10]]}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, Status.RUNNING),
        (2, Status.UNKNOWN),
        (3, Status.SUCCEEDED),
        (4, Status.FAILED),
        (5, Status.CANCELLED),
    ],
)
def test_run_status_codes_map_to_ledger_statuses(tmp_path: Path, code: int, status: Status) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "e")
    mlruns.run(exp, RUN_A, status=code, end=None if code == 1 else 1758276085793)
    record = records(tmp_path / "mlruns")[0].record
    assert record is not None
    assert record.status is status


def test_a_malformed_metric_line_is_a_per_run_error_and_other_runs_are_read(
    tmp_path: Path,
) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "e")
    mlruns.run(exp, RUN_A, metrics={"loss": "not a metric line\n"})
    mlruns.run(exp, RUN_B)
    found = records(tmp_path / "mlruns")
    assert [bool(i.record) for i in found] == [False, True]
    assert found[0].error is not None
    assert "metrics/loss" in found[0].error


def test_a_truncated_run_meta_yaml_is_a_per_run_error(tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "e")
    run_dir = mlruns.run(exp, RUN_A)
    (run_dir / "meta.yaml").write_text("run_id: [unclosed\n")
    [item] = records(tmp_path / "mlruns")
    assert item.error is not None
    assert "malformed YAML" in item.error


def test_stores_are_found_inside_folders_and_counted_for_the_progress_bar(tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "project" / "mlruns", "1", "e")
    mlruns.run(exp, RUN_A)
    mlruns.run(exp, RUN_B)
    assert count_items([tmp_path]) == 2
    assert len([i for i in records(tmp_path, "mlflow") if i.record]) == 2


SAMPLE_STORES = [
    "16aryan/MLFlow/mlruns",
    "03MuskaanJain/Iris_MLFlow/mlruns",
    "0kr0/MLOps-assignment1/code/models/mlruns",
]


@pytest.mark.parametrize("store", SAMPLE_STORES)
def test_real_mlflow_stores_are_read_without_errors(store: str) -> None:
    path = SAMPLES / "mlflow" / store
    if not path.is_dir():
        pytest.skip("../shared/samples is not present")
    found = records(path)
    assert found
    assert all(i.record is not None for i in found), [i.error for i in found]
    for item in found:
        assert item.record is not None
        assert item.record.status is Status.SUCCEEDED


def test_the_real_mlflow_3_sample_keeps_steps_and_dedupes_repeated_lines() -> None:
    path = SAMPLES / "mlflow" / "0kr0/MLOps-assignment1/code/models/mlruns"
    if not path.is_dir():
        pytest.skip("../shared/samples is not present")
    by_id = {i.record.execution_id: i.record for i in records(path) if i.record}
    run = by_id["2c8ca6db03ec448983eb7a3db708a3d9"]
    assert run.case == "wine_quality"
    assert [(p.value, p.step) for p in run.metrics["accuracy"]] == [(0.659375, 0)]
    assert run.outputs[0].uri == "models:/m-b67ce6ce3aa14ac6b96b1560ca678cb5"
