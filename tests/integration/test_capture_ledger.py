"""Live capture on both backends: running -> final in one save, stale runs, reproduction."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from provledger.adapters.capture.errors import CaptureError
from provledger.adapters.capture.heartbeat import MemoryHeartbeats
from provledger.adapters.capture.reproducing import reproduce
from provledger.adapters.capture.session import Capture, RunRequest
from provledger.adapters.settings import Settings
from provledger.application.capture import (
    find_stale,
    finish_execution,
    key_of,
    mark_stale,
    start_execution,
)
from provledger.application.ledger import Ledger
from provledger.application.reproduce import ReproductionRefusedError
from provledger.domain.errors import ExecutionNotFoundError, ExecutionStateError
from provledger.domain.record import ExecutionRecord, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _running(eid: str, case: str = "c") -> ExecutionRecord:
    return ExecutionRecord(eid, case, Status.RUNNING, started=T0)


def _final(record: ExecutionRecord, status: Status) -> ExecutionRecord:
    return msgspec.structs.replace(record, status=status, ended=T0 + timedelta(seconds=5))


def test_a_finished_run_replaces_its_running_record_and_becomes_canonical(ledger: Ledger) -> None:
    running = _running("r1")
    start_execution(ledger, running)
    assert ledger.execution_row("r1")["status"] == "running"
    done = finish_execution(ledger, _final(running, Status.SUCCEEDED))
    assert done.canonical
    row = ledger.execution_row("r1")
    assert (row["status"], row["is_canonical"]) == ("succeeded", 1)
    names = [type(p.event).__name__ for p in ledger.history("r1")]
    assert names == ["Recorded", "Finished"]
    case_events = ledger.events.history(ledger.execution("r1").case_id)
    assert [type(p.event).__name__ for p in case_events] == ["Opened", "CanonicalChosen"]
    # the canonical choice and the final record were saved together, in one save
    finished = ledger.history("r1")[-1].position
    assert (case_events[-1].position, finished) == (finished - 1, done.position)


def test_a_failed_run_is_kept_but_never_canonical(ledger: Ledger) -> None:
    start_execution(ledger, _running("r1"))
    assert not finish_execution(ledger, _final(_running("r1"), Status.FAILED)).canonical
    start_execution(ledger, _running("r2"))
    assert finish_execution(ledger, _final(_running("r2"), Status.SUCCEEDED)).canonical
    start_execution(ledger, _running("r3"))
    assert not finish_execution(ledger, _final(_running("r3"), Status.SUCCEEDED)).canonical
    assert ledger.execution_row("r1")["status"] == "failed"
    assert ledger.execution_row("r2")["is_canonical"] == 1


def test_a_final_record_cannot_be_finished_again(ledger: Ledger) -> None:
    start_execution(ledger, _running("r1"))
    finish_execution(ledger, _final(_running("r1"), Status.SUCCEEDED))
    with pytest.raises(ExecutionStateError, match="not running"):
        finish_execution(ledger, _final(_running("r1"), Status.FAILED))
    assert ledger.execution_row("r1")["status"] == "succeeded"


def test_starting_an_execution_twice_is_refused(ledger: Ledger) -> None:
    start_execution(ledger, _running("r1"))
    with pytest.raises(ExecutionStateError, match="already recorded"):
        start_execution(ledger, _running("r1"))


def test_finishing_an_unknown_execution_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ExecutionNotFoundError, match="no execution 'ghost'"):
        finish_execution(ledger, _final(_running("ghost"), Status.SUCCEEDED))


def test_silent_running_executions_are_stale_and_can_be_marked_unknown(ledger: Ledger) -> None:
    beats = MemoryHeartbeats()
    for eid in ("alive", "dead", "never-beat"):
        start_execution(ledger, _running(eid))
    now = datetime.now(UTC)
    beats.beats[key_of(_running("alive"))] = now
    beats.beats[key_of(_running("dead"))] = now - timedelta(minutes=10)
    stale = find_stale(ledger, beats, timeout=60, now=now)
    assert sorted(s.execution_id for s in stale) == ["dead", "never-beat"]
    done = mark_stale(ledger, beats, stale)
    assert {d.status for d in done} == {Status.UNKNOWN}
    assert ledger.execution_row("dead")["status"] == "unknown"
    assert ledger.execution_row("alive")["status"] == "running"
    record = ledger.record_of("dead")
    assert "no heartbeat" in record.logs[-1]
    assert find_stale(ledger, beats, timeout=60, now=now) == []


def test_stale_runs_can_only_end_unknown_or_cancelled(ledger: Ledger) -> None:
    start_execution(ledger, _running("r1"))
    stale = find_stale(ledger, MemoryHeartbeats(), timeout=1, now=datetime.now(UTC))
    with pytest.raises(ExecutionStateError, match="unknown or cancelled"):
        mark_stale(ledger, MemoryHeartbeats(), stale, Status.SUCCEEDED)
    mark_stale(ledger, MemoryHeartbeats(), stale, Status.CANCELLED)
    assert ledger.execution_row("r1")["status"] == "cancelled"


def _capture(ledger: Ledger, tmp_path: Path) -> Capture:
    return Capture(ledger, tmp_path / "home", MemoryHeartbeats())


def _script(tmp_path: Path) -> list[str]:
    (tmp_path / "in.txt").write_text("42\n")
    (tmp_path / "run.toml").write_text('input = "in.txt"\nscale = 2\n')
    code = (
        "import pathlib; pathlib.Path('out.txt').write_text(pathlib.Path('in.txt').read_text() * 2)"
    )
    return [sys.executable, "-c", code]


def test_a_captured_command_is_recorded_with_config_inputs_outputs_and_logs(
    ledger: Ledger, tmp_path: Path
) -> None:
    request = RunRequest(
        _script(tmp_path),
        cwd=tmp_path,
        config=Path("run.toml"),
        outputs=[Path("out.txt")],
        echo=False,
    )
    outcome = _capture(ledger, tmp_path).run(request)
    final = outcome.final
    assert final.status is Status.SUCCEEDED
    assert outcome.finished.canonical
    assert {r.uri: r.role for r in final.inputs} == {"run.toml": "config", "in.txt": "config:input"}
    assert final.outputs[0].uri == "out.txt"
    assert final.spec is not None
    assert final.spec.resolved["values"] == {"input": "in.txt", "scale": 2}
    assert {a.role for a in final.artifacts} == {"stdout", "stderr"}
    assert outcome.record_file == tmp_path / "out.record.json"
    assert msgspec.json.decode(outcome.record_file.read_bytes(), type=ExecutionRecord) == final
    assert ledger.record_of(final.execution_id) == final


def test_a_reproduction_with_the_same_inputs_is_identical(ledger: Ledger, tmp_path: Path) -> None:
    capture = _capture(ledger, tmp_path)
    request = RunRequest(
        _script(tmp_path),
        cwd=tmp_path,
        config=Path("run.toml"),
        outputs=[Path("out.txt")],
        echo=False,
    )
    first = capture.run(request).final
    again = reproduce(capture, first.execution_id, echo=False).final
    assert again.reproduces == first.execution_id
    assert again.attributes["reproduction"]["verdict"] == "identical"
    assert ledger.execution_row(again.execution_id)["tags"]["reproduction.verdict"] == "identical"
    names = [type(p.event).__name__ for p in ledger.history(first.execution_id)]
    assert names[-1] == "ReproductionRequested"


def test_a_reproduction_with_changed_inputs_is_refused_listing_them(
    ledger: Ledger, tmp_path: Path
) -> None:
    capture = _capture(ledger, tmp_path)
    request = RunRequest(
        _script(tmp_path),
        cwd=tmp_path,
        config=Path("run.toml"),
        outputs=[Path("out.txt")],
        echo=False,
    )
    first = capture.run(request).final
    (tmp_path / "in.txt").write_text("43\n")
    before = ledger.queries.counts()
    with pytest.raises(ReproductionRefusedError, match=r"in\.txt"):
        reproduce(capture, first.execution_id, echo=False)
    assert ledger.queries.counts() == before
    forced = reproduce(capture, first.execution_id, force=True, echo=False).final
    assert forced.attributes["reproduction"]["verdict"] == "differ"
    assert forced.attributes["reproduction"]["differing"] == ["out.txt"]


def test_a_missing_config_records_nothing(ledger: Ledger, tmp_path: Path) -> None:
    request = RunRequest(["true"], cwd=tmp_path, config=Path("missing.toml"), echo=False)
    with pytest.raises(CaptureError, match="config file not found"):
        _capture(ledger, tmp_path).run(request)
    assert ledger.queries.list_executions().items == []


def test_the_heartbeat_of_a_finished_run_is_cleared(ledger: Ledger, tmp_path: Path) -> None:
    capture = _capture(ledger, tmp_path)
    outcome = capture.run(RunRequest(["true"], cwd=tmp_path, echo=False))
    assert capture.heartbeats.last(UUID(str(key_of(outcome.final)))) is None


def test_a_run_that_writes_only_never_builds_the_read_side_and_the_next_reader_sees_it(
    settings: Settings, tmp_path: Path
) -> None:
    from provledger.adapters.bootstrap import bootstrap

    writer = bootstrap(settings)
    capture = Capture(writer, tmp_path / "home", MemoryHeartbeats(), catch_up=False)
    try:
        outcome = capture.run(RunRequest([sys.executable, "-c", "pass"], cwd=tmp_path, echo=False))
        assert writer._read_side is None  # no projections imported, opened or caught up
    finally:
        writer.close()
    reader = bootstrap(settings)
    try:
        row = reader.execution_row(outcome.final.execution_id)  # caught up on first use
        assert (row["status"], row["is_canonical"]) == ("succeeded", 1)
    finally:
        reader.close()
