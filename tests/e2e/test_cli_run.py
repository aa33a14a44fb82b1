"""`provledger run / pin / reproduce / stale` as a user runs them: real processes, real commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli
from tests.support.git import committed_repo

WRITE_OUT = (
    "import pathlib, tomllib; c = tomllib.loads(pathlib.Path('run.toml').read_text()); "
    "pathlib.Path('out').mkdir(exist_ok=True); "
    "pathlib.Path('out/result.txt').write_text(pathlib.Path(c['input']).read_text() * c['n']); "
    "print('done')"
)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


@pytest.fixture
def local_cli(tmp_path: Path) -> Cli:
    """SQLite only: for the paths whose storage does not matter."""
    return Cli(Settings(home=tmp_path / "home"), tmp_path)


def _project(root: Path) -> None:
    (root / "in.txt").write_text("7\n")
    (root / "run.toml").write_text('input = "in.txt"\nn = 3\n')


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def _record(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_run_records_a_command_and_reproduce_judges_it(cli: Cli, tmp_path: Path) -> None:
    _project(tmp_path)
    summary = _json(
        cli(
            "run",
            "--json",
            "--config",
            "run.toml",
            "--output",
            "out",
            "--",
            sys.executable,
            "-c",
            WRITE_OUT,
        )
    )
    assert (summary["status"], summary["canonical"], summary["case"]) == (
        "succeeded",
        True,
        "default/run",
    )
    record = _record(tmp_path / "out.record.json")
    assert record["execution_id"] == summary["execution_id"]
    assert record["command"] == [sys.executable, "-c", WRITE_OUT]
    assert record["attributes"]["stdout_tail"] == ["done"]  # type: ignore[index]
    shown = cli.json("show", summary["execution_id"])
    assert shown["record"]["status"] == "succeeded"

    same = cli.json("reproduce", summary["execution_id"], "--quiet")
    assert (same["verdict"], same["reproduces"]) == ("identical", summary["execution_id"])

    (tmp_path / "in.txt").write_text("8\n")
    refused = cli("reproduce", summary["execution_id"], check=False)
    assert refused.returncode == 2
    assert "in.txt" in refused.stderr
    assert "--force" in refused.stderr
    forced = cli.json("reproduce", summary["execution_id"], "--force", "--quiet")
    assert (forced["verdict"], forced["differing"]) == ("differ", ["out/result.txt"])


def test_reproduce_in_another_directory_restores_the_pinned_config(
    local_cli: Cli, tmp_path: Path
) -> None:
    _project(tmp_path)
    first = _json(
        local_cli(
            "run",
            "--json",
            "--config",
            "run.toml",
            "--output",
            "out",
            "--",
            sys.executable,
            "-c",
            WRITE_OUT,
        )
    )
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    (elsewhere / "in.txt").write_text("7\n")
    again = local_cli.json("reproduce", first["execution_id"], "--in", str(elsewhere), "--quiet")
    assert again["verdict"] == "identical"
    assert (elsewhere / "run.toml").read_text() == (tmp_path / "run.toml").read_text()


def test_a_failing_command_is_recorded_failed_with_its_exit_status(
    local_cli: Cli, tmp_path: Path
) -> None:
    proc = local_cli(
        "run",
        "--case",
        "fails",
        "--",
        sys.executable,
        "-c",
        "import sys; print('boom', file=sys.stderr); sys.exit(3)",
        check=False,
    )
    assert proc.returncode == 3
    assert "boom" in proc.stderr
    record = _record(tmp_path / "experiment_record.json")
    assert record["status"] == "failed"
    assert record["attributes"]["exit_code"] == 3  # type: ignore[index]
    assert record["attributes"]["stderr_tail"] == ["boom"]  # type: ignore[index]
    stderr_log = next(a for a in record["artifacts"] if a["role"] == "stderr")  # type: ignore[union-attr, index]
    assert Path(stderr_log["uri"]).read_text() == "boom\n"


def test_a_command_that_is_not_found_is_recorded_failed_with_a_clear_message(
    local_cli: Cli, tmp_path: Path
) -> None:
    proc = local_cli("run", "--", "no-such-program-xyz", "--flag", check=False)
    assert proc.returncode == 127
    assert "command not found: no-such-program-xyz" in proc.stderr
    record = _record(tmp_path / "experiment_record.json")
    assert record["status"] == "failed"
    assert record["logs"] == ["command not found: no-such-program-xyz"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "missing.toml", "--", "true"], "missing.toml: config file not found"),
        (["--config", "bad.toml", "--", "true"], "bad.toml: malformed TOML"),
        (["--input", "nope.dat", "--", "true"], "no such file or directory: nope.dat"),
        (["--", ""], "no command to run"),
        ([], "no command to run"),
        (["--bogus", "--", "true"], "No such option: --bogus"),
    ],
)
def test_bad_run_input_is_refused_and_nothing_is_recorded(
    local_cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.toml").write_text("x = [\n")
    proc = local_cli("run", *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (tmp_path / "experiment_record.json").exists()
    assert local_cli.json("executions") == []


def test_reproducing_an_unknown_execution_is_refused(local_cli: Cli) -> None:
    proc = local_cli("reproduce", "no-such-run", check=False)
    assert proc.returncode == 2
    assert "no execution 'no-such-run'" in proc.stderr


def _env(cli: Cli) -> dict[str, str]:
    env = {**os.environ, "PROVLEDGER_HOME": str(cli.settings.home)}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    return env


def _start_long_run(
    local_cli: Cli, tmp_path: Path, case: str, **popen: Any
) -> tuple[subprocess.Popen[str], Path]:
    """`provledger run -- sleep 60` in the background, once its first heartbeat is written."""
    local_cli("init")
    proc = subprocess.Popen(
        [sys.executable, "-m", "provledger", "run", "--case", case, "--", "sleep", "60"],
        cwd=tmp_path,
        env=_env(local_cli),
        text=True,
        **popen,
    )
    heartbeats = local_cli.settings.home / "heartbeats"
    deadline = time.monotonic() + 30
    while not list(heartbeats.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, heartbeats


def test_sigterm_cancels_the_run_and_the_record_says_so(local_cli: Cli, tmp_path: Path) -> None:
    proc, heartbeats = _start_long_run(
        local_cli, tmp_path, "long", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    record = _record(tmp_path / "experiment_record.json")
    assert record["status"] == "cancelled"
    assert "SIGTERM" in record["logs"][0]  # type: ignore[index]
    assert list(heartbeats.glob("*.json")) == []


def test_a_run_whose_provledger_died_is_listed_stale_and_marked(
    local_cli: Cli, tmp_path: Path
) -> None:
    proc, _ = _start_long_run(
        local_cli,
        tmp_path,
        "orphan",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.killpg(proc.pid, signal.SIGKILL)  # provledger and its child die without a word
    proc.wait(timeout=10)
    time.sleep(1.2)
    status = json.loads(local_cli("status", "--json").stdout)
    assert status["capture"]["running"] == 1
    assert local_cli.json("stale", "--timeout", "3600") == []
    stale = local_cli.json("stale", "--timeout", "1")
    assert [s["case"] for s in stale] == ["default/orphan"]
    marked = local_cli.json("stale", "--timeout", "1", "--mark")
    assert marked[0]["marked"] == "unknown"
    rows = local_cli.json("executions")
    assert [r["status"] for r in rows] == ["unknown"]
    assert local_cli.json("stale", "--timeout", "1") == []
    bad = local_cli("stale", "--as", "succeeded", check=False)
    assert bad.returncode == 2
    assert "unknown or cancelled" in bad.stderr


def test_pin_writes_a_working_config_with_every_input_pinned(
    local_cli: Cli, tmp_path: Path
) -> None:
    _project(tmp_path)
    local_cli("pin", "run.toml", "-o", "working.json")
    pinned = json.loads((tmp_path / "working.json").read_text())
    assert [i["path"] for i in pinned["inputs"]] == ["run.toml", "in.txt"]
    assert pinned["run"]["namespace"] == "default"
    missing = local_cli("pin", "nope.yaml", check=False)
    assert missing.returncode == 2
    assert "nope.yaml: config file not found" in missing.stderr


SDK_SCRIPT = """
import provledger
from provledger.sdk import JsonFileBackend
with provledger.track(case="train", config={"lr": 0.1}) as run:
    run.log_param("epochs", 2)
    for step in range(100):
        run.log_metric("loss", 1 / (step + 1), step=step)
    run.step("evaluate", accuracy=0.9)
with provledger.track(case="train", backend=JsonFileBackend("runs")) as run:
    run.log_metric("loss", 0.5, step=1)
print(run.run_id)
"""


def test_sdk_runs_land_in_the_ledger_and_a_json_run_directory_ingests(
    local_cli: Cli, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT],
        cwd=tmp_path,
        env=_env(local_cli),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    run_id = proc.stdout.strip()
    rows = local_cli.json("executions")
    assert [r["status"] for r in rows] == ["succeeded"]
    assert json.loads((tmp_path / "runs" / f"{run_id}.json").read_text())["status"] == "Completed"
    summary = local_cli.json("ingest", "runs")
    assert summary["created"] == 1
    assert local_cli.json("show", run_id)["record"]["metrics"]["loss"][0]["value"] == 0.5


def test_run_in_a_git_repository_records_its_commit_branch_and_tag(
    local_cli: Cli, tmp_path: Path
) -> None:
    commit = committed_repo(tmp_path, "sim.py", "print('ok')\n", tag="v2")
    local_cli("run", "--quiet", "--", sys.executable, "sim.py")
    code = _record(tmp_path / "experiment_record.json")["code"]
    # The ledger's home and the record file are untracked: the tree is not dirty.
    assert code == {
        "commit": commit,
        "tag": "v2",
        "branch": "trunk",
        "dirty": False,
    }


def test_a_json_run_prints_its_whole_summary_and_the_next_read_sees_the_run(cli: Cli) -> None:
    proc = cli("run", "--json", "--case", "quick", "--", sys.executable, "-c", "print('x' * 5000)")
    summary = json.loads(proc.stdout)  # flushed in full before the fast exit
    assert (summary["status"], summary["canonical"]) == ("succeeded", True)
    assert "x" * 5000 in proc.stderr  # the command's output, echoed to stderr under --json
    rows = cli.json("executions", "--case", "quick")  # run skipped the catch-up; reads do it
    assert [r["execution_id"] for r in rows] == [summary["execution_id"]]
