"""The SDK on the ledger (both backends), on entrenar-style JSON directories, and on the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.application.ledger import Ledger
from provledger.domain.record import Status
from provledger.sdk import HttpBackend, JsonFileBackend, LedgerBackend, TrackingError, track
from tests.support.api import running_api


def test_a_tracked_run_lands_in_the_ledger_as_running_then_final(ledger: Ledger) -> None:
    backend = LedgerBackend(ledger)
    with track(case="train", config={"lr": 0.1}, backend=backend) as run:
        assert ledger.execution_row(run.run_id)["status"] == "running"
        run.log_param("epochs", 3)
        for step in range(1000):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.step("evaluate", accuracy=0.9)
    record = ledger.record_of(run.run_id)
    assert record.status is Status.SUCCEEDED
    assert len(record.metrics["loss"]) == 1000
    assert record.params == {"epochs": 3}
    assert record.environment is not None
    assert record.environment.packages["python"]
    assert ledger.execution_row(run.run_id)["is_canonical"] == 1


def test_a_failing_tracked_run_is_recorded_failed_with_the_error(ledger: Ledger) -> None:
    with (
        pytest.raises(ZeroDivisionError),
        track(case="train", backend=LedgerBackend(ledger), capture_environment=False) as run,
    ):
        _ = 1 / 0
    record = ledger.record_of(run.run_id)
    assert record.status is Status.FAILED
    assert "ZeroDivisionError" in record.logs[-1]


def test_a_config_file_is_pinned_with_the_files_it_names(ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n")
    config = tmp_path / "run.yaml"
    config.write_text("data: data.csv\nlr: 0.5\n")
    with track(
        case="train", config=config, backend=LedgerBackend(ledger), capture_environment=False
    ) as run:
        pass
    record = ledger.record_of(run.run_id)
    assert record.spec is not None
    assert record.spec.format == "yaml"
    assert {r.role for r in record.inputs} == {"config", "config:data"}


def test_the_json_directory_backend_writes_one_file_per_run(tmp_path: Path) -> None:
    backend = JsonFileBackend(tmp_path / "runs")
    with track(case="exp", backend=backend, capture_environment=False) as run:
        run.log_metric("loss", 0.5, step=1)
        run.log_artifact(__file__)
    path = tmp_path / "runs" / f"{run.run_id}.json"
    assert path.is_file()
    again = JsonFileBackend(tmp_path / "runs")
    loaded = again.load(run.run_id)
    assert (loaded.status, loaded.experiment_name) == ("Completed", "exp")
    assert loaded.metrics["loss"][0].step == 1
    assert [r.run_id for r in again.list()] == [run.run_id]
    again.delete(run.run_id)
    assert again.list() == []


def test_a_corrupt_run_file_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"run_id": 3}')
    backend = JsonFileBackend(tmp_path)
    with pytest.raises(TrackingError, match=r"bad\.json: malformed JSON"):
        backend.load("bad")
    with pytest.raises(TrackingError, match=r"other\.json: not an entrenar RunRecord"):
        backend.load("other")
    with pytest.raises(TrackingError, match="cannot be a file name"):
        backend.load("../x")


def test_a_run_tracked_against_the_server_is_recorded_there(ledger: Ledger, tmp_path: Path) -> None:
    with running_api(ledger) as api:
        backend = HttpBackend(
            "http://testserver", api.write_token, spool=tmp_path, client=api.client
        )
        with track(case="remote", backend=backend, capture_environment=False) as run:
            run.log_metric("loss", 0.25, step=3)
        ledger.catch_up()
        record = ledger.record_of(run.run_id)
        assert record.metrics["loss"][0].value == 0.25
        bad = HttpBackend("http://testserver", "wrong", spool=tmp_path, client=api.client)
        with (
            pytest.raises(TrackingError, match="refused the record"),
            track(case="remote", backend=bad, capture_environment=False),
        ):
            pass
        assert len(list(tmp_path.glob("*.record.json"))) == 1
