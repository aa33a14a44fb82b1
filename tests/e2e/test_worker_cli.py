"""`provledger worker` as a real process, on SQLite and Postgres."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from provledger.adapters.settings import Settings
from tests.conftest import EXAMPLES
from tests.e2e.cli import Cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings, archive: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env |= {
        "PROVLEDGER_HOME": str(settings.home),
        "PROVLEDGER_ARCHIVE_URL": archive.as_uri(),
        "PROVLEDGER_PERSIST_INTERVAL": "0.2",
        "PROVLEDGER_ARCHIVE_INTERVAL": "0.2",
    }
    if settings.database_url:
        env["PROVLEDGER_DATABASE_URL"] = settings.database_url
    return env


def test_the_worker_persists_ships_serves_metrics_and_exits_0_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    env = _env(settings, archive)
    record = tmp_path / "r.json"
    record.write_text('{"execution_id": "w1", "case": "c", "status": "succeeded"}')
    subprocess.run(
        [sys.executable, "-m", "provledger", "record", str(record)],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provledger",
            "worker",
            "--log-format",
            "json",
            "--metrics-port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not list((archive / "log" / "manifests").glob("*.json")):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "nothing shipped in 30 s"
            time.sleep(0.1)
        assert (archive / "experiments" / "default" / "c" / "w1" / "record.json").is_file()
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'provledger_worker_steps_total{job="persist"}' in text
        assert "provledger_archive_backlog_events" in text
        assert 'provledger_worker_owner{job="ship"} 1.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines[-1]["message"] == "worker stopped"
    persisted = next(x for x in lines if x["message"].startswith("persisted 1 records"))
    assert persisted["correlation_id"]


def test_an_unknown_job_or_log_format_is_refused_in_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    cli = Cli(settings, tmp_path)
    done = cli("worker", "--job", "dance", check=False)
    assert done.returncode == 2
    assert "unknown --job dance; choose from catch-up, persist, ship, snapshot" in done.stderr
    done = cli("worker", "--job", "snapshot", "--once", check=False)
    assert done.returncode == 2
    assert "--job snapshot needs PROVLEDGER_SNAPSHOT_INTERVAL" in done.stderr
    done = cli("worker", "--log-format", "xml", check=False)
    assert done.returncode == 2
    assert "--log-format must be one of text, json, not 'xml'" in done.stderr


def test_persist_follow_runs_the_same_loop_and_exits_0_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    env = _env(settings, archive)
    record = tmp_path / "r.json"
    record.write_text('{"execution_id": "p1", "case": "c", "status": "succeeded"}')
    subprocess.run(
        [sys.executable, "-m", "provledger", "record", str(record)],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "provledger", "persist", "--follow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not list((archive / "log" / "manifests").glob("*.json")):
            assert proc.poll() is None
            assert time.monotonic() < deadline, "nothing shipped in 30 s"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "persisted 1 records" in stdout


def test_the_worker_takes_a_snapshot_on_its_schedule_only_when_the_read_models_moved(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(settings, tmp_path)
    archive = tmp_path / "archive"
    monkeypatch.setenv("PROVLEDGER_ARCHIVE_URL", archive.as_uri())
    monkeypatch.setenv("PROVLEDGER_SNAPSHOT_INTERVAL", "1")
    cli("ingest", str(EXAMPLES / "records" / "ocean"))
    cli("worker", "--job", "catch-up", "--job", "snapshot", "--once")
    cli("worker", "--job", "catch-up", "--job", "snapshot", "--once")  # nothing moved
    manifests = sorted(archive.glob("snapshots/*/manifest.json"))
    assert len(manifests) == 1
    cli("ingest", str(EXAMPLES / "records" / "dissmodel"))
    cli("worker", "--job", "catch-up", "--job", "snapshot", "--once")
    assert len(sorted(archive.glob("snapshots/*/manifest.json"))) == 2
