"""`provledger run` and the SDK as one execution; `run CONFIG` after `pull` keeps the config's
case; kept outputs (`run --keep-outputs`, `get`, `gc`, `reproduce`), on a folder archive and S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli
from tests.support.s3server import S3Server

SDK_SCRIPT = """
import pathlib, sys
import provledger
with provledger.track(case="elsewhere", config={"lr": 0.1}) as run:
    run.log_param("solver", "cg")
    run.log_metric("loss", 0.5, step=1)
    run.log_metric("loss", 0.25, step=2)
    pathlib.Path("plot.txt").write_text("a plot\\n")
    run.log_artifact("plot.txt")
print("tracked as", run.execution_id)
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(Settings(home=tmp_path / "home"), tmp_path)


def _env(cli: Cli, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PROVLEDGER_HOME": str(cli.settings.home), **extra}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    return env


def _run(cli: Cli, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provledger", *args],
        cwd=cli.cwd,
        env=_env(cli, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _record(cli: Cli, execution_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = cli.json("show", execution_id)
    return dict(shown.get("record", shown))


def test_a_script_that_tracks_under_run_is_one_execution_with_its_params_and_metrics(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text(SDK_SCRIPT)
    summary = json.loads(
        cli("run", "--json", "--case", "train", "--", sys.executable, "train.py").stdout
    )
    executions = cli.json("executions")
    assert [e["execution_id"] for e in executions] == [summary["execution_id"]]
    record = _record(cli, summary["execution_id"])
    assert record["case"] == "train"
    assert record["params"] == {"solver": "cg"}
    assert [p["value"] for p in record["metrics"]["loss"]] == [0.5, 0.25]
    assert "plot.txt" in [a["uri"] for a in record["artifacts"]]
    assert record["attributes"]["sdk"] == [
        {"case": "elsewhere", "status": "succeeded", "config": {"lr": 0.1}}
    ]
    # the block knows the surrounding execution's id
    assert f"tracked as {summary['execution_id']}" in record["attributes"]["stdout_tail"]


def test_a_tracked_block_that_fails_fails_the_run_even_when_the_script_exits_zero(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "s.py").write_text(
        "import provledger\nwith provledger.track(case='x') as run:\n    run.fail('diverged')\n"
    )
    proc = cli("run", "--json", "--", sys.executable, "s.py", check=False)
    summary = json.loads(proc.stdout)
    assert summary["status"] == "failed"
    record = _record(cli, summary["execution_id"])
    assert "diverged" in record["logs"]


def test_run_config_after_pull_records_the_configs_own_case_not_the_working_file_stem(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "analysis.yaml").write_text(
        "read: [{case: climate/ocean-box}]\nrun_metadata: {script: 'true'}\n"
    )
    working = {
        "working_version": 1,
        "config": {"path": str(tmp_path / "analysis.yaml"), "sha256": "0" * 64},
        "read": [],
        "inputs": {},
        "values": {},
    }
    (tmp_path / "analysis.working.yaml").write_text(json.dumps(working))
    summary = json.loads(cli("run", "--json", "analysis.yaml").stdout)
    assert summary["case"] == "default/analysis"
    again = json.loads(
        cli("run", "--json", "--config", "analysis.working.yaml", "--", "true").stdout
    )
    assert again["case"] == "default/analysis"


GEN = "mkdir -p out; printf 'one\\ntwo\\nthree %s\\n' \"$1\" > out/r.txt; echo same > out/s.txt"


def _keep_and_rerun(cli: Cli, tmp_path: Path, **env: str) -> str:
    (tmp_path / "gen.sh").write_text(GEN)
    first = _run(
        cli,
        "run",
        "--json",
        "--keep-outputs",
        "--case",
        "g",
        "--output",
        "out",
        "--",
        "sh",
        "gen.sh",
        "A",
        **env,
    )
    assert first.returncode == 0, first.stderr
    execution_id: str = json.loads(first.stdout)["execution_id"]
    second = _run(
        cli,
        "run",
        "--keep-outputs",
        "--case",
        "g",
        "--output",
        "out",
        "--",
        "sh",
        "gen.sh",
        "B",
        **env,
    )
    assert second.returncode == 0, second.stderr
    assert "three B" in (tmp_path / "out" / "r.txt").read_text()  # the first bytes are gone here
    return execution_id


def test_kept_outputs_come_back_verified_after_a_rerun_and_gc_does_not_drop_them(
    cli: Cli, tmp_path: Path
) -> None:
    execution_id = _keep_and_rerun(cli, tmp_path)
    record = _record(cli, execution_id)
    assert {k["uri"] for k in record["attributes"]["kept"]} == {"out/r.txt", "out/s.txt"}
    cli("gc")
    cli("gc", "--files", "--all")
    got = json.loads(cli("get", execution_id, "-o", "back", "--json").stdout)
    assert {g["file"] for g in got} == {"out/r.txt", "out/s.txt"}
    assert (tmp_path / "back/out/r.txt").read_text() == "one\ntwo\nthree A\n"
    one = cli("get", execution_id, "out/r.txt", "-o", "single")
    assert "sha256 verified" in one.stdout
    assert not (tmp_path / "single/out/s.txt").exists()
    # identical bytes are stored once
    store = cli.settings.home / "archive" / "files" / "sha256"
    assert len([p for p in store.rglob("*") if p.is_file()]) == 3


def test_get_names_the_file_when_the_archive_copy_is_missing_or_does_not_match(
    cli: Cli, tmp_path: Path
) -> None:
    execution_id = _keep_and_rerun(cli, tmp_path)
    kept = {k["uri"]: k["sha256"] for k in _record(cli, execution_id)["attributes"]["kept"]}
    stored = cli.settings.home / "archive/files/sha256" / kept["out/r.txt"][:2] / kept["out/r.txt"]
    stored.chmod(0o644)
    stored.write_text("tampered\n")
    bad = cli("get", execution_id, "out/r.txt", "-o", "x", check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: out/r.txt: the archive's copy hashes to")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x/out/r.txt").exists()
    stored.unlink()
    gone = cli("get", execution_id, "out/r.txt", "-o", "x", check=False)
    assert gone.returncode == 2
    assert gone.stderr.startswith("error: out/r.txt: not in the archive")
    unknown = cli("get", execution_id, "nope.txt", check=False)
    assert unknown.returncode == 2
    assert "nope.txt: not among the outputs" in unknown.stderr
    nothing = json.loads(cli("run", "--json", "--", "true").stdout)["execution_id"]
    none_kept = cli("get", nothing, check=False)
    assert none_kept.returncode == 2
    assert "kept no outputs" in none_kept.stderr


def test_reproduce_says_which_kept_text_output_differs_and_by_how_many_lines(
    cli: Cli, tmp_path: Path
) -> None:
    execution_id = _keep_and_rerun(cli, tmp_path)
    (tmp_path / "gen.sh").write_text(GEN + "; echo four >> out/r.txt")
    proc = cli("reproduce", execution_id, "--json", "--force")
    summary = json.loads(proc.stdout)
    assert summary["verdict"] == "differ"
    assert summary["changes"] == [{"file": "out/r.txt", "kind": "text", "added": 1, "removed": 0}]
    text = cli("reproduce", execution_id, "--force").stderr
    assert "reproduction differ (out/r.txt: +1 -0 lines)" in text


def test_sdk_keep_artifacts_stores_them_in_an_s3_archive_and_get_fetches_them(
    cli: Cli, tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    s3 = {
        "PROVLEDGER_ARCHIVE_URL": f"s3://{s3_bucket}/p",
        "PROVLEDGER_S3_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    (tmp_path / "t.py").write_text(
        "import pathlib, provledger\n"
        "with provledger.track(case='k', keep_artifacts=True, capture_environment=False) as run:\n"
        "    pathlib.Path('model.bin').write_bytes(bytes(range(256)))\n"
        "    run.log_artifact('model.bin')\n"
        "print(run.execution_id)\n"
    )
    made = subprocess.run(
        [sys.executable, "t.py"],
        cwd=tmp_path,
        env=_env(cli, **s3),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    execution_id = made.stdout.strip()
    (tmp_path / "model.bin").unlink()
    got = _run(cli, "get", execution_id, "--json", **s3)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "model.bin").read_bytes() == bytes(range(256))
    keys = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="p/files/")
    assert [o["Key"][:16] for o in keys["Contents"]] == ["p/files/sha256/4"]
