"""Stores written by the real mlflow package (its own virtualenv: tests/support/mlflow_venv.py):
the file store, an SQLite `mlflow.db` and a PostgreSQL database, each read in full, the three
agreeing on the same logged content, and ingested into a real ledger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from provledger.adapters.readers.walk import read_items
from provledger.application.ingest import ReadItem, ingest
from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, Status
from tests.support.api import running_api
from tests.support.mlflow_venv import MlflowEnv, mlflow_env

CAP = 16 * 1024 * 1024
STORY_RUNS = {"outer", "child", "broken", "dropped", "stray"}  # `lost`: deleted experiment


@dataclass
class Written:
    """A store the real MLflow wrote: where to ingest it from, and what the writer reported."""

    source: Path | str
    made: dict[str, Any]

    def run(self, name: str) -> str:
        return str(self.made["runs"][name])


@pytest.fixture(scope="module")
def real_mlflow() -> MlflowEnv:
    return mlflow_env()


@pytest.fixture(scope="module")
def file_store(real_mlflow: MlflowEnv, tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("mlflow-files")
    made = real_mlflow.write((root / "mlruns").as_uri(), "story", cwd=root)
    return Written(root / "mlruns", made)


@pytest.fixture(scope="module")
def sqlite_store(real_mlflow: MlflowEnv, tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("mlflow-sqlite")
    made = real_mlflow.write(f"sqlite:///{root / 'mlflow.db'}", "story", cwd=root)
    return Written(root / "mlflow.db", made)


@pytest.fixture
def pg_store(real_mlflow: MlflowEnv, pg_url: str, tmp_path: Path) -> Written:
    made = real_mlflow.write(pg_url, "story", cwd=tmp_path)
    return Written(pg_url, made)


@pytest.fixture(params=["files", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Written:
    name = {"files": "file_store", "sqlite": "sqlite_store", "postgres": "pg_store"}
    written: Written = request.getfixturevalue(name[request.param])
    return written


def read(source: Path | str) -> list[ReadItem]:
    return list(read_items([source], CAP))


def by_name(items: list[ReadItem]) -> dict[str, ExecutionRecord]:
    assert not [i.error for i in items if i.error]
    return {str(i.record.attributes["run_name"]): i.record for i in items if i.record}


def test_every_run_param_metric_tag_artifact_and_parent_of_a_real_mlflow_store_is_read(
    store: Written,
) -> None:
    runs = by_name(read(store.source))
    assert set(runs) == STORY_RUNS
    outer = runs["outer"]
    assert outer.execution_id == store.run("outer")
    assert (outer.namespace, outer.case, outer.status) == ("mlflow", "sweep", Status.SUCCEEDED)
    assert outer.params == {"alpha": "0.1", "nested/key": "x", "layers": "4"}
    assert [(p.value, p.step) for p in outer.metrics["loss"]] == [(0.5, 0), (0.25, 1), (0.125, 2)]
    assert all(p.timestamp is not None for p in outer.metrics["loss"])
    assert [(p.value, p.step) for p in outer.metrics["accuracy"]] == [(0.9, 0)]
    non_finite = outer.attributes["non_finite_metric_points"]
    assert [(p[1], p[2]) for p in non_finite["weird"]] == [("nan", 1)]
    assert [(p[1], p[2]) for p in non_finite["huge"]] == [("inf", 2)]
    assert outer.tags["stage"] == "train"
    assert outer.code is not None
    assert outer.code.commit == "abc123"
    assert outer.attributes["experiment_tags"] == {"team": "ocean"}
    assert {a.uri: a.sha256 for a in outer.artifacts} == store.made["artifacts"]
    assert outer.started is not None
    assert outer.ended is not None
    assert outer.parent is None

    assert runs["child"].parent == store.run("outer")
    assert runs["child"].params == {"beta": "2"}
    assert runs["broken"].parent == store.run("outer")
    assert runs["broken"].status is Status.FAILED
    assert runs["dropped"].attributes["lifecycle_stage"] == "deleted"
    stray = runs["stray"]
    assert (stray.case, stray.parent) == ("other", None)  # its parent is in another experiment
    assert stray.tags["mlflow.parentRunId"] == store.run("outer")


def comparable(written: Written) -> dict[str, Any]:
    """Each run, with what differs between two stores by nature (ids, times, where the files
    are) replaced or left out."""
    names = {run_id: name for name, run_id in written.made["runs"].items()}
    out = {}
    for name, record in by_name(read(written.source)).items():
        data = msgspec.to_builtins(msgspec.structs.replace(record, source=None))
        for key in ("execution_id", "started", "ended"):
            data.pop(key)
        data["parent"] = names.get(data.get("parent", ""))
        data["tags"] = {k: names.get(v, v) for k, v in data.get("tags", {}).items()}
        data["metrics"] = {
            k: [{**p, "timestamp": None} for p in points]
            for k, points in data.get("metrics", {}).items()
        }
        attributes = data["attributes"]
        for key in ("experiment_id", "artifact_uri"):
            attributes.pop(key)
        for points in attributes.get("non_finite_metric_points", {}).values():
            for point in points:
                point[0] = None
        out[name] = data
    return out


@pytest.mark.postgres
def test_file_store_sqlite_and_postgres_imports_of_the_same_logged_content_agree(
    file_store: Written, sqlite_store: Written, pg_store: Written
) -> None:
    from_files = comparable(file_store)
    assert set(from_files) == STORY_RUNS
    assert comparable(sqlite_store) == from_files
    assert comparable(pg_store) == from_files


def test_a_real_mlflow_db_is_ingested_with_nested_runs_shown_with_their_parent(
    ledger: Ledger, sqlite_store: Written
) -> None:
    summary = ingest(ledger, read_items([sqlite_store.source], CAP))
    assert (summary.created, summary.failed, summary.error_count) == (5, 1, 0)
    child = sqlite_store.run("child")
    assert ledger.record_of(child).parent == sqlite_store.run("outer")
    with running_api(ledger) as api:
        shown = api.get(f"/api/v1/executions/{child}").json()
        assert shown["parent"] == sqlite_store.run("outer")
        assert api.get(f"/api/v1/executions/{sqlite_store.run('outer')}").json()["parent"] is None
    again = ingest(ledger, read_items([sqlite_store.source], CAP))
    assert (again.created, again.duplicates, again.conflicts) == (0, 5, 0)


@pytest.mark.parametrize("kind", ["files", "sqlite"])
def test_a_running_mlflow_run_that_finishes_is_updated_on_re_ingest(
    ledger: Ledger, real_mlflow: MlflowEnv, tmp_path: Path, kind: str
) -> None:
    if kind == "files":
        uri, source = (tmp_path / "mlruns").as_uri(), tmp_path / "mlruns"
    else:
        uri, source = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "mlflow.db"
    run_id = real_mlflow.write(uri, "start", cwd=tmp_path)["run"]

    first = ingest(ledger, read_items([source], CAP))
    assert (first.created, first.error_count) == (1, 0)
    running = ledger.record_of(run_id)
    assert (running.status, running.ended) == (Status.RUNNING, None)
    assert [(p.value, p.step) for p in running.metrics["loss"]] == [(1.0, 0)]

    real_mlflow.write(uri, "finish", run_id, cwd=tmp_path)
    second = ingest(ledger, read_items([source], CAP))
    assert (second.conflicts, second.error_count) == (0, 0)
    assert second.updated == 1
    done = ledger.record_of(run_id)
    assert done.status is Status.SUCCEEDED
    assert done.ended is not None
    assert [(p.value, p.step) for p in done.metrics["loss"]] == [(1.0, 0), (0.5, 1), (0.25, 2)]
    assert done.tags["outcome"] == "converged"
    assert done.params == {"lr": "0.01"}
