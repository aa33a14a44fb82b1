"""The SDK's fluent API on the in-memory backend, and entrenar-shaped run records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgspec
import pytest

import provledger
from provledger.domain.record import ExecutionRecord, MetricPoint, Status
from provledger.sdk import MemoryBackend, RunRecord, TrackingError, to_run_record, track

SAMPLE_ENTRENAR = {
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


def _track(backend: MemoryBackend, **kw: object) -> object:
    return track(case="heat", backend=backend, capture_environment=False, **kw)  # type: ignore[arg-type]


def test_provledger_exposes_track_lazily() -> None:
    assert provledger.track is track
    with pytest.raises(AttributeError):
        _ = provledger.no_such_thing  # type: ignore[attr-defined]


def test_a_tracked_block_records_params_metrics_tags_and_steps() -> None:
    backend = MemoryBackend()
    with track(case="heat", config={"dt": 0.1}, backend=backend, capture_environment=False) as run:
        run.log_param("solver", "cg")
        run.log_params({"n": 3})
        for i in range(5):
            run.log_metric("loss", 1 / (i + 1), step=i)
        run.log_metrics({"acc": 0.5, "f1": 0.4}, step=4)
        run.set_tag("team", "hpc")
        run.step("load", rows=10)
    saved = backend.load(run.run_id)
    assert saved.status == "Completed"
    assert saved.params == {"solver": "cg", "n": "3"}
    assert [e.step for e in saved.metrics["loss"]] == [0, 1, 2, 3, 4]
    assert saved.metrics["acc"][0].value == 0.5
    assert saved.tags["team"] == "hpc"
    assert saved.experiment_name == "heat"
    record = run.record(Status.SUCCEEDED)
    assert record.spec is not None
    assert record.spec.resolved == {"dt": 0.1}
    assert record.steps[0].name == "load"
    assert record.steps[0].details == {"rows": 10}


def test_an_exception_in_the_block_ends_the_run_failed_and_propagates() -> None:
    backend = MemoryBackend()
    with pytest.raises(RuntimeError, match="diverged"), _track(backend) as run:  # type: ignore[attr-defined]
        raise RuntimeError("diverged")
    assert backend.load(run.run_id).status == "Failed"


def test_ctrl_c_in_the_block_ends_the_run_cancelled() -> None:
    backend = MemoryBackend()
    with pytest.raises(KeyboardInterrupt), _track(backend) as run:  # type: ignore[attr-defined]
        raise KeyboardInterrupt
    assert backend.load(run.run_id).status == "Cancelled"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_metric_is_refused_at_once(value: float) -> None:
    with _track(MemoryBackend()) as run, pytest.raises(TrackingError, match="finite"):  # type: ignore[attr-defined]
        run.log_metric("loss", value)


def test_bad_names_are_refused() -> None:
    with _track(MemoryBackend()) as run:  # type: ignore[attr-defined]
        for call in (
            lambda: run.log_metric("", 1.0),
            lambda: run.log_param("", 1),
            lambda: run.set_tag("", 1),
            lambda: run.step(""),
        ):
            with pytest.raises(TrackingError, match="non-empty name"):
                call()


def test_a_bad_case_name_is_refused_before_anything_is_saved() -> None:
    backend = MemoryBackend()
    with (
        pytest.raises(Exception, match="path separators"),
        track(case="a/b", backend=backend, capture_environment=False),
    ):
        pass
    assert backend.list() == []


def test_metrics_stay_buffered_until_flushed() -> None:
    with _track(MemoryBackend()) as run:  # type: ignore[attr-defined]
        run.log_metric("x", 1.0, step=0)
        assert run._points == {}
        run.flush()
        assert [p.value for p in run._points["x"]] == [1.0]


def test_records_convert_to_entrenars_run_record_shape() -> None:
    record = ExecutionRecord(
        "run-1",
        "my-experiment",
        Status.SUCCEEDED,
        params={"lr": 0.001, "name": "x"},
        metrics={"loss": [MetricPoint(0.5, 1), MetricPoint(0.3)]},
        tags={"run_name": "baseline-v1"},
    )
    run = to_run_record(record)
    data = msgspec.to_builtins(run)
    assert set(data) == set(SAMPLE_ENTRENAR)
    assert data["status"] == "Completed"
    assert data["params"] == {"lr": "0.001", "name": "x"}
    assert data["metrics"]["loss"] == [{"value": 0.5, "step": 1}, {"value": 0.3, "step": 1}]
    assert data["run_name"] == "baseline-v1"


def test_an_entrenar_run_record_decodes_with_the_same_fields() -> None:
    run = msgspec.json.decode(json.dumps(SAMPLE_ENTRENAR), type=RunRecord)
    assert msgspec.to_builtins(run) == SAMPLE_ENTRENAR


def test_the_memory_backend_saves_loads_lists_and_deletes() -> None:
    backend = MemoryBackend()
    run = msgspec.json.decode(json.dumps(SAMPLE_ENTRENAR), type=RunRecord)
    backend.save(run)
    assert backend.load("run-1") == run
    assert [r.run_id for r in backend.list()] == ["run-1"]
    backend.delete("run-1")
    assert backend.list() == []
    with pytest.raises(TrackingError, match="no run 'run-1'"):
        backend.load("run-1")
    with pytest.raises(TrackingError, match="no run"):
        backend.delete("run-1")


def test_a_config_of_the_wrong_type_is_refused() -> None:
    with (
        pytest.raises(TrackingError, match="config must be a dict"),
        track(case="c", config=42, backend=MemoryBackend(), capture_environment=False),
    ):
        pass


def test_artifacts_that_do_not_exist_are_refused(tmp_path: Path) -> None:
    with _track(MemoryBackend()) as run, pytest.raises(TrackingError, match="no such file"):  # type: ignore[attr-defined]
        run.log_artifact(tmp_path / "missing.bin")


def test_importing_provledger_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = "import provledger, sys; print(sorted(m for m in sys.modules if 'provledger.' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
