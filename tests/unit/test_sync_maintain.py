"""update, delete and gc on ledgers in memory: nothing unpushed is ever lost."""

from __future__ import annotations

import hashlib

import pytest

from provledger.application.ledger import Ledger
from provledger.application.sync.local import SyncState, commit, state_of
from provledger.application.sync.maintain import (
    KEPT_LOCAL,
    KEPT_RESTRICTED,
    KEPT_UNPUSHED,
    delete,
    gc,
    update,
)
from provledger.application.sync.push import push
from provledger.application.sync.receive import IncomingExecution, receive
from provledger.application.sync.wire import synced_wire
from provledger.domain.context import acting_as
from provledger.domain.errors import ExecutionStateError
from provledger.domain.execution import Execution
from provledger.domain.record import FileRef
from tests.unit.records import make_record
from tests.unit.sync_support import FakeRemote, MemoryDataStore, ledger_named

GRID = hashlib.sha256(b"grid").hexdigest()
SST = hashlib.sha256(b"sst").hexdigest()


def _pushed_run() -> tuple[Ledger, Ledger, FakeRemote]:
    laptop, server = ledger_named("laptop"), ledger_named("server")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record("run-1", outputs=[FileRef(uri="sst.nc", sha256=SST)])])
        commit(laptop, "run-1")
        remote = FakeRemote(server)
        push(laptop, remote, files=lambda uri, sha: b"sst")
    return laptop, server, remote


def _pull(desk: Ledger, server: Ledger, ref: str) -> None:
    key = server.execution(ref).id
    events = synced_wire([pe.event for pe in server.events.history(key)])
    with acting_as(actor="user:bob", ledger="desk"):
        receive(desk, [IncomingExecution(key, events)])


def _state(ledger: Ledger, ref: str, remote: str | None = None) -> SyncState:
    history = ledger.events.history(ledger.execution(ref).id)
    return state_of(history, remote, ledger.ledger_id)


def test_update_brings_newer_remote_events_to_pulled_copies_once() -> None:
    laptop, server, _ = _pushed_run()
    desk = ledger_named("desk")
    _pull(desk, server, "run-1")
    assert _state(desk, "run-1") is SyncState.PULLED
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.annotate("run-1", tags={"reviewed": "yes"})
        push(laptop, FakeRemote(server))
    with acting_as(actor="user:bob", ledger="desk"):
        first = update(desk, FakeRemote(server))
        second = update(desk, FakeRemote(server))
    assert [r.outcome.value for r in first.results] == ["updated"]
    assert [r.outcome.value for r in second.results] == ["unchanged"]
    assert desk.execution("run-1").tags == {"reviewed": "yes"}
    assert _state(desk, "run-1") is SyncState.PULLED


def test_update_keeps_a_pushed_execution_in_sync_with_its_remote() -> None:
    laptop, server, _ = _pushed_run()
    desk = ledger_named("desk")
    _pull(desk, server, "run-1")
    with acting_as(actor="user:bob", ledger="desk"):
        commit(desk, "run-1")
        push(desk, FakeRemote(server))
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.annotate("run-1", note="checked")
        push(laptop, FakeRemote(server))
    with acting_as(actor="user:bob", ledger="desk"):
        update(desk, FakeRemote(server))
    assert _state(desk, "run-1", "server") is SyncState.PUSHED


def test_update_skips_executions_recorded_here() -> None:
    laptop, _, remote = _pushed_run()
    with acting_as(actor="user:alice", ledger="laptop"):
        report = update(laptop, remote)
    assert (report.checked, report.results) == (0, [])


def test_delete_needs_force_for_work_that_is_on_no_remote_and_keeps_history() -> None:
    laptop = ledger_named("laptop")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record("run-1")])
        with pytest.raises(ExecutionStateError, match="--force"):
            delete(laptop, "run-1", MemoryDataStore(), force=False, reason="typo")
        done = delete(laptop, "run-1", MemoryDataStore(), force=True, reason="typo")
    assert done.state == "local only"
    history = laptop.history("run-1")
    assert [type(pe.event) for pe in history] == [Execution.Recorded, Execution.Retracted]
    assert history[-1].event.reason == "typo"


def test_delete_of_a_pushed_execution_drops_its_cached_files() -> None:
    laptop, _, _ = _pushed_run()
    store = MemoryDataStore({SST: b"sst", GRID: b"grid"})
    with acting_as(actor="user:alice", ledger="laptop"):
        done = delete(laptop, "run-1", store, force=False, reason="superseded")
    assert done.files_removed == [SST]
    assert store.list() == [GRID]


def test_gc_never_removes_a_file_unpushed_work_uses() -> None:
    laptop, _, _ = _pushed_run()
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record("run-2", inputs=[FileRef(uri="grid.nc", sha256=GRID)])])
    store = MemoryDataStore({SST: b"sst", GRID: b"grid"})
    plan = gc(laptop, store, dry_run=True)
    assert [f.sha256 for f in plan.removable] == [SST]
    assert {r: [f.sha256 for f in fs] for r, fs in plan.kept.items()} == {KEPT_UNPUSHED: [GRID]}
    assert store.list() == sorted([SST, GRID])
    gc(laptop, store, dry_run=False)
    assert store.list() == [GRID]


def test_gc_drops_pulled_copies_but_keeps_local_data_files_unless_asked() -> None:
    laptop, _, _ = _pushed_run()
    store = MemoryDataStore({GRID: b"grid"})  # pulled
    store.meta[SST] = ("local", False)  # commit's snapshot of the pushed output
    store.files[SST] = b"sst"
    plan = gc(laptop, store)
    assert [f.sha256 for f in plan.removable] == [GRID]
    assert [f.sha256 for f in plan.kept[KEPT_LOCAL]] == [SST]
    plan = gc(laptop, store, files=True)
    assert [f.sha256 for f in plan.removable] == [SST]
    assert store.list() == []


def test_gc_keeps_restricted_files_unless_all_is_given_with_files() -> None:
    laptop, _, _ = _pushed_run()
    store = MemoryDataStore()
    store.put(GRID, b"grid", restricted=True)
    store.files[SST], store.meta[SST] = b"sst", ("local", True)
    assert gc(laptop, store, files=True).kept[KEPT_RESTRICTED] == store.entries()
    with pytest.raises(ValueError, match="--all only goes with --files"):
        gc(laptop, store, everything=True)
    assert len(store.list()) == 2
    plan = gc(laptop, store, files=True, everything=True, dry_run=True)
    assert len(plan.removable) == 2
    assert len(store.list()) == 2
    gc(laptop, store, files=True, everything=True)
    assert store.list() == []


def test_gc_with_every_flag_still_keeps_what_unpushed_work_wrote() -> None:
    laptop, _, _ = _pushed_run()
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record("run-2", outputs=[FileRef(uri="grid.nc", sha256=GRID)])])
    store = MemoryDataStore()
    store.files[GRID], store.meta[GRID] = b"grid", ("local", True)
    plan = gc(laptop, store, files=True, everything=True)
    assert plan.removable == []
    assert store.list() == [GRID]
