"""A user ingests E3SM archives, MLflow stores, entrenar and usher records from the CLI, sees
the summary, re-ingests idempotently, and exports PROV, RO-Crate and Parquet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prov.model import ProvDocument
from rocrate.rocrate import ROCrate

from tests.support import mlruns
from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz, write_zip


class Cli:
    def __init__(self, home: Path, cwd: Path) -> None:
        self.env = {**os.environ, "PROVLEDGER_HOME": str(home), "COLUMNS": "200"}
        self.env.pop("PROVLEDGER_DATABASE_URL", None)
        self.cwd = cwd

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "provledger", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", tmp_path)


def test_a_user_ingests_an_e3sm_upload_and_a_folder_then_re_ingests_idempotently(
    cli: Cli, tmp_path: Path
) -> None:
    runs = [E3smRun(exec_id=exec_id(n)) for n in range(4)]
    runs.append(E3smRun(exec_id=exec_id(9), omit=("git_describe",)))
    write_tar_gz(runs[:3], tmp_path / "upload.tar.gz")
    write_zip(runs[3:4], tmp_path / "upload.zip")
    runs[4].write(tmp_path / "perf")
    proc = cli("ingest", "upload.tar.gz", "upload.zip", "perf")
    assert (
        "created 5, updated 0, duplicates 0, conflicts 0, incomplete 1, failed 0, errors 0"
        in proc.stdout
    )
    again = cli.json("ingest", "upload.tar.gz", "upload.zip", "perf", "--format", "e3sm")
    assert (again["created"], again["duplicates"], again["errors"]) == (0, 5, 0)
    shown = cli.json("show", exec_id(9))
    assert shown["status"] == "incomplete"
    assert not shown["is_canonical"]
    assert shown["record"]["missing"] == ["GIT_DESCRIBE.*"]


def test_bad_inputs_are_listed_per_item_and_the_rest_is_ingested(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "perf"
    for n in range(3):
        E3smRun(exec_id=exec_id(n)).write(root)
    exec_dir = root / "ac.user" / "v3.LR.historical_0121"
    next((exec_dir / exec_id(0)).glob("CaseStatus*")).write_bytes(b"\x1f\x8bbad")
    (tmp_path / "perf" / "broken.record.json").write_text('{"execution_id": "x", "case"')
    summary = cli.json("ingest", "perf", code=1)
    assert (summary["created"], summary["errors"]) == (2, 2)
    messages = [e["message"] for e in summary["error_details"]]
    assert any("CaseStatus" in m and "corrupt gzip" in m for m in messages)
    assert any("broken.record.json" in m and "malformed JSON" in m for m in messages)


def test_mlflow_entrenar_and_usher_are_detected_in_one_folder(cli: Cli, tmp_path: Path) -> None:
    exp = mlruns.experiment(tmp_path / "work" / "mlruns", "0", "Default")
    mlruns.run(exp, "a" * 32, metrics={"loss": "1000 0.5 0\n2000 0.25 1\n"})
    run = {"run_id": "run-1", "experiment_name": "exp", "status": "Failed"}
    (tmp_path / "work" / "run-1.json").write_text(json.dumps(run))
    sidecar = {
        "pipeline_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "processing_steps": [{"name": "s", "timestamp": "2026-01-01T00:01:00+00:00"}],
    }
    (tmp_path / "work" / "setup.provenance.provenance.json").write_text(json.dumps(sidecar))
    summary = cli.json("ingest", "work")
    assert (summary["created"], summary["failed"], summary["errors"]) == (3, 1, 0)
    cases = cli("cases").stdout
    assert "mlflow/Default" in cases
    assert "entrenar/exp" in cases
    assert "usher/setup" in cases


def test_an_unknown_format_is_refused_naming_the_choices(cli: Cli, tmp_path: Path) -> None:
    proc = cli("ingest", str(tmp_path), "--format", "simboard", code=2)
    assert "unknown --format 'simboard'" in proc.stderr
    assert "e3sm" in proc.stderr


def test_a_user_exports_prov_rocrate_and_parquet(cli: Cli, tmp_path: Path) -> None:
    E3smRun().write(tmp_path / "perf")
    cli("ingest", "perf")
    prov_json = cli("export", "prov", "1081156.251218-200923").stdout
    parsed = ProvDocument.deserialize(content=prov_json, format="json")
    assert "prov:SoftwareAgent" in parsed.get_provn()
    cli("export", "rocrate", "1081156.251218-200923", "crate", "--license", "CC-BY-4.0")
    crate = ROCrate(tmp_path / "crate")
    assert crate.root_dataset["conformsTo"]
    assert "CC-BY-4.0" in str(crate.root_dataset["license"])
    out = cli.json("export", "parquet", "tables")
    assert (out["cases"], out["executions"]) == (1, 1)
    rows = duckdb.sql(f"SELECT code_tag, machine FROM '{tmp_path}/tables/executions.parquet'")
    assert rows.fetchall() == [("v3.0.2-2", "chrysalis")]
    refused = cli("export", "rocrate", "1081156.251218-200923", "crate", code=2)
    assert "not an empty directory" in refused.stderr
    missing = cli("export", "prov", "no-such-run", code=2)
    assert "no execution 'no-such-run'" in missing.stderr


def test_a_large_archive_is_parsed_by_worker_processes_from_the_cli(
    cli: Cli, tmp_path: Path
) -> None:
    runs = [E3smRun(exec_id=exec_id(n)) for n in range(300)]
    for run in runs[:270]:
        run.write(tmp_path / "perf")
    write_tar_gz(runs[270:], tmp_path / "up.tgz")
    cli.env["PROVLEDGER_IMPORT_WORKERS"] = "2"
    summary = cli.json("ingest", "perf", "up.tgz")
    assert (summary["created"], summary["errors"]) == (300, 0)
    assert cli.json("ingest", "perf", "up.tgz", code=0)["duplicates"] == 300
