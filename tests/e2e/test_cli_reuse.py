"""`provledger run --reuse`: an identical succeeded run's kept outputs restored instead of
running, recorded as provenance; misses say which part of the key differs."""

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
from tests.support.git import committed_repo, git

GEN = "mkdir -p out; cat in.txt > out/r.txt; echo seed >> out/r.txt; echo ran >> runs.log\n"
RUN = ("run", "--json", "--config", "run.toml", "--input", "in.txt", "--output", "out")
CMD = ("--", "sh", "gen.sh")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    repo = tmp_path / "repo"
    repo.mkdir()
    committed_repo(repo, "gen.sh", GEN, "v1")
    (repo / "run.toml").write_text("seed = 3\n")
    (repo / "in.txt").write_text("data\n")
    return Cli(Settings(home=tmp_path / "home"), repo)


def _run(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(*RUN, *args, *CMD, check=False)


def _summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _runs(cli: Cli) -> int:
    return (cli.cwd / "runs.log").read_text().count("ran")


def _dry(cli: Cli) -> list[dict[str, Any]]:
    found = json.loads(cli(*RUN, "--reuse", "auto", "--dry-run", *CMD).stdout)
    return list(found["nearest"][0]["differences"])


def test_an_identical_run_is_restored_not_run_and_each_changed_part_is_a_miss(cli: Cli) -> None:
    first = _run(cli, "--reuse", "auto")
    assert "not reused: no succeeded execution with the same reuse key" in first.stderr
    original = _summary(first)
    assert _runs(cli) == 1
    (cli.cwd / "out" / "r.txt").unlink()

    second = _run(cli, "--reuse", "auto")
    reused = _summary(second)
    assert _runs(cli) == 1  # the command did not run
    assert (cli.cwd / "out" / "r.txt").read_text() == "data\nseed\n"
    assert reused["reused_from"] == f"default/run/{original['execution_id']}"
    assert [r["file"] for r in reused["restored"]] == ["out/r.txt"]
    shown = cli.json("show", reused["execution_id"])
    record = shown.get("record", shown)
    assert record["reused_from"] == reused["reused_from"]
    assert record["status"] == "succeeded"
    history = cli("history", reused["execution_id"]).stdout
    assert "ExecutionReused" in history
    listed = cli.json("executions", "--where", "reused = true")
    assert [e["execution_id"] for e in listed] == [reused["execution_id"]]
    assert len(cli.json("executions", "--where", "reused = false")) == 1
    explained = cli("reuse", "explain", reused["execution_id"]).stdout
    assert f"default/run/{original['execution_id']}: same key, outputs kept" in explained

    # One config value: a miss, named field by field (the config file is an input too).
    (cli.cwd / "run.toml").write_text("seed = 4\n")
    assert {"part": "config", "what": "seed", "this": 4, "other": 3} in _dry(cli)
    only = _run(cli, "--reuse", "only")
    assert only.returncode == 1
    assert only.stderr.count("\n") == 1
    assert only.stderr.startswith("error: not reused (--reuse only): no succeeded execution")
    (cli.cwd / "run.toml").write_text("seed = 3\n")

    # One input byte.
    (cli.cwd / "in.txt").write_text("datA\n")
    assert [(d["part"], d["what"]) for d in _dry(cli)] == [("input", "in.txt")]
    (cli.cwd / "in.txt").write_text("data\n")

    # A dirty tree: its diff's hash is part of the key; the same diff again is a hit.
    (cli.cwd / "gen.sh").write_text(GEN + "true\n")
    assert [(d["part"], d["what"]) for d in _dry(cli)] == [("code", "uncommitted diff")]
    _summary(_run(cli, "--reuse", "auto"))
    assert _runs(cli) == 2
    assert _summary(_run(cli, "--reuse", "auto"))["reused_from"]
    assert _runs(cli) == 2

    # Another code commit.
    git(cli.cwd, "commit", "-q", "-am", "two")
    assert next((d["part"], d["what"]) for d in _dry(cli)) == ("code", "commit")

    assert len(cli.json("executions")) == 4  # `only` recorded nothing
    cli("archive")
    audit = cli("audit", check=False)
    assert "reuse" not in audit.stdout + audit.stderr.replace("--reuse", "")


def test_outputs_that_were_not_kept_cannot_be_reused_and_the_run_says_why(cli: Cli) -> None:
    _summary(_run(cli))  # --reuse never: nothing kept
    again = _run(cli, "--reuse", "auto")
    _summary(again)
    assert "has the same key but its outputs are not available: it kept no outputs" in (
        again.stderr
    )
    assert _runs(cli) == 2


def test_a_bad_reuse_mode_is_one_line_and_records_nothing(cli: Cli) -> None:
    bad = _run(cli, "--reuse", "sometimes")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --reuse must be never, auto or only")
    assert not (cli.cwd / "runs.log").exists()


def _spawn(cli: Cli) -> subprocess.Popen[str]:
    env = {**os.environ, "PROVLEDGER_HOME": str(cli.settings.home)}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "provledger", *RUN, "--reuse", "auto", *CMD],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_identical_runs_each_run_or_restore_and_never_leave_a_corrupt_file(
    cli: Cli,
) -> None:
    for _ in range(2):  # from scratch (both run, or one restores), then both restore
        procs = [_spawn(cli) for _ in range(3)]
        outcomes = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outcomes
        assert (cli.cwd / "out" / "r.txt").read_text() == "data\nseed\n"
        assert not list((cli.cwd / "out").glob(".*"))  # no temporary file left behind
    assert 1 <= _runs(cli) <= 3
    assert len(cli.json("executions", "--where", "reused = true")) >= 3
