"""`provledger serve` as a real process: a token from the CLI, then HTTP as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provledger.adapters.settings import Settings

CLI = str(Path(sys.executable).with_name("provledger"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env["PROVLEDGER_HOME"] = str(settings.home)
    if settings.database_url:
        env["PROVLEDGER_DATABASE_URL"] = settings.database_url
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Server:
    def __init__(self, env: dict[str, str], *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port), "--log-level", "warning", *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
            if self.process.poll() is not None:
                raise RuntimeError(
                    self.process.stderr.read().decode() if self.process.stderr else ""
                )
        raise RuntimeError("provledger serve did not start in 30 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers(env: dict[str, str]) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        started.append(Server(env))
        started.append(Server(env, "--public-read"))
        yield started
    finally:
        for server in started:
            server.stop()


def test_a_user_records_over_http_and_reads_it_back_from_another_server(
    env: dict[str, str], servers: list[Server]
) -> None:
    write = _cli(env, "token", "create", "--scope", "write", "--name", "ci")
    auth = {"Authorization": f"Bearer {write}"}
    one, two = servers

    assert httpx.get(f"{one.url}/api/v1/cases").status_code == 401
    created = httpx.post(
        f"{one.url}/api/v1/executions",
        json={"execution_id": "run-1", "case": "climate/ocean", "status": "succeeded"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    position = created.json()["position"]

    # A second, stateless server process over the same database sees the write.
    seen = httpx.get(
        f"{two.url}/api/v1/executions/run-1", headers={"X-Provledger-Min-Position": str(position)}
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["is_canonical"] is True

    published = httpx.post(f"{one.url}/experiments/run-1/publish", headers=auth)
    assert published.status_code == 200
    assert published.json()["location"].endswith("/archive/published/climate/ocean/run-1.json")
    assert httpx.get(f"{two.url}/openapi.json").json()["info"]["title"] == "provledger"


def test_publish_from_the_cli_refuses_a_failed_execution(env: dict[str, str]) -> None:
    record = Path(env["PROVLEDGER_HOME"]).parent / "failed.json"
    record.write_text('{"execution_id": "f1", "case": "c", "status": "failed"}')
    _cli(env, "record", str(record))
    done = subprocess.run(
        [CLI, "publish", "f1"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "only succeeded executions can be published" in done.stderr


def test_publish_from_the_cli_writes_the_document_to_the_configured_archive(
    env: dict[str, str], tmp_path: Path
) -> None:
    record = tmp_path / "ok.json"
    record.write_text('{"execution_id": "ok-1", "case": "c", "status": "succeeded"}')
    _cli(env, "record", str(record))
    archive = tmp_path / "archive"
    env = {**env, "PROVLEDGER_ARCHIVE_URL": archive.as_uri()}
    out = _cli(env, "publish", "ok-1", "--json")
    assert '"already_published": false' in out
    published = archive / "published" / "default" / "c"
    assert (published / "ok-1.json").is_file()
    prov = json.loads((published / "ok-1.prov.json").read_text())
    assert "activity" in prov
    crate = json.loads((published / "ok-1.ro-crate-metadata.json").read_text())
    assert "@graph" in crate
    assert '"already_published": true' in _cli(env, "publish", "ok-1", "--json")
