"""The sync endpoints over HTTP, on both backends: push through the real client, bad input."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from provledger.adapters.sync.client import HttpRemote
from provledger.adapters.sync.registry import RemoteConfig, RemoteConfigError, RemoteRegistry
from provledger.application.ledger import Ledger
from provledger.application.sync.local import SyncState, commit, state_of
from provledger.application.sync.push import push
from provledger.application.sync.receive import IncomingExecution, ReceiveResult
from provledger.application.sync.wire import RemoteUnavailableError
from provledger.domain.context import acting_as
from provledger.domain.record import FileRef
from tests.support.api import Api, MemoryArchive, running_api
from tests.unit.records import make_record
from tests.unit.sync_support import ledger_named

DATA = b"sst field\n"
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def archive() -> MemoryArchive:
    return MemoryArchive()


@pytest.fixture
def api(ledger: Ledger, archive: MemoryArchive) -> Iterator[Api]:
    with running_api(ledger, archive=archive) as api:
        yield api


def _download(remote: HttpRemote, sha256: str) -> bytes | None:
    with remote.file_chunks(sha256) as chunks:
        return None if chunks is None else b"".join(chunks)


def _remote(api: Api, token: str) -> HttpRemote:
    api.client.headers["Authorization"] = f"Bearer {token}"
    return HttpRemote(RemoteConfig("origin", "http://testserver", token), client=api.client)


def test_push_over_http_creates_the_execution_and_its_file_then_changes_nothing(
    api: Api, ledger: Ledger, archive: MemoryArchive
) -> None:
    laptop = ledger_named("laptop")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record("run-1", outputs=[FileRef(uri="sst.nc", sha256=SHA)])])
        commit(laptop, "run-1")
        remote = _remote(api, api.write_token)
        first = push(laptop, remote, files=lambda uri, sha: DATA)
        head = ledger.events.max_position()
        second = push(laptop, remote, files=lambda uri, sha: DATA)
    assert (first.created, first.files_uploaded) == (1, 1)
    assert second.sent == 0
    assert ledger.events.max_position() == head
    assert archive.get(f"files/sha256/{SHA[:2]}/{SHA}") == DATA
    assert ledger.history("run-1")[0].event.actor == "user:alice"
    assert _download(remote, SHA) == DATA


class CutAfter(HttpRemote):
    """Loses the server's answer to the n-th batch: as if the push was killed right there."""

    def __init__(self, remote: HttpRemote, n: int) -> None:
        self.__dict__.update(remote.__dict__)
        self.calls, self.n = 0, n

    def push(self, items: Sequence[IncomingExecution]) -> list[ReceiveResult]:
        results = super().push(items)
        self.calls += 1
        if self.calls == self.n:
            raise RemoteUnavailableError("connection lost")
        return results


def test_a_push_cut_midway_resumes_where_it_stopped_without_duplicates(
    api: Api, ledger: Ledger
) -> None:
    laptop = ledger_named("laptop")
    with acting_as(actor="user:alice", ledger="laptop"):
        laptop.record([make_record(f"run-{i}", minutes=i) for i in range(5)])
        for i in range(5):
            commit(laptop, f"run-{i}")
        cut = CutAfter(_remote(api, api.write_token), n=2)
        with pytest.raises(RemoteUnavailableError):
            push(laptop, cut, batch=2)
        states = [state_of(laptop.history(f"run-{i}"), None) for i in range(5)]
        assert states.count(SyncState.PUSHED) == 2  # the first batch's answer arrived
        assert ledger.queries.counts()["executions"] == 4  # the second batch got there too
        head = ledger.events.max_position()
        resumed = push(laptop, _remote(api, api.write_token), batch=2)
    assert (resumed.sent, resumed.unchanged, resumed.created) == (3, 2, 1)
    assert ledger.queries.counts()["executions"] == 5
    assert ledger.events.max_position() > head
    assert all(state_of(laptop.history(f"run-{i}"), None) is SyncState.PUSHED for i in range(5))


def test_sync_writes_need_a_write_token(api: Api) -> None:
    body = {"executions": [{"id": "6f1c2a8e-5b0e-4c55-9a53-8e4f1b7d2c10", "events": []}]}
    refused = api.client.post("/api/v1/sync/executions", json=body, headers=api.read)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_bad_sync_requests_get_clear_errors(api: Api) -> None:
    wrong = api.client.put(
        f"/api/v1/sync/files/{SHA}",
        content=b"other bytes",
        headers={**api.write, "Content-Type": "application/octet-stream"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "checksum_mismatch"
    assert api.client.get("/api/v1/sync/files/not-a-sha", headers=api.read).status_code == 422
    missing = api.client.get(
        "/api/v1/sync/executions/6f1c2a8e-5b0e-4c55-9a53-8e4f1b7d2c10", headers=api.read
    )
    assert missing.status_code == 404
    empty = api.client.post("/api/v1/sync/executions", json={"executions": []}, headers=api.write)
    assert empty.status_code == 422
    bad = api.client.post(
        "/api/v1/sync/executions",
        json={
            "executions": [
                {
                    "id": "6f1c2a8e-5b0e-4c55-9a53-8e4f1b7d2c10",
                    "events": [{"topic": "provledger:Pushed", "state": {}}],
                }
            ]
        },
        headers=api.write,
    )
    assert bad.status_code == 200
    item = bad.json()["items"][0]
    assert item["outcome"] == "invalid"
    assert "ExecutionRecorded" in item["error"]


def test_a_server_without_archive_says_it_keeps_no_files(ledger: Ledger) -> None:
    with running_api(ledger) as api:
        answer = api.client.post(
            "/api/v1/sync/files/missing", json={"sha256": [SHA]}, headers=api.write
        )
        info = api.client.get("/api/v1/sync/info", headers=api.read).json()
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_archive"
    assert info["keeps_files"] is False


def test_the_remote_registry_is_private_and_refuses_bad_names_and_urls(tmp_path: Path) -> None:
    registry = RemoteRegistry(tmp_path)
    registry.add("origin", "http://127.0.0.1:8000/", "plt_secret")
    assert (tmp_path / "remotes.json").stat().st_mode & 0o777 == 0o600
    assert registry.get(None).url == "http://127.0.0.1:8000"
    assert registry.get("origin").public()["token"] == "set"
    with pytest.raises(RemoteConfigError, match="remote name 'a b' is not valid"):
        registry.add("a b", "http://x", None)
    with pytest.raises(RemoteConfigError, match="remote URL 'x' is not valid"):
        registry.add("other", "x", None)
    with pytest.raises(RemoteConfigError, match="no remote named 'nope'"):
        registry.remove("nope")
    registry.add("second", "https://ledger.example", None)
    with pytest.raises(RemoteConfigError, match="several remotes"):
        registry.get(None)
    (tmp_path / "remotes.json").write_text("{not json")
    with pytest.raises(RemoteConfigError, match="cannot read"):
        registry.list()


def test_a_data_file_larger_than_the_request_limit_is_streamed_in_and_out(
    ledger: Ledger, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(300_000))
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    archive = MemoryArchive()
    with running_api(ledger, archive=archive, max_body_bytes=65_536, max_file_bytes=400_000) as api:
        remote = _remote(api, api.write_token)
        remote.put_file(sha, big)  # five times the request limit: streamed from the file
        assert archive.get(f"files/sha256/{sha[:2]}/{sha}") == big.read_bytes()
        assert _download(remote, sha) == big.read_bytes()
        too_big = api.client.put(
            f"/api/v1/sync/files/{'0' * 64}",
            content=b"x" * 400_001,
            headers={"Authorization": f"Bearer {api.write_token}"},
        )
        assert too_big.status_code == 413
        assert "--max-file-bytes" in too_big.json()["error"]["message"]
        batch = api.client.post(
            "/api/v1/sync/files/missing",
            content=b'{"sha256": ["' + b"a" * 70_000 + b'"]}',
            headers={"Authorization": f"Bearer {api.write_token}"},
        )
        assert batch.status_code == 413  # other requests keep the request limit
    assert archive.exists(f"files/sha256/{'0' * 2}/{'0' * 64}") is False
