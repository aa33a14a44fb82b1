"""Exported crates are valid Process Run Crates: roc-validator (run offline) passes every REQUIRED
check of `process-run-crate` and the RECOMMENDED ones that apply, and ro-crate-py reads each crate
and writes it out again.

roc-validator fetches the RO-Crate JSON-LD context over HTTP (through requests; rdflib's own
fetcher is a fallback). Tests have no network: every HTTP request is answered by a local transport
that serves the context from the copy ro-crate-py ships (its RO-Crate context, a superset of the
1.1 terms) and refuses every other URL, and urllib is refused outright. A check that needed
anything else would fail here, so CI checks validity on every change with no internet.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import rocrate
from msgspec.structs import replace
from requests.adapters import HTTPAdapter
from rocrate.rocrate import ROCrate

from provledger.adapters.exporters.rocrate import COMPLETED, FAILED, write_crate
from provledger.domain.record import CodeVersion, ExecutionRecord, FileRef, Source, Status
from tests.unit.test_export_prov import record

rocrate_validator = pytest.importorskip("rocrate_validator", reason="roc-validator not installed")
from rocrate_validator import services  # noqa: E402

CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
# RECOMMENDED checks the exporter cannot meet from what a record holds: who authored and who
# publishes the crate, the code's URL (unknown without a repository URL) and its version (unknown
# without a code version).
NOT_APPLICABLE = {
    "Root Data Entity: `author` property",
    "Root Data Entity: `publisher` property",
}
NO_REPOSITORY = {"Application url", "SoftwareApplication id"}
UNKNOWN_CODE = {"version or softwareVersion"}


def _context() -> bytes:
    shipped = Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld"
    document = json.loads(shipped.read_text(encoding="utf-8"))
    document["@id"] = CONTEXT_URL
    return json.dumps(document).encode()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request served locally (the context) or refused; the URLs asked for."""
    context = _context()
    asked: list[str] = []

    def send(self: HTTPAdapter, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        url = str(request.url)
        asked.append(url)
        if url.split("#")[0].rstrip("/") != CONTEXT_URL:
            raise requests.ConnectionError(f"offline test: no network for {url}")
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.request = request
        response.headers["Content-Type"] = "application/ld+json"
        response._content = context
        return response

    def no_urlopen(*args: Any, **kwargs: Any) -> Any:
        raise OSError(f"offline test: urllib asked for {args[0] if args else kwargs}")

    monkeypatch.setattr(HTTPAdapter, "send", send)
    monkeypatch.setattr(urllib.request, "urlopen", no_urlopen)
    return asked


def _issues(crate: Path, severity: str) -> tuple[bool, set[str], list[str]]:
    settings = services.ValidationSettings(
        rocrate_uri=str(crate),
        profile_identifier="process-run-crate",
        requirement_severity=severity,
        no_cache=True,
    )
    result = services.validate(settings)
    issues = result.get_issues()
    names = {i.check.name for i in issues}
    return result.passed(), names, [f"{i.check.name}: {i.message}" for i in issues]


def _code_unknown() -> ExecutionRecord:
    return replace(record(), code=None, source=Source(importer="dissmodel"))


def _failed() -> ExecutionRecord:
    return replace(record(), status=Status.FAILED, code=CodeVersion(commit="abc"))


def _with_files() -> ExecutionRecord:
    t0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    return replace(
        record(),
        started=t0,
        ended=t0 + timedelta(minutes=3, microseconds=7),
        inputs=[
            FileRef(uri="/data/in/forcing.nc", sha256="a" * 64, size=2048, role="input"),
            FileRef(uri="https://example.org/grid.csv", role="grid"),
        ],
        outputs=[FileRef(uri="s3://bucket/out/state.parquet", sha256="b" * 64, role="output")],
        artifacts=[
            FileRef(uri="artifact:model", sha256="c" * 64, role="model"),
            FileRef(uri="plots/loss curve.png", size=10, role="plot"),
            FileRef(uri="logs/run.log.gz", role="log"),
        ],
        params={"dt": 0.25, "solver": "cg", "grid": {"nx": 64}},
    )


EXECUTIONS = {
    "succeeded with code version": record,
    "without code version": _code_unknown,
    "failed": _failed,
    "with inputs, outputs and artifacts": _with_files,
    "running": lambda: replace(record(), status=Status.RUNNING, ended=None),
    "incomplete": lambda: replace(record(), status=Status.INCOMPLETE, missing=["GIT_DESCRIBE.*"]),
}


@pytest.mark.parametrize("kind", list(EXECUTIONS))
def test_every_exported_crate_passes_the_required_process_run_crate_checks(
    kind: str, tmp_path: Path, offline: list[str]
) -> None:
    write_crate(EXECUTIONS[kind](), "5b0e", tmp_path / "crate")
    passed, _, issues = _issues(tmp_path / "crate", "REQUIRED")
    assert passed, issues
    assert set(offline) <= {CONTEXT_URL}, offline  # nothing but the context was asked for


@pytest.mark.parametrize("kind", list(EXECUTIONS))
def test_exported_crates_pass_the_recommended_checks_that_apply(
    kind: str, tmp_path: Path, offline: list[str]
) -> None:
    execution = EXECUTIONS[kind]()
    write_crate(execution, "5b0e", tmp_path / "crate")
    _, names, issues = _issues(tmp_path / "crate", "RECOMMENDED")
    repository = execution.code.repository if execution.code else None
    allowed = NOT_APPLICABLE | (set() if repository else NO_REPOSITORY)
    if execution.code is None:
        allowed |= UNKNOWN_CODE
    if execution.ended is None:
        allowed.add("Action endTime")  # still running: no end yet
    assert names <= allowed, issues


def test_status_and_times_are_written_in_the_form_the_profile_checks(tmp_path: Path) -> None:
    target = write_crate(_with_files(), "5b0e", tmp_path / "crate")
    graph = {e["@id"]: e for e in json.loads(target.read_text())["@graph"]}
    action = graph["#execution-5b0e"]
    assert action["actionStatus"] == COMPLETED
    assert action["startTime"] == "2026-03-01T14:30:15.123+00:00"
    assert action["endTime"] == "2026-03-01T14:33:15.123+00:00"
    failed = write_crate(_failed(), "5b0e", tmp_path / "failed")
    failed_action = next(
        e for e in json.loads(failed.read_text())["@graph"] if e["@id"] == "#execution-5b0e"
    )
    assert failed_action["actionStatus"] == FAILED
    formats = {e["name"]: e["encodingFormat"] for e in graph.values() if e["@type"] == "File"}
    assert formats["/data/in/forcing.nc"] == "application/x-netcdf"
    assert formats["logs/run.log.gz"] == "application/gzip"
    assert formats["artifact:model"] == "application/octet-stream"


def test_a_crate_without_a_code_version_still_names_an_instrument(tmp_path: Path) -> None:
    target = write_crate(_code_unknown(), "5b0e", tmp_path / "crate")
    graph = {e["@id"]: e for e in json.loads(target.read_text())["@graph"]}
    software = graph[graph["#execution-5b0e"]["instrument"]["@id"]]
    assert software["@type"] == "SoftwareApplication"
    assert "not recorded" in software["description"]


def test_the_root_states_a_license_given_or_says_none_was_stated(tmp_path: Path) -> None:
    stated = write_crate(record(), "5b0e", tmp_path / "stated", license="CC-BY-4.0")
    graph = {e["@id"]: e for e in json.loads(stated.read_text())["@graph"]}
    assert graph["./"]["license"] == {"@id": "https://spdx.org/licenses/CC-BY-4.0"}
    unstated = write_crate(record(), "5b0e", tmp_path / "unstated")
    graph = {e["@id"]: e for e in json.loads(unstated.read_text())["@graph"]}
    assert graph[graph["./"]["license"]["@id"]]["name"] == "License not stated"


@pytest.mark.parametrize("kind", list(EXECUTIONS))
def test_ro_crate_py_reads_and_writes_every_crate_back(kind: str, tmp_path: Path) -> None:
    write_crate(EXECUTIONS[kind](), "5b0e", tmp_path / "crate")
    before = {
        e["@id"]
        for e in json.loads((tmp_path / "crate" / "ro-crate-metadata.json").read_text())["@graph"]
    }
    ROCrate(tmp_path / "crate").write(tmp_path / "out")
    written = json.loads((tmp_path / "out" / "ro-crate-metadata.json").read_text())
    after = {e["@id"] for e in written["@graph"]}
    assert before <= after
    assert (tmp_path / "out" / "record.json").read_bytes() == (
        tmp_path / "crate" / "record.json"
    ).read_bytes()
    again = ROCrate(tmp_path / "out")
    action = again.get("#execution-5b0e")
    assert action.type == "CreateAction"
    assert action["instrument"].type == "SoftwareApplication"


def test_the_offline_transport_refuses_other_urls(offline: list[str]) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get("https://example.org/", timeout=1)
    assert offline == ["https://example.org/"]
