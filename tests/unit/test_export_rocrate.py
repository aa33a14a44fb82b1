"""RO-Crate export: a Process Run Crate that ro-crate-py reads and that parses as JSON-LD with
the RO-Crate 1.1 context (shipped by ro-crate-py, so no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
import rocrate
from rocrate.rocrate import ROCrate

from provledger.adapters.exporters.rocrate import PROCESS_RUN, write_crate
from provledger.domain.record import Status
from tests.unit.test_export_prov import record

SCHEMA = rdflib.Namespace("http://schema.org/")


def test_ro_crate_py_reads_the_crate_as_a_process_run(tmp_path: Path) -> None:
    write_crate(record(), "5b0e", tmp_path / "crate")
    crate = ROCrate(tmp_path / "crate")
    root = crate.root_dataset
    assert root.properties()["conformsTo"] == {"@id": PROCESS_RUN}
    action = crate.get("#execution-5b0e")
    assert action.type == "CreateAction"
    assert action["startTime"] == "2026-02-01T10:00:00+00:00"
    assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert action["instrument"].type == "SoftwareApplication"
    assert action["agent"]["name"] == "alice"
    results = {r.id for r in action["result"]}
    assert "record.json" in results
    record_file = crate.get("record.json")
    assert record_file["sha256"]
    assert (tmp_path / "crate" / "record.json").is_file()


def test_the_crate_is_valid_json_ld_under_the_ro_crate_context(tmp_path: Path) -> None:
    target = write_crate(record(), "5b0e", tmp_path / "crate")
    context = json.loads((Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld").read_text())
    doc = json.loads(target.read_text())
    doc["@context"] = context["@context"]
    graph = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld", base="arcp://uuid,1/")
    actions = list(graph.subjects(rdflib.RDF.type, SCHEMA.CreateAction))
    assert len(actions) == 1
    assert list(graph.objects(actions[0], SCHEMA.object))
    assert list(graph.objects(actions[0], SCHEMA.result))


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "crate").mkdir()
    (tmp_path / "crate" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty directory"):
        write_crate(record(), "5b0e", tmp_path / "crate")
    assert (tmp_path / "crate" / "keep.txt").read_text() == "mine"


def test_an_incomplete_execution_says_what_is_missing(tmp_path: Path) -> None:
    from msgspec.structs import replace

    incomplete = replace(record(), status=Status.INCOMPLETE, missing=["GIT_DESCRIBE.*"])
    target = write_crate(incomplete, "5b0e", tmp_path / "crate")
    graph = json.loads(target.read_text())["@graph"]
    action = next(e for e in graph if e["@id"] == "#execution-5b0e")
    assert "actionStatus" not in action
    assert action["description"].endswith("incomplete record; missing: GIT_DESCRIBE.*")
