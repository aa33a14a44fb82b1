"""Commit and push between two ledgers (in memory), through the JSON wire format."""

from __future__ import annotations

import hashlib

import pytest

from provledger.application.ledger import Ledger
from provledger.application.sync.local import SyncState, commit, state_of
from provledger.application.sync.push import PushReport, push
from provledger.application.sync.receive import IncomingExecution, Received, receive
from provledger.application.sync.wire import RemoteUnavailableError, WireEvent, synced_wire
from provledger.domain.case import Case
from provledger.domain.context import acting_as
from provledger.domain.errors import ExecutionNotFoundError
from provledger.domain.execution import Execution
from provledger.domain.record import FileRef, Status
from tests.unit.records import make_record
from tests.unit.sync_support import FakeRemote, ledger_named

DATA = b"grid 64x64\n"
SHA = hashlib.sha256(DATA).hexdigest()


def _files(uri: str, sha: str) -> bytes | None:
    return DATA if sha == SHA else None


def _laptop_with_chain() -> tuple[Ledger, Ledger]:
    laptop = ledger_named("laptop")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record(
            [
                make_record("prep-1", case="prep", outputs=[FileRef(uri="grid.nc", sha256=SHA)]),
                make_record(
                    "run-1", case="ocean", minutes=5, inputs=[FileRef(uri="grid.nc", sha256=SHA)]
                ),
                make_record("other", case="ocean", minutes=9, status=Status.FAILED),
            ]
        )
    return laptop, ledger_named("server")


def _push(laptop: Ledger, remote: FakeRemote) -> PushReport:
    with acting_as(actor="user:alice", ledger="laptop"):
        return push(laptop, remote, files=_files)


def test_commit_marks_the_execution_and_the_chain_its_inputs_came_from() -> None:
    laptop, _ = _laptop_with_chain()
    result = commit(laptop, "run-1")
    assert sorted(result.committed) == ["default/ocean/run-1", "default/prep/prep-1"]
    again = commit(laptop, "run-1")
    assert again.committed == []
    assert len(again.already) == 2


def test_commit_of_an_unknown_execution_names_it() -> None:
    laptop, _ = _laptop_with_chain()
    with pytest.raises(ExecutionNotFoundError, match="run-9"):
        commit(laptop, "run-9")


def test_pushed_executions_keep_their_ids_actors_times_and_origin_ledger() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    remote = FakeRemote(server)
    report = _push(laptop, remote)
    assert (report.created, report.conflicts, report.files_uploaded) == (2, [], 1)
    local = laptop.execution("run-1")
    there = server.events.get(local.id)
    assert isinstance(there, Execution)
    mine = laptop.events.history(local.id)[0].event
    theirs = server.events.history(local.id)[0].event
    assert (theirs.actor, theirs.timestamp, theirs.ledger, theirs.correlation_id) == (
        mine.actor,
        mine.timestamp,
        mine.ledger,
        mine.correlation_id,
    )
    assert theirs.actor == "user:alice"
    assert theirs.ledger == "laptop"
    assert there.record == local.record
    assert remote.files == {SHA: DATA}


def test_the_server_opens_its_own_cases_and_chooses_the_first_successful() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    _push(laptop, FakeRemote(server))
    local_case = laptop.events.get(laptop.execution("run-1").case_id)
    case = server.events.get(local_case.id)
    assert isinstance(case, Case)
    assert case.canonical_external_id == "run-1"
    opened = server.events.history(case.id)[0].event
    assert opened.ledger == "server"  # the server's case, not a pushed one


def test_pushing_twice_changes_nothing_on_either_side() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    remote = FakeRemote(server)
    _push(laptop, remote)
    heads = (laptop.events.max_position(), server.events.max_position())
    report = _push(laptop, remote)
    assert report.sent == 0
    assert (laptop.events.max_position(), server.events.max_position()) == heads


def test_push_marks_pushed_and_status_follows_later_changes() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    key = laptop.execution("run-1").id
    assert state_of(laptop.events.history(key), "server") is SyncState.COMMITTED
    remote = FakeRemote(server)
    _push(laptop, remote)
    assert state_of(laptop.events.history(key), "server") is SyncState.PUSHED
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.annotate("run-1", tags={"reviewed": "yes"})
    assert state_of(laptop.events.history(key), "server") is SyncState.CHANGED
    report = _push(laptop, remote)
    assert (report.updated, report.sent) == (1, 1)
    assert server.events.get(key).tags == {"reviewed": "yes"}
    assert _push(laptop, remote).sent == 0


def test_an_interrupted_push_resumes_without_duplicating_anything() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    remote = FakeRemote(server)
    remote.fail_after_receive = True
    with pytest.raises(RemoteUnavailableError):
        _push(laptop, remote)
    key = laptop.execution("run-1").id
    assert state_of(laptop.events.history(key), "server") is SyncState.COMMITTED
    server_head = server.events.max_position()
    remote.fail_after_receive = False
    report = _push(laptop, remote)
    assert (report.unchanged, report.created) == (2, 0)
    assert server.events.max_position() == server_head
    assert state_of(laptop.events.history(key), "server") is SyncState.PUSHED


def test_a_conflicting_execution_is_reported_and_nothing_is_overwritten() -> None:
    laptop, server = _laptop_with_chain()
    with acting_as(actor="user:bob", ledger="server"):
        server.record([make_record("run-1", case="ocean", minutes=5, params={"dt": 0.25})])
    commit(laptop, "run-1")
    before_server = server.events.max_position()
    report = _push(laptop, FakeRemote(server))
    assert [c.execution_id for c in report.conflicts] == ["run-1"]
    assert "params" in report.conflicts[0].conflicting_fields
    assert server.record_of("run-1").params == {"dt": 0.25}
    assert laptop.record_of("run-1").params == {"dt": 0.5}
    key = laptop.execution("run-1").id
    assert state_of(laptop.events.history(key), "server") is SyncState.COMMITTED
    assert server.events.max_position() > before_server  # prep-1 went through


def test_the_remote_being_down_leaves_local_work_unchanged() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    head = laptop.events.max_position()
    remote = FakeRemote(server)
    remote.down = True
    with pytest.raises(RemoteUnavailableError, match="not reachable"):
        _push(laptop, remote)
    assert laptop.events.max_position() == head


def test_producers_are_pushed_before_the_executions_that_read_their_files() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    _push(laptop, FakeRemote(server))
    order = [
        pe.event.record.execution_id
        for pe in server.events.read(0, 100)
        if isinstance(pe.event, Execution.Recorded)
    ]
    assert order == ["prep-1", "run-1"]


def test_pushed_events_that_are_not_an_execution_are_refused_one_by_one() -> None:
    laptop, server = _laptop_with_chain()
    good = laptop.execution("prep-1")
    events = synced_wire([pe.event for pe in laptop.events.history(good.id)])
    other = laptop.execution("run-1").id
    bad_topic = [WireEvent("provledger:Pushed", {}), *events]
    results = receive(
        server,
        [
            IncomingExecution(other, events),  # the id is not prep-1's natural-key id
            IncomingExecution(good.id, bad_topic),
        ],
    )
    (created,) = receive(server, [IncomingExecution(good.id, events)])
    assert created.outcome is Received.CREATED
    invalid = [r for r in results if r.outcome is Received.INVALID]
    assert len(invalid) == 2
    assert any("uuid5" in (r.error or "") for r in invalid)
    assert any("ExecutionRecorded" in (r.error or "") for r in invalid)


def test_hostile_pushed_events_are_refused_and_nothing_is_appended() -> None:
    laptop, server = _laptop_with_chain()
    good = laptop.execution("prep-1")
    events = synced_wire([pe.event for pe in laptop.events.history(good.id)])
    recorded = events[0]
    as_case = WireEvent(recorded.topic, {**recorded.state, "originator_topic": "provledger:Case"})
    no_record = WireEvent(
        recorded.topic, {k: v for k, v in recorded.state.items() if k != "record"}
    )
    bad_id = WireEvent(
        recorded.topic,
        {**recorded.state, "record": {**recorded.state["record"], "execution_id": "a/b"}},
    )
    finished = WireEvent("provledger:ExecutionFinished", {"record": 3})
    head = server.events.max_position()
    results = receive(
        server,
        [
            IncomingExecution(good.id, [as_case]),
            IncomingExecution(good.id, [no_record]),
            IncomingExecution(good.id, [bad_id]),
            IncomingExecution(good.id, [recorded, finished]),
            IncomingExecution(good.id, []),
        ],
    )
    assert [r.outcome for r in results] == [Received.INVALID] * 5
    errors = " | ".join(r.error or "" for r in results)
    assert "must create an Execution" in errors
    assert "appears twice in the batch" in errors
    assert server.events.max_position() == head
    for wires in ([no_record], [bad_id], [recorded, finished]):
        (result,) = receive(server, [IncomingExecution(good.id, wires)])
        assert result.outcome is Received.INVALID, wires
    assert server.events.max_position() == head


def test_annotations_made_on_both_sides_merge_and_neither_is_lost() -> None:
    laptop, server = _laptop_with_chain()
    commit(laptop, "run-1")
    remote = FakeRemote(server)
    _push(laptop, remote)
    with acting_as(actor="user:bob", ledger="server"):
        server.annotate("run-1", tags={"site": "hpc"}, note="seen on the server")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.annotate("run-1", tags={"reviewed": "yes"})
    report = _push(laptop, remote)
    assert (report.updated, report.conflicts) == (1, [])
    assert server.execution("run-1").tags == {"site": "hpc", "reviewed": "yes"}
    assert server.execution("run-1").notes == ["seen on the server"]
    assert laptop.execution("run-1").tags == {"reviewed": "yes"}  # the laptop is unchanged
