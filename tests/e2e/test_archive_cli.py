"""Archive, persist, status, audit, restore and replay from the command line, as a user would."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.conftest import EXAMPLES
from tests.e2e.cli import Cli
from tests.support.databases import lose_database
from tests.support.s3server import S3Server


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PROVLEDGER_ARCHIVE_URL", (tmp_path / "archive").as_uri())
    return Cli(settings, tmp_path)


def test_a_lost_database_is_restored_from_the_archive_with_the_same_cases(
    cli: Cli, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    status = cli.json("status")
    assert len(status["archive"]["not yet persisted"]) == 6
    assert cli.json("persist")["records"] == 6
    shipped = cli.json("archive")
    assert shipped["events"] == shipped["archived_up_to"] > 0
    status = cli.json("status")
    assert status["archive"]["not yet persisted"] == []
    assert status["archive"]["events not archived"] == 0
    assert cli("audit").returncode == 0
    before = cli.json("cases")

    lose_database(settings, request)
    restored = cli.json("restore", "--from", (tmp_path / "archive").as_uri())
    assert restored["events"] == shipped["events"]
    assert (restored["cases"], restored["executions"]) == (2, 6)
    assert cli.json("cases") == before
    assert cli("audit").returncode == 0

    again = cli("restore", "--from", (tmp_path / "archive").as_uri(), check=False)
    assert again.returncode == 2
    assert "restore only into an empty database" in again.stderr


def test_replay_shows_the_ledger_as_it_was_without_touching_the_read_models(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES / "records" / "ocean"))
    head = cli.json("status")["ledger"]["head"]
    cli("canonical", "set", "ocean-box", "run-3", "--reason", "reviewed")
    then = cli.json("replay", "--as-of", str(head))
    assert then["position"] == head
    assert then["cases"][0]["canonical_execution_id"] == "run-2"
    assert cli.json("cases")[0]["canonical_execution_id"] == "run-3"
    now = cli.json("replay", "--as-of", "2999-01-01T00:00:00Z")
    assert now["cases"][0]["canonical_execution_id"] == "run-3"
    bad = cli("replay", "--as-of", "yesterday", check=False)
    assert bad.returncode == 2
    assert "neither a log position nor an ISO timestamp" in bad.stderr


def test_audit_names_a_changed_record_file_and_a_changed_output(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "result.nc"
    out.write_bytes(b"numbers")
    import hashlib

    record = {
        "execution_id": "x1",
        "case": "files",
        "status": "succeeded",
        "outputs": [{"uri": str(out), "sha256": hashlib.sha256(b"numbers").hexdigest()}],
    }
    (tmp_path / "x1.json").write_text(json.dumps(record))
    cli("record", str(tmp_path / "x1.json"))
    assert cli.json("persist")["side_files"] == 1
    assert (tmp_path / "result.record.json").is_file()
    cli("archive")
    assert cli("audit", "--files").returncode == 0
    out.write_bytes(b"changed")
    key = tmp_path / "archive" / "experiments" / "default" / "files" / "x1" / "record.json"
    key.chmod(0o644)
    key.write_bytes(key.read_bytes() + b" ")
    result = cli("audit", "--files", check=False)
    assert result.returncode == 1
    assert "default/files/x1" in result.stderr
    assert "result.nc no longer matches its sha256" in result.stderr
    assert "record.json does not match its sha256" in result.stderr


def test_restore_names_a_corrupt_segment_and_a_broken_chain(
    cli: Cli, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cli("ingest", str(EXAMPLES / "records"))
    cli("archive")
    cli("ingest", str(EXAMPLES / "records"))  # duplicates: nothing new
    cli("canonical", "set", "ocean-box", "run-3", "--reason", "reviewed")
    cli("archive")
    archive = tmp_path / "archive"
    segments = sorted((archive / "log" / "segments").iterdir())
    assert len(segments) == 2
    lose_database(settings, request)
    data = bytearray(segments[1].read_bytes())
    data[len(data) // 2] ^= 0x01
    segments[1].write_bytes(bytes(data))
    bad = cli("restore", "--from", archive.as_uri(), check=False)
    assert bad.returncode == 2
    assert segments[1].name in bad.stderr
    assert "does not match its manifest" in bad.stderr

    lose_database(settings, request)
    (archive / "log" / "manifests" / "0000000001.json").unlink()
    broken = cli("restore", "--from", archive.as_uri(), check=False)
    assert broken.returncode == 2
    assert "expected manifest 1" in broken.stderr
    assert gzip.decompress(segments[0].read_bytes())  # the rest is untouched


def test_bad_archive_urls_and_a_missing_bucket_are_named(
    cli: Cli, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("restore", "--from", "ftp://host/x", check=False)
    assert result.returncode == 2
    assert "not supported" in result.stderr
    monkeypatch.setenv("PROVLEDGER_ARCHIVE_URL", "gopher://x")
    result = cli("archive", check=False)
    assert result.returncode == 2
    assert "archive_url" in result.stderr
    monkeypatch.setenv("PROVLEDGER_ARCHIVE_URL", "s3://no-such-bucket/p")
    monkeypatch.setenv("PROVLEDGER_S3_ENDPOINT_URL", s3_server.endpoint)
    cli("ingest", str(EXAMPLES / "records" / "ocean"))
    result = cli("archive", check=False)
    assert result.returncode == 2
    assert "bucket 'no-such-bucket' does not exist" in result.stderr


def test_a_restore_uses_the_newest_snapshot_unless_told_to_replay_everything(
    cli: Cli, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cli("ingest", str(EXAMPLES / "records" / "ocean"))
    snap = cli.json("snapshot")
    assert snap["position"] > 0
    assert snap["manifest"].startswith("snapshots/")
    cli("ingest", str(EXAMPLES / "records" / "dissmodel"))
    cli("persist")
    cli("archive")
    before = cli.json("cases")
    assert cli("audit").returncode == 0

    lose_database(settings, request)
    restored = cli.json("restore", "--from", (tmp_path / "archive").as_uri())
    assert (restored["snapshot"], restored["snapshot_position"]) == (
        snap["manifest"],
        snap["position"],
    )
    assert cli.json("cases") == before

    lose_database(settings, request)
    replayed = cli("restore", "--from", (tmp_path / "archive").as_uri(), "--no-snapshot")
    assert "rebuilt from the whole log" in replayed.stdout
    assert cli.json("cases") == before
