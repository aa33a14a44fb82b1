"""Exports from a real ledger: Parquet tables DuckDB and pandas read; PROV and RO-Crate of an
ingested E3SM execution."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
from prov.model import ProvDocument
from rocrate.rocrate import ROCrate

from provledger.adapters.exporters.parquet import export_parquet
from provledger.adapters.exporters.prov import to_prov
from provledger.adapters.exporters.rocrate import write_crate
from provledger.adapters.readers.walk import read_items
from provledger.application.ingest import ingest
from provledger.application.ledger import Ledger
from tests.support import mlruns
from tests.support.e3sm_archive import E3smRun, exec_id

CAP = 1024 * 1024


def fill(ledger: Ledger, tmp_path: Path) -> None:
    for n in range(3):
        E3smRun(exec_id=exec_id(n), status="error" if n == 2 else "success").write(
            tmp_path / "perf"
        )
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "e")
    mlruns.run(
        exp,
        "a" * 32,
        params={"alpha": "0.1", "depth": "3"},
        metrics={"loss": "1000 0.5 0\n2000 0.4 1\n"},
    )
    summary = ingest(ledger, read_items([tmp_path], CAP))
    assert summary.created == 4


def test_parquet_tables_are_read_by_duckdb_and_pandas(ledger: Ledger, tmp_path: Path) -> None:
    fill(ledger, tmp_path)
    counts = export_parquet(ledger, tmp_path / "out")
    assert (counts.cases, counts.executions, counts.params) == (2, 4, 2)
    con = duckdb.connect()
    statuses = con.sql(
        f"SELECT status, count(*) FROM '{tmp_path}/out/executions.parquet' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert statuses == [("failed", 1), ("succeeded", 3)]
    joined = con.sql(
        f"SELECT e.execution_id, m.step, m.value FROM '{tmp_path}/out/metrics.parquet' m "
        f"JOIN '{tmp_path}/out/executions.parquet' e USING (id) WHERE m.name = 'loss' "
        "ORDER BY m.step"
    ).fetchall()
    assert joined == [("a" * 32, 0, 0.5), ("a" * 32, 1, 0.4)]
    cases = pd.read_parquet(tmp_path / "out" / "cases.parquet")
    assert set(cases["name"]) == {"v3.LR.historical_0121", "e"}
    executions = pd.read_parquet(tmp_path / "out" / "executions.parquet")
    assert executions["is_canonical"].sum() == 2
    assert str(executions["started"].dtype).startswith("datetime64")
    params = pd.read_parquet(tmp_path / "out" / "params.parquet")
    assert dict(zip(params["name"], params["value"], strict=True)) == {"alpha": "0.1", "depth": "3"}


def test_an_ingested_execution_exports_as_prov_and_as_a_crate(
    ledger: Ledger, tmp_path: Path
) -> None:
    fill(ledger, tmp_path)
    row = ledger.execution_row(exec_id(0))
    record = ledger.record_of(row["id"])
    parsed = ProvDocument.deserialize(content=json.dumps(to_prov(record, row["id"])), format="json")
    assert "e3sm_timing" in parsed.get_provn()
    write_crate(record, row["id"], tmp_path / "crate")
    crate = ROCrate(tmp_path / "crate")
    action = crate.get(f"#execution-{row['id']}")
    assert action["name"] == f"ac.user/v3.LR.historical_0121/{exec_id(0)}"
