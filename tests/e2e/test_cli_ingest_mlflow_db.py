"""A user ingests MLflow database stores written by the real mlflow from the CLI: a folder that
holds an `mlflow.db`, a `postgresql://` URL; nested runs show their parent; a `.db` that is not
an MLflow store is reported with its reason, never passed over silently."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli
from tests.support.mlflow_venv import mlflow_env

STORY_RUNS = 5  # outer, child, broken, dropped, stray (tests/support/mlflow_writer.py)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A project folder as MLflow 3 leaves it: `mlflow.db` and its `mlruns/` artifact root."""
    root = tmp_path_factory.mktemp("project")
    made = mlflow_env().write(f"sqlite:///{root / 'mlflow.db'}", "story", cwd=root)
    return root, made


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(Settings(home=tmp_path / "home"), tmp_path)


def results_db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE results (x INTEGER)")
    conn.close()
    return path


def test_a_folder_holding_an_mlflow_db_is_ingested_and_nested_runs_show_their_parent(
    cli: Cli, project: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, made = project
    summary = cli.json("ingest", str(root))
    assert (summary["created"], summary["errors"]) == (STORY_RUNS, 0)
    child, outer = made["runs"]["child"], made["runs"]["outer"]
    shown = cli.json("show", child)
    assert shown["parent"] == outer
    assert shown["record"]["parent"] == outer
    assert f"nested in {outer}" in cli("show", child).stdout
    assert cli.json("show", outer)["parent"] is None
    again = cli.json("ingest", str(root / "mlflow.db"))
    assert (again["created"], again["duplicates"]) == (0, STORY_RUNS)


def test_a_db_that_is_not_an_mlflow_store_is_reported_with_its_reason(
    cli: Cli, project: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, _ = project
    results_db(tmp_path / "results.db")
    proc = cli("ingest", "results.db", check=False)
    assert proc.returncode == 1
    [line] = [x for x in proc.stderr.splitlines() if "results.db" in x]
    assert line == (
        "error: results.db: not an MLflow tracking store (no experiments, runs, "
        "params, metrics, tags, alembic_version tables)"
    )
    folder = tmp_path / "mixed"
    folder.mkdir()
    results_db(folder / "results.db")
    (folder / "mlflow.db").write_bytes((root / "mlflow.db").read_bytes())
    summary = cli.json("ingest", str(folder))
    assert (summary["created"], summary["skipped"], summary["errors"]) == (STORY_RUNS, 1, 0)
    [skipped] = summary["skipped_details"]
    assert skipped["path"] == str(folder / "results.db")
    assert skipped["reason"].startswith("not an MLflow tracking store (no experiments")


@pytest.mark.postgres
def test_an_mlflow_store_in_postgres_is_ingested_from_its_url(
    cli: Cli, pg_url: str, tmp_path: Path
) -> None:
    made = mlflow_env().write(pg_url, "story", cwd=tmp_path)
    summary = cli.json("ingest", pg_url)
    assert (summary["created"], summary["errors"]) == (STORY_RUNS, 0)
    assert cli.json("show", made["runs"]["child"])["parent"] == made["runs"]["outer"]
    assert cli.json("ingest", pg_url)["duplicates"] == STORY_RUNS
    bad = cli(
        "ingest", pg_url.replace("postgresql://postgres@", "postgresql://nobody@"), check=False
    )
    assert bad.returncode == 1
    assert "cannot connect" in bad.stderr
