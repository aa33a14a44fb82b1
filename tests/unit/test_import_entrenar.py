"""entrenar JSON run records: experiment = case, run ids scoped to their experiment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provledger.adapters.readers.walk import read_items
from provledger.application.ingest import ReadItem
from provledger.domain.record import Status

CAP = 1024 * 1024


def run(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": "run-1",
        "run_name": "baseline-v1",
        "experiment_name": "my-experiment",
        "status": "Completed",
        "params": {"lr": "0.001"},
        "metrics": {"loss": [{"value": 0.5, "step": 1}, {"value": 0.3, "step": 2}]},
        "artifacts": ["model.safetensors"],
        "tags": {"team": "ml-infra"},
        "start_time_ms": 1767225600000,
        "end_time_ms": 1767225660000,
    }
    return {**base, **changes}


def write(folder: Path, data: dict[str, Any], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{data['run_id']}.json")
    path.write_text(json.dumps(data, indent=2))
    return path


def items(path: Path, fmt: str = "auto") -> list[ReadItem]:
    return list(read_items([path], CAP, fmt))


def test_a_run_record_maps_params_metrics_artifacts_tags_status_and_times(
    tmp_path: Path,
) -> None:
    [item] = items(write(tmp_path / "runs", run()))
    record = item.record
    assert record is not None
    assert (record.namespace, record.case, record.execution_id) == (
        "entrenar",
        "my-experiment",
        "run-1",
    )
    assert record.status is Status.SUCCEEDED
    assert record.params == {"lr": "0.001"}
    assert [(p.value, p.step) for p in record.metrics["loss"]] == [(0.5, 1), (0.3, 2)]
    assert [a.uri for a in record.artifacts] == ["model.safetensors"]
    assert record.tags == {"team": "ml-infra"}
    assert record.attributes == {"run_name": "baseline-v1"}
    assert record.started is not None
    assert record.started.year == 2026


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Active", Status.RUNNING),
        ("Completed", Status.SUCCEEDED),
        ("Failed", Status.FAILED),
        ("Cancelled", Status.CANCELLED),
    ],
)
def test_run_statuses_map_to_ledger_statuses(tmp_path: Path, status: str, expected: Status) -> None:
    [item] = items(write(tmp_path, run(status=status)), "entrenar")
    assert item.record is not None
    assert item.record.status is expected


def test_the_same_run_id_in_two_experiments_is_two_executions(tmp_path: Path) -> None:
    write(tmp_path / "a", run(experiment_name="exp-a"))
    write(tmp_path / "b", run(experiment_name="exp-b"))
    found = [i.record for i in items(tmp_path) if i.record]
    assert sorted((r.case, r.execution_id) for r in found) == [
        ("exp-a", "run-1"),
        ("exp-b", "run-1"),
    ]


def test_the_in_memory_tuple_metric_shape_is_accepted(tmp_path: Path) -> None:
    [item] = items(write(tmp_path, run(metrics={"loss": [[0.5, 1], [0.3, 2]]})), "entrenar")
    assert item.record is not None
    assert [(p.value, p.step) for p in item.record.metrics["loss"]] == [(0.5, 1), (0.3, 2)]


def test_a_truncated_run_file_is_a_per_item_error_and_the_rest_are_read(tmp_path: Path) -> None:
    good = write(tmp_path, run(run_id="run-2"))
    bad = tmp_path / "run-1.json"
    bad.write_text(good.read_text()[:40])
    found = items(tmp_path, "entrenar")
    assert [bool(i.record) for i in found] == [False, True]
    assert found[0].error is not None
    assert "malformed JSON" in found[0].error


def test_an_unknown_status_is_refused_naming_it(tmp_path: Path) -> None:
    [item] = items(write(tmp_path, run(status="Exploded")), "entrenar")
    assert item.error is not None
    assert "'Exploded'" in item.error


def test_a_non_string_param_is_refused_naming_the_field(tmp_path: Path) -> None:
    [item] = items(write(tmp_path, run(params={"lr": 0.001})), "entrenar")
    assert item.error is not None
    assert "Expected `str`, got `float` - at `$.params" in item.error
