"""`executions --where`, `lineage` and `diff` from the command line, as a user runs them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


def _records(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "raw.nc"
    data.write_bytes(b"raw data")
    digest = hashlib.sha256(b"raw data").hexdigest()
    base = {"case": "ocean", "status": "succeeded"}
    records = [
        {
            **base,
            "execution_id": "prep",
            "started": "2026-01-01T10:00:00+00:00",
            "params": {"dt": "0.5"},
            "outputs": [{"uri": "raw.nc", "sha256": digest}],
        },
        {
            **base,
            "execution_id": "model",
            "started": "2026-01-02T10:00:00+00:00",
            "params": {"dt": 0.25},
            "inputs": [{"uri": "raw.nc", "sha256": digest}],
            "metrics": {"loss": [{"value": 0.5}, {"value": 0.05}]},
        },
    ]
    folder = tmp_path / "records"
    folder.mkdir()
    for r in records:
        (folder / f"{r['execution_id']}.json").write_text(json.dumps(r))
    return folder, digest


def test_a_user_queries_traces_and_compares_executions(cli: Cli, tmp_path: Path) -> None:
    folder, digest = _records(tmp_path)
    cli("ingest", str(folder))
    found = cli.json(
        "executions", "--where", "params.dt = 0.50 or metrics.loss < 0.1", "--columns", "params.dt"
    )
    assert {e["execution_id"]: e["values"]["params.dt"] for e in found} == {
        "prep": 0.5,
        "model": 0.25,
    }
    ordered = cli.json("executions", "--where", "params.dt exists", "--order-by", "params.dt")
    assert [e["execution_id"] for e in ordered] == ["model", "prep"]
    table = cli("executions", "--where", "metrics.loss < 0.1", "--columns", "metrics.loss").stdout
    assert "model" in table
    assert "0.05" in table
    assert "prep" not in table

    traced = cli.json("lineage", str(tmp_path / "raw.nc"))  # a local file, hashed first
    assert traced["file"]["sha256"] == digest
    assert [p["execution_id"] for p in traced["producers"]] == ["prep"]
    assert [c["execution_id"] for c in traced["consumers"]] == ["model"]
    assert "produced by ocean" in cli("lineage", digest, "--up").stdout.replace("default/", "")

    diff = cli.json("diff", "prep", "model")
    params = {s["name"]: s for s in diff["sections"]}["params"]
    assert params["changes"] == [{"field": "dt", "a": "0.5", "b": 0.25}]
    text = cli("diff", "prep", "model").stdout
    assert 'dt: "0.5" -> 0.25' in text
    assert "'" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--where", "params.dt = "), "--where: at position 13: expected a value"),
        (("--where", "param.dt = 1"), "unknown field 'param.dt'"),
        (("--order-by", "params. desc"), "--order-by: "),
    ],
)
def test_a_bad_query_exits_2_with_one_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    proc = cli("executions", *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
