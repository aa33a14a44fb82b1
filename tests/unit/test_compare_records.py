"""`diff`'s comparison (domain/compare.py): every section, changes first, plain values."""

from __future__ import annotations

from datetime import timedelta

from provledger.domain.compare import compare_records
from provledger.domain.record import Environment, FileRef, MetricPoint, Spec, Status
from tests.unit.records import T0, make_record


def test_two_records_differ_by_section_with_the_changes_first() -> None:
    a = make_record(
        "a",
        params={"dt": 0.5, "n": 4},
        spec=Spec(resolved={"box": {"nx": 64}}),
        metrics={"loss": [MetricPoint(0.3), MetricPoint(0.1)]},
        outputs=[FileRef("out.nc", sha256="1" * 64)],
        environment=Environment(host="h1", packages={"numpy": "1.26"}),
        ended=T0 + timedelta(seconds=10),
    )
    b = make_record(
        "b",
        status=Status.FAILED,
        params={"dt": "0.5", "n": 4},
        spec=Spec(resolved={"box": {"nx": 128}}),
        metrics={"loss": [MetricPoint(0.2)]},
        outputs=[FileRef("out.nc", sha256="2" * 64)],
        environment=Environment(host="h1", packages={"numpy": "2.0"}),
        ended=T0 + timedelta(seconds=20),
    )
    result = compare_records(a, b).to_public()
    sections = {s["name"]: s for s in result["sections"]}
    assert sections["config"]["changes"] == [{"field": "box.nx", "a": 64, "b": 128}]
    assert sections["params"]["changes"] == [{"field": "dt", "a": 0.5, "b": "0.5"}]
    assert sections["params"]["same"] == 1
    assert sections["metrics"]["changes"] == [{"field": "loss", "a": 0.1, "b": 0.2}]
    assert sections["outputs"]["changes"] == [{"field": "out.nc", "a": "1" * 64, "b": "2" * 64}]
    assert sections["status"]["changes"] == [{"field": "status", "a": "succeeded", "b": "failed"}]
    assert {c["field"] for c in sections["times"]["changes"]} == {"ended", "duration_s"}
    assert sections["environment"]["changes"] == [
        {"field": "packages.numpy", "a": "1.26", "b": "2.0"}
    ]
    names = [s["name"] for s in result["sections"]]
    unchanged = [s["name"] for s in result["sections"] if not s["changes"]]
    assert names[-len(unchanged) :] == unchanged  # sections with changes come first
    assert result["change_count"] == 8


def test_a_record_compared_with_itself_has_no_changes() -> None:
    a = make_record("a")
    assert compare_records(a, a).change_count == 0
