"""The ledger from the command line, on both backends, as a new user would use it."""

import json
import shutil
from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.conftest import EXAMPLES, SAMPLES
from tests.e2e.cli import Cli


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


def test_ingesting_the_sample_folder_shows_cases_with_canonicals_and_deltas(cli: Cli) -> None:
    summary = cli.json("ingest", str(EXAMPLES / "records"))
    assert (summary["created"], summary["errors"], summary["incomplete"], summary["failed"]) == (
        6,
        0,
        1,
        1,
    )
    cases = {c["name"]: c for c in cli.json("cases")}
    ocean = cases["ocean-box"]
    assert ocean["namespace"] == "climate"
    assert ocean["canonical_execution_id"] == "run-2"
    changes = {e["execution_id"]: e["change_count"] for e in ocean["executions"]}
    assert changes == {"run-1": 1, "run-2": 0, "run-3": 4, "run-4": 1}
    # run-4 is incomplete: the fields it never reported are missing, not changed
    missing = {e["execution_id"]: e["missing_count"] for e in ocean["executions"]}
    assert missing == {"run-1": 0, "run-2": 0, "run-3": 0, "run-4": 6}
    again = cli.json("ingest", str(EXAMPLES / "records"))
    assert (again["created"], again["duplicates"]) == (0, 6)
    assert "climate/ocean-box" in cli("cases").stdout


def test_show_history_and_diff_accept_the_external_execution_id(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    shown = cli.json("show", "run-3")
    assert shown["record"]["params"] == {"dt": 0.25, "compiler": "intel"}
    assert shown["deltas"]["params.compiler"] == {"canonical": "gnu", "current": "intel"}
    history = cli.json("history", "run-3")
    assert [h["type"] for h in history] == ["ExecutionRecorded"]
    assert history[0]["position"] > 0
    diff = cli.json("diff", "run-2", "run-3")
    assert (diff["a"]["execution_id"], diff["b"]["execution_id"]) == ("run-2", "run-3")
    sections = {s["name"]: s["change_count"] for s in diff["sections"]}
    assert sections["config"] + sections["params"] + sections["code"] == 4  # the 4 deltas
    assert "run-3" in cli("show", "run-3").stdout


def test_choosing_a_canonical_by_hand_keeps_the_previous_choice_in_history(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    cli("canonical", "set", "climate/ocean-box", "run-3", "--reason", "higher resolution")
    case = next(c for c in cli.json("cases") if c["name"] == "ocean-box")
    assert case["canonical_execution_id"] == "run-3"
    assert case["canonical_reason"] == "manual"
    changes = {e["execution_id"]: e["change_count"] for e in case["executions"]}
    assert changes["run-3"] == 0
    assert changes["run-2"] == 4
    canonical = cli.json("executions", "--case", "climate/ocean-box", "--canonical")
    assert [e["execution_id"] for e in canonical] == ["run-3"]


def test_history_shows_the_canonical_choices_naming_the_execution(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    cli("canonical", "set", "climate/ocean-box", "run-3", "--reason", "higher resolution")
    chosen = [h for h in cli.json("history", "run-3") if h["type"] == "CanonicalChosen"]
    assert [(h["payload"]["execution_id"], h["payload"]["reason"]) for h in chosen] == [
        ("run-3", "manual")
    ]
    assert chosen[0]["payload"]["previous_execution_id"] == "run-2"
    # run-2 was chosen first (first success), then replaced by run-3: both concern it
    replaced = [h for h in cli.json("history", "run-2") if h["type"] == "CanonicalChosen"]
    assert [h["payload"]["execution_id"] for h in replaced] == ["run-2", "run-3"]
    assert all(h["correlation_id"] for h in replaced)
    table = cli("history", "run-3").stdout
    assert "CanonicalChosen" in table
    assert "correlation id" in table
    assert chosen[0]["correlation_id"] in table


def test_a_bad_batch_reports_each_bad_file_and_records_the_rest(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    shutil.copytree(EXAMPLES / "records" / "ocean", folder)
    (folder / "malformed.record.json").write_text('{"execution_id": "x", ')
    (folder / "bad.record.toml").write_text("execution_id = ")
    (folder / "status.record.json").write_text(
        json.dumps({"execution_id": "s", "case": "c", "status": "finished"})
    )
    (folder / "noid.record.json").write_text(json.dumps({"case": "c"}))
    (folder / "slash.record.json").write_text(json.dumps({"execution_id": "../etc", "case": "c"}))
    with (folder / "huge.record.json").open("wb") as f:
        f.truncate(100_000_000)
    (folder / "notes.json").write_text('{"not": "a record"}')
    proc = cli("ingest", str(folder), "--json", check=False)
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert (summary["created"], summary["errors"], summary["skipped"]) == (4, 6, 1)
    messages = {Path(e["path"]).name: e["message"] for e in summary["error_details"]}
    assert "malformed JSON" in messages["malformed.record.json"]
    assert "malformed TOML" in messages["bad.record.toml"]
    assert "field status" in messages["status.record.json"]
    assert "execution_id" in messages["noid.record.json"]
    assert "path separators" in messages["slash.record.json"]
    assert "record limit" in messages["huge.record.json"]
    assert {e["execution_id"] for e in cli.json("executions")} == {
        "run-1",
        "run-2",
        "run-3",
        "run-4",
    }


def test_recording_a_conflicting_file_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("record", str(EXAMPLES / "records" / "ocean" / "run-2.record.json"))
    changed = json.loads((EXAMPLES / "records" / "ocean" / "run-2.record.json").read_text())
    changed["params"]["dt"] = 99
    path = tmp_path / "run-2-changed.json"
    path.write_text(json.dumps(changed))
    proc = cli("record", str(path), check=False)
    assert proc.returncode == 1
    assert "different content in: params" in proc.stderr
    assert cli.json("show", "run-2")["record"]["params"]["dt"] == 0.25


def test_unknown_references_and_options_get_one_clear_line(cli: Cli) -> None:
    cli("init")
    missing = cli("show", "nope", check=False)
    assert missing.returncode == 2
    assert "no execution 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_status = cli("executions", "--status", "done", check=False)
    assert "unknown --status 'done'" in bad_status.stderr
    bad_format = cli("ingest", ".", "--format", "weird", check=False)
    assert "unknown --format 'weird'" in bad_format.stderr


def test_projections_report_their_lag_and_rebuild(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    before = cli.json("cases")
    status = cli.json("projections", "status")
    assert {s["name"]: s["lag"] for s in status} == {"cases": 0, "executions": 0, "search": 0}
    cli("projections", "rebuild")
    assert cli.json("cases") == before
    bad = cli("projections", "rebuild", "nonsense", check=False)
    assert "no projection named nonsense" in bad.stderr


def test_tags_and_notes_are_new_events_not_edits(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    cli("tag", "run-2", "reviewed=yes", "campaign=", "--note", "checked by hand")
    shown = cli.json("show", "run-2")
    assert shown["tags"] == {"reviewed": "yes"}
    assert shown["record"]["tags"] == {"campaign": "spinup"}  # the record stays as recorded
    assert [h["type"] for h in cli.json("history", "run-2")] == [
        "CanonicalChosen",  # saved with the record, first in the log: run-2 is the first success
        "ExecutionRecorded",
        "ExecutionAnnotated",
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_real_dissmodel_records_are_read_as_they_were_written(cli: Cli) -> None:
    folder = SAMPLES / "dissmodel"
    if not folder.exists():
        pytest.skip("../shared/samples is not beside the project")
    summary = cli.json("ingest", str(folder))
    assert summary["errors"] == 0
    assert summary["created"] == 4


def test_projections_apply_many_events_per_batch_and_a_bad_batch_size_is_named(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVLEDGER_PROJECTION_BATCH_SIZE", "2")  # many small batches
    cli("ingest", str(EXAMPLES / "records" / "ocean"))
    small = cli.json("executions")
    monkeypatch.setenv("PROVLEDGER_PROJECTION_BATCH_SIZE", "5000")
    cli("projections", "rebuild")
    assert cli.json("executions") == small
    monkeypatch.setenv("PROVLEDGER_PROJECTION_BATCH_SIZE", "0")
    result = cli("cases", check=False)
    assert result.returncode == 2
    assert "projection_batch_size" in result.stderr
    monkeypatch.delenv("PROVLEDGER_PROJECTION_BATCH_SIZE")
    assert cli.json("executions") == small  # nothing recorded was changed


def test_a_record_file_that_progressed_is_ingested_again_as_an_update(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    path = folder / "run-9.record.json"
    record = {
        "execution_id": "run-9",
        "case": "ocean",
        "status": "running",
        "started": "2026-01-01T10:00:00Z",
        "metrics": {"energy": [{"value": 1.0, "step": 0}]},
    }
    path.write_text(json.dumps(record))
    assert cli.json("ingest", str(folder))["created"] == 1
    record.update(status="succeeded", ended="2026-01-01T11:00:00Z", tags={"checked": "yes"})
    record["metrics"]["energy"].append({"value": 0.5, "step": 1})  # type: ignore[index]
    path.write_text(json.dumps(record))

    summary = cli.json("ingest", str(folder))
    assert (summary["created"], summary["updated"], summary["conflicts"]) == (0, 1, 0)
    assert summary["canonical_chosen"] == 1
    shown = cli.json("show", "run-9")
    assert shown["record"]["status"] == "succeeded"
    assert len(shown["record"]["metrics"]["energy"]) == 2
    history = cli("history", "run-9").stdout
    assert "ExecutionUpdated" in history
    again = cli.json("ingest", str(folder))
    assert (again["updated"], again["duplicates"]) == (0, 1)
    assert again["position"] == summary["position"] > 0  # the head, not 0, on a no-op


def test_an_ingest_that_finds_no_records_fails_saying_so(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    proc = cli("ingest", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 1
    assert "no records found" in proc.stderr
