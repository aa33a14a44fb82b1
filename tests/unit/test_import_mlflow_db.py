"""MLflow database stores (`mlflow.db`), read from MLflow's tables and mapped exactly as the file
store is; nested runs get `parent` when their parent is in the same experiment."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import msgspec

from provledger.adapters.importers.mlflow_db import artifact_folder, shown_url
from provledger.adapters.readers.walk import count_items, read_items, sources
from provledger.application.ingest import ReadItem
from provledger.domain.record import ExecutionRecord, Status
from tests.support import mlruns
from tests.support.mlflow_sqlite import Store

CAP = 1024 * 1024
RUN_A = "0d8653353e3e43beb89442a8bca1a94d"
RUN_B = "2c8ca6db03ec448983eb7a3db708a3d9"
RUN_C = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e"


def records(path: Path | str, fmt: str = "auto") -> list[ReadItem]:
    return list(read_items([path], CAP, fmt))


def by_id(items: list[ReadItem]) -> dict[str, ExecutionRecord]:
    return {i.record.execution_id: i.record for i in items if i.record}


def test_a_db_run_maps_params_metric_history_tags_artifacts_status_and_times(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "wine/quality", tags={"team": "ocean"})
    artifacts = tmp_path / "elsewhere" / "artifacts"
    (artifacts / "model").mkdir(parents=True)
    (artifacts / "model" / "MLmodel").write_bytes(b"flavors: {}\n")
    store.run(
        1,
        RUN_A,
        artifact_uri=artifacts.as_uri(),
        params={"alpha": "0.1", "nested/key": "x"},
        tags={"mlflow.source.git.commit": "abc123", "stage": "train"},
        metrics=[("rmse", 0.24, 1748257990918, 0), ("rmse", 0.20, 1748257990919, 1)],
    )
    [item] = records(store.close())
    record = item.record
    assert record is not None, item.error
    assert (record.namespace, record.case, record.execution_id) == ("mlflow", "wine-quality", RUN_A)
    assert record.status is Status.SUCCEEDED
    assert record.params == {"alpha": "0.1", "nested/key": "x"}
    assert [(p.value, p.step) for p in record.metrics["rmse"]] == [(0.24, 0), (0.20, 1)]
    assert record.metrics["rmse"][0].timestamp is not None
    assert record.tags["stage"] == "train"
    assert record.code is not None
    assert record.code.commit == "abc123"
    assert record.environment is not None
    assert record.environment.user == "krokant"
    [artifact] = record.artifacts
    assert artifact.uri == "artifacts/model/MLmodel"
    assert artifact.sha256 == hashlib.sha256(b"flavors: {}\n").hexdigest()
    assert record.attributes["experiment_tags"] == {"team": "ocean"}
    assert record.attributes["experiment_name"] == "wine/quality"
    assert record.source is not None
    assert record.source.path == f"{tmp_path / 'mlflow.db'}!1/{RUN_A}"


def test_the_same_run_in_a_db_and_in_a_file_store_gives_the_same_record(tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "files" / "mlruns", "1", "e")
    run_dir = mlruns.run(
        exp,
        RUN_A,
        params={"alpha": "0.1"},
        metrics={"loss": "1000 0.5 0\n2000 0.25 1\n3000 nan 2\n4000 inf 3\n"},
        tags={"stage": "train"},
        artifacts={"notes.txt": b"hello"},
    )
    store = Store(tmp_path / "db" / "mlflow.db")
    store.experiment(1, "e")
    store.run(
        1,
        RUN_A,
        artifact_uri=(run_dir / "artifacts").as_uri(),
        params={"alpha": "0.1"},
        tags={"stage": "train"},
        metrics=[
            ("loss", 0.5, 1000, 0),
            ("loss", 0.25, 2000, 1),
            ("loss", float("nan"), 3000, 2),
            ("loss", float("inf"), 4000, 3),
        ],
    )
    [from_files] = records(tmp_path / "files")
    [from_db] = records(store.close())
    assert from_files.record is not None
    assert from_db.record is not None

    def comparable(record: ExecutionRecord) -> dict[str, object]:
        data = msgspec.to_builtins(msgspec.structs.replace(record, source=None))
        data["attributes"].pop("artifact_uri")
        return data  # type: ignore[no-any-return]

    assert comparable(from_db.record) == comparable(from_files.record)
    assert from_db.record.attributes["non_finite_metric_points"] == {
        "loss": [[3000, "nan", 2], [4000, "inf", 3]]
    }


def test_a_nested_run_gets_its_parent_only_within_the_same_experiment(tmp_path: Path) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "sweep")
    store.experiment(2, "other")
    store.run(1, RUN_A)
    store.run(1, RUN_B, tags={"mlflow.parentRunId": RUN_A})
    store.run(2, RUN_C, tags={"mlflow.parentRunId": RUN_A})
    found = by_id(records(store.close()))
    assert found[RUN_A].parent is None
    assert found[RUN_B].parent == RUN_A
    assert found[RUN_C].parent is None
    assert found[RUN_C].tags["mlflow.parentRunId"] == RUN_A  # the tag is kept


def test_a_nested_file_store_run_gets_its_parent_only_within_the_same_experiment(
    tmp_path: Path,
) -> None:
    root = tmp_path / "mlruns"
    sweep, other = mlruns.experiment(root, "1", "sweep"), mlruns.experiment(root, "2", "other")
    mlruns.run(sweep, RUN_A)
    mlruns.run(sweep, RUN_B, tags={"mlflow.parentRunId": RUN_A})
    mlruns.run(other, RUN_C, tags={"mlflow.parentRunId": RUN_A})
    found = by_id(records(root))
    assert (found[RUN_A].parent, found[RUN_B].parent, found[RUN_C].parent) == (None, RUN_A, None)
    assert found[RUN_C].tags["mlflow.parentRunId"] == RUN_A


def test_deleted_runs_are_read_and_deleted_experiments_skipped_as_in_the_file_store(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "kept")
    store.experiment(2, "gone", deleted=True)
    store.run(1, RUN_A, deleted=True)
    store.run(2, RUN_B)
    path = store.close()
    [item] = records(path)
    assert item.record is not None
    assert item.record.execution_id == RUN_A
    assert item.record.attributes["lifecycle_stage"] == "deleted"
    assert count_items([path]) == 1


def test_a_running_db_run_has_no_end(tmp_path: Path) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "e")
    store.run(1, RUN_A, status="RUNNING", end=None, metrics=[("loss", 1.0, 1000, 0)])
    [item] = records(store.close())
    assert item.record is not None
    assert (item.record.status, item.record.ended) == (Status.RUNNING, None)


def test_db_statuses_map_as_the_file_store_codes_do(tmp_path: Path) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "e")
    statuses = {"SCHEDULED": Status.UNKNOWN, "FAILED": Status.FAILED, "KILLED": Status.CANCELLED}
    ids = {}
    for n, name in enumerate(statuses):
        ids[name] = store.run(1, f"{n}" * 32, status=name)
    found = by_id(records(store.close()))
    assert {name: found[ids[name]].status for name in statuses} == statuses


def test_dataset_and_model_links_become_inputs_and_outputs(tmp_path: Path) -> None:
    store = Store(tmp_path / "mlflow.db")
    store.experiment(1, "e")
    store.run(1, RUN_A)
    c = store.conn
    c.execute("INSERT INTO datasets VALUES ('d1', 1, 'wine', '5f2a', 'local', '{}', NULL, NULL)")
    c.execute(f"INSERT INTO inputs VALUES ('i1', 'DATASET', 'd1', 'RUN', '{RUN_A}', 0)")
    c.execute(f"INSERT INTO inputs VALUES ('i2', 'RUN_INPUT', '{RUN_A}', 'MODEL_INPUT', 'm-in', 0)")
    c.execute(
        f"INSERT INTO inputs VALUES ('i3', 'RUN_OUTPUT', '{RUN_A}', 'MODEL_OUTPUT', 'm-1', 0)"
    )
    [item] = records(store.close())
    assert item.record is not None
    assert sorted(i.uri for i in item.record.inputs) == [
        "mlflow-dataset:wine@5f2a",
        "mlflow-model:m-in",
    ]
    assert [o.uri for o in item.record.outputs] == ["models:/m-1"]


def test_a_folder_holding_an_mlflow_db_is_read_and_counted(tmp_path: Path) -> None:
    store = Store(tmp_path / "project" / "mlflow.db")
    store.experiment(1, "e")
    store.run(1, RUN_A)
    store.run(1, RUN_B)
    store.close()
    assert count_items([tmp_path]) == 2
    assert len([i for i in records(tmp_path) if i.record]) == 2
    assert len([i for i in records(tmp_path, "mlflow") if i.record]) == 2
    assert records(tmp_path, "usher") == [
        ReadItem(
            str(tmp_path), error=f"{tmp_path}: no usher data found (layouts: docs/importers.md)"
        )
    ]


def test_a_db_file_that_is_not_an_mlflow_store_is_skipped_in_a_folder_with_the_reason(
    tmp_path: Path,
) -> None:
    with sqlite3.connect(tmp_path / "results.db") as conn:
        conn.execute("CREATE TABLE results (x INTEGER)")
    conn.close()
    (tmp_path / "notes.db").write_text("not a database")
    found = {Path(i.path).name: i for i in records(tmp_path)}
    assert found["results.db"].skipped
    assert found["results.db"].error == (
        "not an MLflow tracking store (no experiments, runs, params, metrics, tags, "
        "alembic_version tables)"
    )
    assert found["notes.db"].skipped
    assert found["notes.db"].error is not None
    assert found["notes.db"].error.startswith("not an SQLite database")


def test_a_db_file_given_explicitly_that_is_not_an_mlflow_store_is_an_error(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "results.db") as conn:
        conn.execute("CREATE TABLE runs (x INTEGER)")
    conn.close()
    [item] = records(tmp_path / "results.db")
    assert not item.skipped
    assert item.error is not None
    assert item.error.startswith(f"{tmp_path / 'results.db'}: not an MLflow tracking store (no ")
    assert "\n" not in item.error


def test_database_urls_are_kept_as_text_and_their_password_is_never_shown() -> None:
    assert sources(["postgresql://u:secret@db.example/ml", "runs"]) == [
        "postgresql://u:secret@db.example/ml",
        Path("runs"),
    ]
    assert (
        shown_url("postgresql://u:secret@db.example:5433/ml") == "postgresql://u@db.example:5433/ml"
    )
    assert shown_url("postgresql://u@/ml?host=/tmp/sock") == "postgresql://u@/ml?host=/tmp/sock"


def test_a_database_url_with_a_record_only_format_is_refused() -> None:
    [item] = records("postgresql://u:secret@db.example/ml", "usher")
    assert (
        item.error
        == "postgresql://u@db.example/ml: only MLflow stores are read from a database URL"
    )


def test_artifact_roots_are_local_folders_or_nothing(tmp_path: Path) -> None:
    assert artifact_folder("file:///data/a%20b/artifacts", None) == Path("/data/a b/artifacts")
    assert artifact_folder("/data/artifacts", None) == Path("/data/artifacts")
    assert artifact_folder("./mlruns/1/x/artifacts", tmp_path) == tmp_path / "mlruns/1/x/artifacts"
    assert artifact_folder("./mlruns/1/x/artifacts", None) is None
    assert artifact_folder("s3://bucket/artifacts", tmp_path) is None
    assert artifact_folder("mlflow-artifacts:/1/x/artifacts", tmp_path) is None
    assert artifact_folder(None, tmp_path) is None
