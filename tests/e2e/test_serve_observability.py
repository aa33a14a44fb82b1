"""`provledger serve --workers 2 --log-format json` as a real process: metrics add up across
its processes, and access lines are JSON with the request's correlation id."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from provledger.adapters.settings import Settings
from tests.support.service_load import CLI, free_port


def _requests_to(text: str, route: str) -> float:
    labels = rf'method="GET",route="{re.escape(route)}",status="200"'
    pattern = rf"provledger_http_requests_total{{{labels}}} (\S+)"
    return sum(float(m) for m in re.findall(pattern, text))


def test_serve_with_two_workers_adds_up_their_metrics_and_logs_json(
    settings: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROVLEDGER_", "PROMETHEUS_"))}
    env["PROVLEDGER_HOME"] = str(settings.home)
    if settings.database_url:
        env["PROVLEDGER_DATABASE_URL"] = settings.database_url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            CLI,
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--public-read",
            "--log-format",
            "json",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # both processes up
        n = 40
        for i in range(n):  # new connections: the kernel spreads them over both processes
            with httpx.Client() as client:
                assert (
                    client.get(f"{url}/healthz", headers={"X-Request-ID": f"hz-{i}"}).status_code
                    == 200
                )
        scrapes = []
        for _ in range(4):
            with httpx.Client() as client:
                scrapes.append(client.get(f"{url}/metrics").text)
        # whichever process answers, it counts both processes' requests (one readiness probe
        # before the 40 may be counted too)
        for text in scrapes:
            assert n <= _requests_to(text, "/healthz") <= n + 1
        assert "provledger_events_appended_total" in scrapes[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    lines = [
        json.loads(x)
        for x in (tmp_path / "serve.log").read_text().splitlines()
        if x.startswith("{")
    ]
    access = [
        x for x in lines if x.get("logger") == "provledger.access" and x.get("route") == "/healthz"
    ]
    assert {x["correlation_id"] for x in access} >= {f"hz-{i}" for i in range(n)}
    assert len({x["pid"] for x in access}) == 2  # both processes served some
