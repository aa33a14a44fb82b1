"""One contract, three archives: a folder, a real S3 endpoint (moto server), memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from provledger.adapters.archive import InMemoryArchive, archive_for, open_archive
from provledger.adapters.settings import Settings
from provledger.application.ports import Archive
from provledger.application.stored_log import ArchiveError
from tests.integration.archive_support import s3_archive
from tests.support.s3server import S3Server


@pytest.fixture(params=["folder", "s3", "memory"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Archive:
    if request.param == "folder":
        return open_archive((tmp_path / "archive").as_uri())
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return s3_archive(server, server.new_bucket(), prefix="some/prefix")
    return InMemoryArchive()


def test_objects_are_written_verified_listed_and_never_replaced(archive: Archive) -> None:
    stored = archive.put("log/manifests/0000000001.json", b"one")
    assert (stored.size, stored.sha256[:8]) == (3, "7692c3ad")
    archive.put("log/manifests/0000000002.json", b"two")
    archive.put("experiments/a/b/record.json", b"{}")
    assert archive.get("log/manifests/0000000001.json") == b"one"
    assert archive.get("log/missing") is None
    assert archive.exists("experiments/a/b/record.json")
    assert not archive.exists("experiments/a/b/other.json")
    assert archive.list("log/manifests/") == [
        "log/manifests/0000000001.json",
        "log/manifests/0000000002.json",
    ]
    assert archive.put("log/manifests/0000000001.json", b"one").size == 3  # same bytes: fine
    with pytest.raises(ArchiveError, match="already exists with different content"):
        archive.put("log/manifests/0000000001.json", b"uno")
    assert archive.get("log/manifests/0000000001.json") == b"one"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
def test_keys_that_could_escape_the_archive_are_refused(archive: Archive, key: str) -> None:
    with pytest.raises(ArchiveError, match="invalid archive key"):
        archive.put(key, b"x")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "not supported"),
        ("s3:///prefix", "names no bucket"),
        ("file://host/x", "has a host"),
    ],
)
def test_bad_archive_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        open_archive(url)


def test_the_default_archive_is_a_folder_under_home(tmp_path: Path) -> None:
    archive = archive_for(Settings(home=tmp_path / "home"))
    assert archive.url == (tmp_path / "home" / "archive").as_uri()


def test_a_folder_archive_on_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArchiveError, match="is not a folder"):
        open_archive((tmp_path / "f").as_uri())


def test_large_files_go_in_from_a_path_and_come_out_in_chunks(
    archive: Archive, tmp_path: Path
) -> None:
    data = os.urandom(9 * 1024 * 1024 + 17)  # over boto3's multipart threshold (8 MiB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    stored = archive.put_path("files/sha256/ab/big", path)
    assert (stored.sha256, stored.size) == (hashlib.sha256(data).hexdigest(), len(data))
    chunks = archive.chunks("files/sha256/ab/big")
    assert chunks is not None
    assert b"".join(chunks) == data
    assert archive.put_path("files/sha256/ab/big", path) == stored  # same bytes: accepted
    other = tmp_path / "other.bin"
    other.write_bytes(b"different")
    with pytest.raises(ArchiveError, match="immutable"):
        archive.put_path("files/sha256/ab/big", other)
    assert archive.chunks("files/sha256/ab/absent") is None
