"""PROV-JSON export: files with sha256 are entities, the execution and its steps activities,
user/code/importer agents; the `prov` package reads the document back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from prov.model import ProvActivity, ProvAgent, ProvDocument, ProvEntity

from provledger.adapters.exporters.prov import to_prov
from provledger.domain.record import (
    CodeVersion,
    Environment,
    ExecutionRecord,
    FileRef,
    ProcessingStep,
    Source,
    Spec,
    Status,
)

SHA_IN, SHA_OUT = "a" * 64, "b" * 64


def record() -> ExecutionRecord:
    t0 = datetime(2026, 2, 1, 10, tzinfo=UTC)
    return ExecutionRecord(
        execution_id="run-7",
        case="flood",
        namespace="lab",
        status=Status.SUCCEEDED,
        started=t0,
        ended=t0.replace(hour=11),
        spec=Spec(format="toml", resolved={"dt": 1}, sha256="c" * 64),
        inputs=[FileRef(uri="data/in.tif", sha256=SHA_IN, size=10, role="input")],
        outputs=[FileRef(uri="out/result.tif", sha256=SHA_OUT, role="output")],
        code=CodeVersion(repository="https://github.com/x/y", commit="abc", tag="v1"),
        environment=Environment(user="alice", machine="chrysalis"),
        steps=[
            ProcessingStep(name="load", at=t0.replace(minute=5)),
            ProcessingStep(name="score", at=t0.replace(minute=9)),
        ],
        source=Source(importer="usher"),
    )


def load(doc: dict[str, object]) -> ProvDocument:
    return ProvDocument.deserialize(content=json.dumps(doc), format="json")


def test_the_prov_package_reads_the_export_with_every_entity_activity_and_agent() -> None:
    parsed = load(to_prov(record(), "5b0e"))
    entities = [r for r in parsed.get_records() if isinstance(r, ProvEntity)]
    activities = [r for r in parsed.get_records() if isinstance(r, ProvActivity)]
    agents = [r for r in parsed.get_records() if isinstance(r, ProvAgent)]
    assert len(entities) == 3  # spec, input, output
    assert len(activities) == 3  # execution + 2 steps
    assert len(agents) == 3  # alice, the code, the importer
    shas = {str(v) for e in entities for k, v in e.attributes if k.localpart == "sha256"}
    assert {SHA_IN, SHA_OUT, "c" * 64} == shas


def test_inputs_are_used_and_outputs_generated_by_the_execution() -> None:
    doc = to_prov(record(), "5b0e")
    used = {u["prov:entity"] for u in doc["used"].values()}
    generated = {g["prov:entity"] for g in doc["wasGeneratedBy"].values()}
    labels = {k: v["prov:label"] for k, v in doc["entity"].items()}
    assert {labels[e] for e in generated} == {"out/result.tif"}
    assert "data/in.tif" in {labels[e] for e in used}
    act = doc["activity"]["exec:5b0e"]
    assert act["prov:startTime"] == "2026-02-01T10:00:00+00:00"
    assert act["provledger:status"] == "succeeded"


def test_steps_are_activities_informed_in_order() -> None:
    doc = to_prov(record(), "5b0e")
    informed = [(r["prov:informed"], r["prov:informant"]) for r in doc["wasInformedBy"].values()]
    assert informed == [("exec:5b0e-step-1", "exec:5b0e"), ("exec:5b0e-step-2", "exec:5b0e-step-1")]
    assert doc["activity"]["exec:5b0e-step-2"]["prov:label"] == "score"


def test_a_minimal_record_still_exports_valid_prov() -> None:
    minimal = ExecutionRecord(execution_id="x", case="c", status=Status.INCOMPLETE, missing=["a"])
    parsed = load(to_prov(minimal, "1"))
    assert parsed.get_provn().count("activity(") == 1


def test_a_lineage_graph_is_valid_prov_with_derivations() -> None:
    from provledger.adapters.exporters.prov import lineage_to_prov
    from provledger.application.lineage import Lineage

    graph = Lineage()
    base = {"namespace": "lab", "case_name": "flood", "status": "succeeded", "size": None}
    times = {"started": "2026-02-01T10:00:00+00:00", "ended": None, "role": None}
    for execution, direction, sha in (
        ("e1", "output", SHA_IN),
        ("e2", "input", SHA_IN),
        ("e2", "output", SHA_OUT),
    ):
        graph.add_row(
            {
                **base,
                **times,
                "execution": execution,
                "execution_id": execution,
                "direction": direction,
                "uri": f"{sha[:3]}.tif",
                "sha256": sha,
            },
            1,
        )
    document = lineage_to_prov(graph)
    parsed = ProvDocument.deserialize(content=json.dumps(document), format="json")
    assert len(list(parsed.get_records(ProvActivity))) == 2
    assert len(list(parsed.get_records(ProvEntity))) == 2
    (derived,) = document["wasDerivedFrom"].values()
    assert derived["prov:generatedEntity"] == f"file:{SHA_OUT}"
    assert derived["prov:usedEntity"] == f"file:{SHA_IN}"
    assert len(document["used"]) == 1
    assert len(document["wasGeneratedBy"]) == 2
