"""Small hand-built MLflow SQLite stores for unit tests: MLflow 3's own DDL for the tables the
importer reads (as `mlflow.db` has them), filled row by row. The integration tests use stores
written by the real mlflow package (tests/support/mlflow_venv.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

DDL = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
CREATE TABLE experiments (
    experiment_id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(256) NOT NULL,
    artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32), creation_time BIGINT,
    last_update_time BIGINT, workspace VARCHAR(63) DEFAULT 'default' NOT NULL);
CREATE TABLE experiment_tags (
    "key" VARCHAR(250) NOT NULL, value TEXT, experiment_id INTEGER NOT NULL,
    PRIMARY KEY ("key", experiment_id));
CREATE TABLE runs (
    run_uuid VARCHAR(32) NOT NULL PRIMARY KEY, name VARCHAR(250), source_type VARCHAR(20),
    source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256),
    status VARCHAR(9), start_time BIGINT, end_time BIGINT, source_version VARCHAR(50),
    lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200), experiment_id INTEGER,
    deleted_time BIGINT);
CREATE TABLE params (
    "key" VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    PRIMARY KEY ("key", run_uuid));
CREATE TABLE tags (
    "key" VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL,
    PRIMARY KEY ("key", run_uuid));
CREATE TABLE metrics (
    "key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    is_nan BOOLEAN DEFAULT '0' NOT NULL,
    PRIMARY KEY ("key", timestamp, step, run_uuid, value, is_nan));
CREATE TABLE latest_metrics (
    "key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT, step BIGINT NOT NULL,
    is_nan BOOLEAN NOT NULL, run_uuid VARCHAR(32) NOT NULL, PRIMARY KEY ("key", run_uuid));
CREATE TABLE datasets (
    dataset_uuid VARCHAR(36) NOT NULL, experiment_id INTEGER NOT NULL, name VARCHAR(500) NOT NULL,
    digest VARCHAR(36) NOT NULL, dataset_source_type VARCHAR(36) NOT NULL,
    dataset_source TEXT NOT NULL, dataset_schema TEXT, dataset_profile TEXT,
    PRIMARY KEY (experiment_id, name, digest));
CREATE TABLE inputs (
    input_uuid VARCHAR(36) NOT NULL, source_type VARCHAR(36) NOT NULL,
    source_id VARCHAR(36) NOT NULL, destination_type VARCHAR(36) NOT NULL,
    destination_id VARCHAR(36) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    PRIMARY KEY (source_type, source_id, destination_type, destination_id));
INSERT INTO alembic_version VALUES ('f4a9b2c7d1e6');
"""


class Store:
    """An `mlflow.db` under construction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path)
        self.conn.executescript(DDL)

    def experiment(
        self, exp_id: int, name: str, *, deleted: bool = False, tags: dict[str, str] | None = None
    ) -> int:
        stage = "deleted" if deleted else "active"
        self.conn.execute(
            "INSERT INTO experiments VALUES (?, ?, ?, ?, 1758275523966, 1758275523966, 'default')",
            (exp_id, name, str(self.path.parent / "mlruns" / str(exp_id)), stage),
        )
        for key, value in (tags or {}).items():
            self.conn.execute("INSERT INTO experiment_tags VALUES (?, ?, ?)", (key, value, exp_id))
        return exp_id

    def run(
        self,
        exp_id: int,
        run_id: str,
        *,
        status: str = "FINISHED",
        start: int | None = 1758275954447,
        end: int | None = 1758276085793,
        deleted: bool = False,
        artifact_uri: str | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        metrics: list[tuple[str, float, int, int]] | None = None,  # key, value, ts, step
    ) -> str:
        uri = artifact_uri or str(self.path.parent / "mlruns" / str(exp_id) / run_id / "artifacts")
        row: tuple[Any, ...] = (
            run_id, f"name-{run_id[:4]}", "UNKNOWN", "", "", "krokant", status, start, end, "",
            "deleted" if deleted else "active", uri, exp_id, None,
        )  # fmt: skip
        self.conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", row)
        for key, value in (params or {}).items():
            self.conn.execute("INSERT INTO params VALUES (?, ?, ?)", (key, value, run_id))
        default_tags = {"mlflow.runName": f"name-{run_id[:4]}", "mlflow.user": "krokant"}
        for key, value in {**default_tags, **(tags or {})}.items():
            self.conn.execute("INSERT INTO tags VALUES (?, ?, ?)", (key, value, run_id))
        for key, value, ts, step in metrics or []:
            self.metric(run_id, key, value, ts, step)
        return run_id

    def metric(self, run_id: str, key: str, value: float, ts: int, step: int) -> None:
        """Stored as MLflow's SQL store stores it: NaN as 0 + is_nan, inf as +/-DBL_MAX."""
        is_nan = value != value
        if is_nan:
            value = 0.0
        elif value in (float("inf"), float("-inf")):
            value = 1.7976931348623157e308 if value > 0 else -1.7976931348623157e308
        self.conn.execute(
            "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", (key, value, ts, run_id, step, is_nan)
        )

    def close(self) -> Path:
        self.conn.commit()
        self.conn.close()
        return self.path
