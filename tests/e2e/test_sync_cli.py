"""Local and remote ledgers as a user runs them: the CLI on an embedded ledger pushes to a
`provledger serve` process on Postgres with its files on a real S3 endpoint (moto)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.pgcluster import PgCluster
from tests.support.s3server import CREDENTIALS, S3Server

CLI = str(Path(sys.executable).with_name("provledger"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env.update(CREDENTIALS)
    env["COLUMNS"] = "200"
    return env


@dataclass
class Remote:
    url: str
    token: str
    read_token: str
    bucket: str
    s3: S3Server
    process: subprocess.Popen[bytes]

    def get(self, path: str) -> Any:
        response = httpx.get(
            f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        response.raise_for_status()
        return response.json()

    def event_count(self) -> int:
        return int(self.get("/status")["event_count"])


@pytest.fixture(scope="module")
def remote(
    pg_cluster: PgCluster, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Remote]:
    env = _clean_env()
    env["PROVLEDGER_HOME"] = str(tmp_path_factory.mktemp("server-home"))
    env["PROVLEDGER_DATABASE_URL"] = pg_cluster.url(pg_cluster.create_database())
    bucket = s3_server.new_bucket()
    env["PROVLEDGER_ARCHIVE_URL"] = f"s3://{bucket}/ledger"
    env["PROVLEDGER_S3_ENDPOINT_URL"] = s3_server.endpoint
    token = _token(_run(env, "token", "create", "--scope", "write", "--name", "laptop").stdout)
    read = _token(_run(env, "token", "create", "--scope", "read", "--name", "viewer").stdout)
    port = _free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("provledger serve did not start") from None
            time.sleep(0.1)
    try:
        yield Remote(url, token, read, bucket, s3_server, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _token(output: str) -> str:
    return next(word for word in output.split() if word.startswith("plt_"))


@dataclass
class Laptop:
    env: dict[str, str]
    home: Path
    work: Path
    namespace: str

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(self.env, *args, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def record(self, execution_id: str, case: str, **fields: Any) -> None:
        body = {"execution_id": execution_id, "case": f"{self.namespace}/{case}", **fields}
        path = self.work / f"{execution_id}.json"
        path.write_text(json.dumps(body))
        self("record", str(path))

    def colleague(self, home: Path, work: Path, remote: Remote) -> Laptop:
        """Another local ledger, same namespace, with `origin` set to the same remote."""
        other = Laptop({**self.env, "PROVLEDGER_HOME": str(home)}, home, work, self.namespace)
        work.mkdir()
        other("remote", "add", "origin", remote.url, "--token", remote.token)
        return other

    def file(self, name: str, data: bytes) -> dict[str, str]:
        path = self.work / name
        path.write_bytes(data)
        return {"uri": str(path), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture
def laptop(tmp_path: Path, remote: Remote) -> Laptop:
    env = _clean_env()
    env["PROVLEDGER_HOME"] = str(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    me = Laptop(env, tmp_path / "home", work, f"ns{uuid.uuid4().hex[:8]}")
    me("remote", "add", "origin", remote.url, "--token", remote.token)
    return me


def _sync(laptop: Laptop) -> dict[str, Any]:
    """The sync section of `provledger status`: counts by state, and what push would send."""
    section: dict[str, Any] = laptop.json("status")["sync"]
    return section


def _chain(laptop: Laptop) -> dict[str, str]:
    grid = laptop.file("grid.nc", b"grid " * 1000)
    result = laptop.file("result.nc", b"sst " * 2000)
    laptop.record("prep-1", "prep", status="succeeded", outputs=[grid])
    laptop.record(
        "run-1", "ocean", status="succeeded", params={"dt": 0.5}, inputs=[grid], outputs=[result]
    )
    return result


def test_commit_then_push_sends_the_chain_and_its_files_and_pushing_twice_changes_nothing(
    laptop: Laptop, remote: Remote
) -> None:
    result = _chain(laptop)
    committed = laptop.json("commit", result["uri"])
    assert len(committed["committed"]) == 2
    report = laptop.json("push")
    assert (report["created"], report["files_uploaded"], report["conflicts"]) == (2, 2, [])
    record = remote.get(f"/executions/run-1/record?case={laptop.namespace}/ocean")
    assert record["params"] == {"dt": 0.5}
    history = remote.get(f"/executions/run-1/history?case={laptop.namespace}/ocean")
    own = [e for e in history["items"] if e["type"] != "CanonicalChosen"]  # the case's choice
    assert own[0]["actor"].startswith("user:")  # the laptop's, not the token's
    key = f"ledger/files/sha256/{result['sha256'][:2]}/{result['sha256']}"
    body = remote.s3.client().get_object(Bucket=remote.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == result["sha256"]
    events = remote.event_count()
    again = laptop.json("push")
    assert again["sent"] == 0
    assert remote.event_count() == events
    sync = laptop.json("status")["sync"]
    assert (sync["pushed"], sync["committed"], sync["to push"]) == (2, 0, [])
    info = laptop.json("info", result["uri"])
    assert info["remotes"]["origin"]["state"] == "same"


def test_a_push_killed_after_the_server_took_it_resumes_without_duplicates(
    laptop: Laptop, remote: Remote
) -> None:
    result = _chain(laptop)
    laptop("commit", result["uri"])
    before = laptop.home.with_name("before-push")
    shutil.copytree(laptop.home, before)
    laptop("push")
    events = remote.event_count()
    shutil.rmtree(laptop.home)
    before.rename(laptop.home)  # as if killed before the local Pushed events were written
    assert _sync(laptop)["committed"] == 2
    report = laptop.json("push")
    assert (report["created"], report["unchanged"], report["files_uploaded"]) == (0, 2, 0)
    assert remote.event_count() == events
    assert (_sync(laptop)["pushed"], _sync(laptop)["committed"]) == (2, 0)


def test_a_conflicting_execution_is_reported_and_neither_side_is_overwritten(
    laptop: Laptop, remote: Remote
) -> None:
    theirs = {"execution_id": "run-1", "case": f"{laptop.namespace}/ocean", "params": {"dt": 1}}
    httpx.post(
        f"{remote.url}/api/v1/executions",
        json={**theirs, "status": "succeeded"},
        headers={"Authorization": f"Bearer {remote.token}"},
    ).raise_for_status()
    laptop.record("run-1", "ocean", status="succeeded", params={"dt": 0.5})
    laptop("commit", "run-1")
    done = laptop("push", check=False)
    assert done.returncode == 1
    assert "conflict" in done.stdout
    assert "params" in done.stdout
    assert "nothing was overwritten" in done.stdout
    case = f"{laptop.namespace}/ocean"
    assert remote.get(f"/executions/run-1/record?case={case}")["params"] == {"dt": 1}
    assert laptop.json("info", "run-1")["sync"] == "committed"


def test_with_the_remote_down_push_fails_clearly_and_local_work_is_unaffected(
    laptop: Laptop,
) -> None:
    laptop("remote", "remove", "origin")
    laptop("remote", "add", "origin", f"http://127.0.0.1:{_free_port()}", "--token", "plt_x")
    _chain(laptop)
    laptop("commit", "run-1")
    done = laptop("push", check=False)
    assert done.returncode == 3
    assert "not reachable" in done.stderr
    assert "local work is unchanged" in done.stderr
    assert _sync(laptop)["committed"] == 2
    laptop.record("run-2", "ocean", status="failed")
    assert laptop.json("info", "run-1")["remotes"]["origin"]["state"] == "unreachable"
    item = laptop.json("status", "run-1")["item"]
    assert (item["sync"], item["remotes"]["origin"]["state"]) == ("committed", "unreachable")


def test_bad_remotes_and_tokens_get_clear_errors(laptop: Laptop, remote: Remote) -> None:
    bad_name = laptop("remote", "add", "no/slash", remote.url, check=False)
    assert bad_name.returncode == 2
    assert "remote name 'no/slash' is not valid" in bad_name.stderr
    assert oct((laptop.home / "remotes.json").stat().st_mode & 0o777) == "0o600"
    assert remote.token not in laptop("remote", "list").stdout
    assert "no remote named 'nope'" in laptop("push", "nope", check=False).stderr
    laptop("remote", "add", "viewer", remote.url, "--token", remote.read_token)
    laptop.record("run-1", "ocean", status="succeeded")
    laptop("commit", "run-1")
    refused = laptop("push", "viewer", check=False)
    assert refused.returncode == 2
    assert "write scope is needed" in refused.stderr


SCRIPT = """
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
data = open(cfg["inputs"]["sst"], "rb").read()
open("summary.txt", "w").write(f"{len(data)} bytes over {cfg['values']['threshold']}\\n")
"""


def test_pull_run_commit_push_round_trip_between_two_ledgers(
    laptop: Laptop, remote: Remote, tmp_path: Path
) -> None:
    result = _chain(laptop)
    laptop("commit", "run-1")
    laptop("push")
    other = laptop.colleague(tmp_path / "other", tmp_path / "analysis", remote)
    config = other.work / "analysis.yaml"
    config.write_text(
        f"read:\n  - case: {laptop.namespace}/*\n    output: '*.nc'\n    as: sst\nthreshold: 3\n"
    )
    (other.work / "summarise.py").write_text(SCRIPT)
    pulled = json.loads(
        subprocess.run(
            [CLI, "pull", str(config), "--json"],
            env=other.env,
            cwd=other.work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert pulled["inputs"] == ["sst", "sst.2"]  # grid.nc of prep-1, result.nc of run-1
    working = other.work / "analysis.working.yaml"
    pinned = yaml.safe_load(working.read_text())
    by_sha = {r["sha256"]: r for r in pinned["read"]}
    stored = Path(by_sha[result["sha256"]]["path"])
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == result["sha256"]
    assert by_sha[result["sha256"]]["execution_id"] == "run-1"
    assert _sync(other)["pulled"] == 2
    done = subprocess.run(
        [
            CLI,
            "run",
            "--config",
            str(working),
            "--case",
            "analysis",
            "--namespace",
            laptop.namespace,
            "--output",
            "summary.txt",
            "--",
            sys.executable,
            "summarise.py",
            str(working),
        ],
        env=other.env,
        cwd=other.work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    committed = other.json("commit", str(other.work / "summary.txt"))
    assert len(committed["committed"]) == 3  # the analysis and the two pulled executions
    report = other.json("push")
    assert (report["created"], report["unchanged"]) == (1, 2)
    cases = remote.get(f"/cases?namespace={laptop.namespace}")["items"]
    assert sorted(c["name"] for c in cases) == ["analysis", "ocean", "prep"]


def test_pull_with_a_bad_config_names_what_is_wrong(laptop: Laptop, remote: Remote) -> None:
    config = laptop.work / "bad.yaml"
    config.write_text("read:\n  - case: 3\n")
    done = laptop("pull", str(config), check=False)
    assert "read[0]: `case` must name a case" in done.stderr
    config.write_text("read:\n  - case: nowhere/*\n")
    done = laptop("pull", str(config), check=False)
    assert "read[0]: no case on 'origin' matches 'nowhere/*'" in done.stderr
    config.write_text("read: []\n")
    assert "`read` must be a non-empty list" in laptop("pull", str(config), check=False).stderr


def test_update_delete_and_gc_never_lose_unpushed_work(
    laptop: Laptop, remote: Remote, tmp_path: Path
) -> None:
    result = _chain(laptop)
    laptop("commit", "run-1")
    laptop("push")
    desk = laptop.colleague(tmp_path / "desk", tmp_path / "desk-work", remote)
    config = desk.work / "read.yaml"
    config.write_text(f"read:\n  - case: {laptop.namespace}/ocean\n    output: result.nc\n")
    desk("pull", str(config))
    cached = desk.home / "data" / result["sha256"][:2] / result["sha256"]
    assert cached.is_file()
    desk.record("mine", "analysis", status="succeeded", inputs=[result])  # local only
    plan = desk.json("gc", "--dry-run")
    assert plan["removed"] == []
    assert plan["kept"] == {"unpushed work uses it": [result["sha256"]]}
    refused = desk("delete", "mine", check=False)
    assert refused.returncode == 2
    assert "use --force" in refused.stderr
    laptop("tag", "run-1", "reviewed=yes")
    laptop("push")
    assert desk.json("status", "run-1")["item"]["sync"] == "newer on the remote"
    assert desk.json("status", "run-1", "--offline")["item"]["sync"] == "pulled"
    assert desk.json("update")["counts"] == {"updated": 1}
    assert desk.json("status", "run-1")["item"]["remotes"]["origin"]["state"] == "same"
    assert desk.json("update")["counts"] == {"unchanged": 1}
    desk("delete", "mine", "--force", "--reason", "wrong input")
    assert desk.json("info", "mine")["sync"] == "retracted"
    assert desk.json("gc")["removed"] == [result["sha256"]]
    assert not cached.exists()
    history = desk.json("history", "mine")
    own = [e["type"] for e in history if e["type"] != "CanonicalChosen"]  # the case's choice
    assert own == ["ExecutionRecorded", "Retracted"]


def test_commit_keeps_outputs_in_the_data_store_and_gc_files_drops_them_once_pushed(
    laptop: Laptop, remote: Remote
) -> None:
    script = "open('secret.bin','wb').write(b'patient data'); open('open.bin','wb').write(b'ok')"
    done = subprocess.run(
        [CLI, "run", "--namespace", laptop.namespace, "--case", "study", "--output", "open.bin",
         "--restricted-output", "secret.bin", "--", sys.executable, "-c", script],
        env=laptop.env, cwd=laptop.work, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    secret = hashlib.sha256(b"patient data").hexdigest()
    opened = hashlib.sha256(b"ok").hexdigest()
    committed = laptop.json("commit", str(laptop.work / "open.bin"))
    assert committed["snapshotted"] == 2
    (laptop.work / "open.bin").write_bytes(b"edited after the commit")
    report = laptop.json("push")
    assert (report["files_uploaded"], report["files_missing_locally"]) == (2, [])
    key = f"ledger/files/sha256/{opened[:2]}/{opened}"
    body = remote.s3.client().get_object(Bucket=remote.bucket, Key=key)["Body"].read()
    assert body == b"ok"  # the committed bytes, not the edited working copy
    plain = laptop.json("gc")
    assert plain["removed"] == []
    assert sorted(plain["kept"]["local data file (gc --files drops it once pushed)"]) == sorted(
        [secret, opened]
    )
    refused = laptop("gc", "--all", check=False)
    assert refused.returncode == 2
    assert "--all only goes with --files" in refused.stderr
    files = laptop.json("gc", "--files")
    assert files["removed"] == [opened]
    assert files["kept"] == {"restricted (gc --files --all drops it)": [secret]}
    assert laptop.json("gc", "--files", "--all", "--dry-run")["removed"] == [secret]
    assert laptop.json("gc", "--files", "--all")["removed"] == [secret]
    assert not (laptop.home / "data" / secret[:2] / secret).exists()
    assert laptop.json("info", str(laptop.work / "secret.bin"))["sync"] == "pushed"


def test_a_push_process_killed_midway_resumes_and_sends_each_event_once(
    laptop: Laptop, remote: Remote
) -> None:
    runs = laptop.work / "runs"
    runs.mkdir()
    outputs = []
    for i in range(600):
        out = laptop.file(f"part-{i:03d}.bin", os.urandom(16_384))
        outputs.append(out)
        body = {"execution_id": f"part-{i:03d}", "case": f"{laptop.namespace}/part",
                "status": "succeeded", "params": {"i": i}, "outputs": [out]}  # fmt: skip
        (runs / f"part-{i:03d}.json").write_text(json.dumps(body))
    laptop("ingest", str(runs))
    laptop.record("collect-1", "collect", status="succeeded", inputs=outputs)
    assert len(laptop.json("commit", "collect-1")["committed"]) == 601
    before = remote.event_count()
    push = subprocess.Popen([CLI, "push"], env=laptop.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while remote.event_count() == before and time.monotonic() < deadline and push.poll() is None:
        time.sleep(0.01)
    push.send_signal(signal.SIGKILL)
    push.wait()
    midway = remote.event_count()
    sync = _sync(laptop)
    assert before < midway, "the push never reached the remote"
    assert sync["committed"] > 0, "the push finished before it could be killed"
    report = laptop.json("push")
    assert report["conflicts"] == []
    assert report["invalid"] == []
    after = remote.event_count()
    assert laptop.json("push")["sent"] == 0
    assert remote.event_count() == after
    sync = _sync(laptop)
    assert (sync["pushed"], sync["committed"]) == (601, 0)
    for ref in ("part-000", "part-599"):
        history = remote.get(f"/executions/{ref}/history?case={laptop.namespace}/part")
        types = [e["type"] for e in history["items"]]
        assert types.count("ExecutionRecorded") == 1
        assert len(types) == len(set(types))
    assert after - before == 601 + 2 * 2  # one Recorded each; two cases, Opened + canonical
