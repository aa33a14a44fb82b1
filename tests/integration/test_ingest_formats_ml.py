"""MLflow stores, entrenar run records and usher sidecars ingested into a real ledger."""

from __future__ import annotations

import json
from pathlib import Path

from provledger.adapters.readers.walk import read_items
from provledger.application.ingest import ingest
from provledger.application.ledger import Ledger
from tests.support import mlruns

CAP = 1024 * 1024


def test_mlflow_experiments_become_cases_with_a_canonical_run(
    ledger: Ledger, tmp_path: Path
) -> None:
    exp = mlruns.experiment(tmp_path / "mlruns", "1", "wine_quality")
    mlruns.run(exp, "a" * 32, status=4, params={"alpha": "0.1"}, start=1000)
    mlruns.run(exp, "b" * 32, params={"alpha": "0.1"}, start=2000)
    mlruns.run(exp, "c" * 32, params={"alpha": "0.5"}, start=3000)
    summary = ingest(ledger, read_items([tmp_path], CAP))
    assert (summary.created, summary.failed) == (3, 1)
    case = ledger.case_row("mlflow/wine_quality")
    assert case["canonical_execution_id"] == "b" * 32
    assert ledger.execution_row("c" * 32)["deltas"] == {
        "params.alpha": {"canonical": "0.1", "current": "0.5"}
    }
    assert ingest(ledger, read_items([tmp_path], CAP)).duplicates == 3


def test_entrenar_runs_with_the_same_id_in_two_experiments_are_both_recorded(
    ledger: Ledger, tmp_path: Path
) -> None:
    for exp in ("exp-a", "exp-b"):
        folder = tmp_path / exp
        folder.mkdir()
        run = {
            "run_id": "run-1",
            "experiment_name": exp,
            "status": "Completed",
            "params": {"lr": "0.1"},
            "metrics": {"loss": [{"value": 0.5, "step": 1}]},
        }
        (folder / "run-1.json").write_text(json.dumps(run))
    summary = ingest(ledger, read_items([tmp_path], CAP, "entrenar"))
    assert summary.created == 2
    assert {r["case_name"] for r in ledger.queries.list_executions().items} == {"exp-a", "exp-b"}


def test_usher_sidecars_record_steps_and_compare_data_source_versions(
    ledger: Ledger, tmp_path: Path
) -> None:
    for day, gnomad in ((1, "v4.0"), (2, "v4.1")):
        sidecar = {
            "pipeline_version": "0.1.0",
            "data_source_versions": {"gnomad_version": gnomad},
            "config_hash": "ab" * 32,
            "created_at": f"2026-02-0{day}T10:00:00+00:00",
            "processing_steps": [
                {
                    "name": "score",
                    "step_name": "score",
                    "timestamp": f"2026-02-0{day}T10:05:00+00:00",
                }
            ],
        }
        folder = tmp_path / f"day{day}"
        folder.mkdir()
        (folder / "scoring.provenance.provenance.json").write_text(json.dumps(sidecar))
    assert ingest(ledger, read_items([tmp_path], CAP)).created == 2
    later = ledger.execution_row("scoring@2026-02-02T10:00:00+00:00")
    assert later["deltas"] == {
        "spec.resolved.data_source_versions.gnomad_version": {
            "canonical": "v4.0",
            "current": "v4.1",
        }
    }
    assert [s.name for s in ledger.record_of(later["id"]).steps] == ["score"]
