"""usher provenance sidecars: pipeline version -> code, sources and config hash -> spec,
processing steps with their timestamps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provledger.adapters.importers.usher import is_sidecar
from provledger.adapters.readers.walk import read_items
from provledger.domain.record import Status

CAP = 1024 * 1024
CONFIG_HASH = "9f2c" * 16


def sidecar(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pipeline_version": "0.1.0",
        "data_source_versions": {
            "ensembl_release": 113,
            "gnomad_version": "v4.1",
            "gtex_version": "v10",
            "hpa_version": "23.0",
        },
        "config_hash": CONFIG_HASH,
        "created_at": "2026-02-01T10:00:00+00:00",
        "processing_steps": [
            {
                "name": "map_gene_ids",
                "step_name": "map_gene_ids",
                "timestamp": "2026-02-01T10:05:00+00:00",
                "details": {"total_genes": 19000, "success_rate_hgnc": "98.5%"},
            },
            {
                "name": "load_scored_genes",
                "step_name": "load_scored_genes",
                "timestamp": "2026-02-01T10:09:00+00:00",
            },
        ],
    }
    return {**base, **changes}


def test_sidecar_names_with_one_or_two_provenance_suffixes_are_recognised() -> None:
    assert is_sidecar("setup.provenance.json")
    assert is_sidecar("constraint.provenance.provenance.json")
    assert not is_sidecar("candidates.provenance.yaml")
    assert not is_sidecar("reproducibility.json")


def test_a_sidecar_maps_version_sources_config_hash_and_steps(tmp_path: Path) -> None:
    path = tmp_path / "data" / "gnomad" / "constraint.provenance.provenance.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(sidecar(), indent=2))
    [item] = read_items([tmp_path], CAP)
    record = item.record
    assert record is not None
    assert (record.namespace, record.case) == ("usher", "constraint")
    assert record.execution_id == "constraint@2026-02-01T10:00:00+00:00"
    assert record.status is Status.SUCCEEDED
    assert record.code is not None
    assert record.code.version == "0.1.0"
    assert record.spec is not None
    assert record.spec.sha256 == CONFIG_HASH
    assert record.spec.resolved["data_source_versions"]["ensembl_release"] == 113
    assert [s.name for s in record.steps] == ["map_gene_ids", "load_scored_genes"]
    assert record.steps[0].details["total_genes"] == 19000
    assert record.ended is not None
    assert record.ended.minute == 9


def test_a_truncated_sidecar_is_a_per_item_error(tmp_path: Path) -> None:
    path = tmp_path / "scoring.provenance.json"
    path.write_text(json.dumps(sidecar())[:50])
    [item] = read_items([tmp_path], CAP, "usher")
    assert item.error is not None
    assert "malformed JSON" in item.error


def test_a_bad_step_timestamp_is_refused_naming_the_step(tmp_path: Path) -> None:
    steps = [{"name": "x", "step_name": "x", "timestamp": "yesterday"}]
    path = tmp_path / "scoring.provenance.json"
    path.write_text(json.dumps(sidecar(processing_steps=steps)))
    [item] = read_items([path], CAP)
    assert item.error is not None
    assert "processing_steps[0].timestamp" in item.error
