"""Pull: choose executions on a remote by case (globs), canonical/latest/id and output; pin them."""

from __future__ import annotations

import hashlib

import pytest

from provledger.application.ledger import Ledger
from provledger.application.sync.pull import PullResult, ReadSpec, pull
from provledger.application.sync.wire import SyncError
from provledger.domain.context import acting_as
from provledger.domain.record import FileRef, Status
from tests.unit.records import make_record
from tests.unit.sync_support import FakeRemote, MemoryDataStore, ledger_named

FILES = {name: f"{name} bytes".encode() for name in ("a.nc", "b.nc", "log.txt", "c.nc")}
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def _out(name: str, role: str | None = None) -> FileRef:
    return FileRef(uri=f"/runs/{name}", sha256=SHA[name], role=role)


def _server() -> tuple[Ledger, FakeRemote]:
    server = ledger_named("server")
    with acting_as(actor="user:bob", ledger="server"):
        server.record(
            [
                make_record("r1", case="ocean-a", outputs=[_out("a.nc", "sst"), _out("log.txt")]),
                make_record("r2", case="ocean-a", minutes=5, outputs=[_out("b.nc", "sst")]),
                make_record("r3", case="ocean-b", outputs=[_out("c.nc", "sst")]),
                make_record("bad", case="ocean-c", status=Status.FAILED),
            ]
        )
    remote = FakeRemote(server)
    remote.files = {SHA[n]: d for n, d in FILES.items()}
    return server, remote


def _pull(
    specs: list[ReadSpec], desk: Ledger | None = None
) -> tuple[Ledger, PullResult, MemoryDataStore]:
    _, remote = _server()
    desk = desk or ledger_named("desk")
    store = MemoryDataStore()
    with acting_as(actor="user:alice", ledger="desk"):
        result = pull(desk, remote, specs, store)
    return desk, result, store


def test_a_glob_over_cases_pins_each_canonical_output_by_sha256() -> None:
    desk, result, store = _pull([ReadSpec("default/ocean-[ab]", output="sst", name="sst")])
    pinned = result.inputs
    assert [(p.name, p.case, p.execution_id, p.sha256) for p in pinned] == [
        ("sst", "default/ocean-a", "r1", SHA["a.nc"]),
        ("sst.2", "default/ocean-b", "r3", SHA["c.nc"]),
    ]
    assert store.files == {SHA["a.nc"]: FILES["a.nc"], SHA["c.nc"]: FILES["c.nc"]}
    assert desk.execution("r1").record.outputs[0].sha256 == SHA["a.nc"]
    assert result.remote_ledger == "server"


def test_latest_and_an_explicit_id_choose_other_executions() -> None:
    _, latest, _ = _pull([ReadSpec("default/ocean-a", execution="latest")])
    assert [p.execution_id for p in latest.inputs] == ["r2"]
    _, named, _ = _pull([ReadSpec("default/ocean-a", execution="r1", output="*.txt")])
    assert [p.name for p in named.inputs] == ["log.txt"]


def test_reads_that_match_nothing_name_the_entry() -> None:
    with pytest.raises(SyncError, match=r"read\[0\]: no case on 'origin' matches 'x/\*'"):
        _pull([ReadSpec("x/*")])
    with pytest.raises(SyncError, match=r"read\[0\]: case 'default/ocean-c' has no canonical"):
        _pull([ReadSpec("default/ocean-c")])
    with pytest.raises(SyncError, match=r"read\[1\]: no chosen execution has an output"):
        _pull([ReadSpec("default/ocean-a"), ReadSpec("default/ocean-b", output="nope")])
    with pytest.raises(SyncError, match="has no execution 'r9'"):
        _pull([ReadSpec("default/ocean-a", execution="r9")])


def test_a_local_execution_with_different_content_is_never_pulled_over() -> None:
    desk = ledger_named("desk")
    with acting_as(actor="user:alice", ledger="desk"):
        desk.record([make_record("r1", case="ocean-a", params={"dt": 9})])
    with pytest.raises(SyncError, match="differs from the local one"):
        _pull([ReadSpec("default/ocean-a")], desk)
    assert desk.record_of("r1").params == {"dt": 9}


def test_a_file_that_does_not_hash_right_is_not_kept() -> None:
    _, remote = _server()
    remote.files[SHA["a.nc"]] = b"tampered"
    store = MemoryDataStore()
    with acting_as(actor="user:alice", ledger="desk"), pytest.raises(SyncError, match="hash"):
        pull(ledger_named("desk"), remote, [ReadSpec("default/ocean-a", output="sst")], store)
    assert store.files == {}
