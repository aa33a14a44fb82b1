"""The real openlineage-python client: HttpTransport at `provledger serve`, and the file
transport's output given to `provledger ingest`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve_http import Server, _cli

ol = pytest.importorskip("openlineage.client.event_v2")
from openlineage.client import OpenLineageClient  # noqa: E402
from openlineage.client.transport.file import FileConfig, FileTransport  # noqa: E402
from openlineage.client.transport.http import HttpConfig, HttpTransport  # noqa: E402
from openlineage.client.uuid import generate_new_uuid  # noqa: E402

PRODUCER = "https://example.com/provledger-e2e"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env["PROVLEDGER_HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    started = Server(env)
    try:
        yield started
    finally:
        started.stop()


def _pipeline(client: OpenLineageClient) -> tuple[str, str]:
    """Two jobs of a pipeline: `extract` writes a table that `report` reads."""
    table = ol.OutputDataset(namespace="postgres://db:5432", name="shop.public.orders")
    read = ol.InputDataset(namespace="postgres://db:5432", name="shop.public.orders")
    raw = ol.InputDataset(namespace="s3://raw", name="orders/2026-03-01.csv")
    ids = []
    for job, inputs, outputs in (("extract", [raw], [table]), ("report", [read], [])):
        run_id = str(generate_new_uuid())
        ids.append(run_id)
        for kind in ("START", "COMPLETE"):
            client.emit(
                ol.RunEvent(
                    eventType=ol.RunState[kind],
                    eventTime=datetime.now(UTC).isoformat(),
                    run=ol.Run(runId=run_id),
                    job=ol.Job(namespace="shop", name=job),
                    producer=PRODUCER,
                    inputs=inputs,
                    outputs=outputs,
                )
            )
    return ids[0], ids[1]


def test_the_http_transport_records_runs_that_lineage_links(
    env: dict[str, str], server: Server
) -> None:
    token = _cli(env, "token", "create", "--scope", "write", "--name", "airflow")
    config = HttpConfig.from_dict({"url": server.url, "auth": {"type": "api_key", "apiKey": token}})
    extract, report = _pipeline(OpenLineageClient(transport=HttpTransport(config)))

    shown: dict[str, Any] = json.loads(_cli(env, "show", report, "--json"))
    assert shown["status"] == "succeeded"
    assert shown["record"]["namespace"] == "shop"
    assert shown["record"]["case"] == "report"
    graph = httpx.get(
        f"{server.url}/api/v1/executions/{report}/lineage",
        params={"direction": "up"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    linked = {n.get("execution_id") for n in graph["nodes"] if n["type"] == "execution"}
    assert linked == {extract, report}


def test_the_file_transport_output_is_ingested(env: dict[str, str], tmp_path: Path) -> None:
    events = tmp_path / "lineage" / "events.jsonl"
    events.parent.mkdir()
    config = FileConfig(log_file_path=str(events), append=True)
    extract, report = _pipeline(OpenLineageClient(transport=FileTransport(config)))
    assert len(events.read_text().splitlines()) == 4

    out = _cli(env, "ingest", str(events.parent))
    assert "created 2" in out or "2 created" in out, out
    for run_id in (extract, report):
        shown = json.loads(_cli(env, "show", run_id, "--json"))
        assert shown["status"] == "succeeded"
        assert shown["record"]["source"]["importer"] == "openlineage"
    again = _cli(env, "ingest", str(events.parent))
    assert "created 0" in again or "0 created" in again or "duplicate" in again, again
