"""The folder data store: verified, atomic, read-only copies with their origin beside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provledger.adapters.sync.store import DataStore, clear_cache
from provledger.application.sync.ports import StoredFile
from provledger.application.sync.wire import SyncError

DATA = b"sea surface temperature\n" * 1000
SHA = hashlib.sha256(DATA).hexdigest()


def test_a_streamed_download_is_kept_only_when_it_hashes_as_named(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    with pytest.raises(SyncError, match="not kept"):
        store.put_stream(SHA, [DATA[:10], b"tampered"])
    assert store.entries() == []
    assert list((tmp_path / "data").rglob("*.tmp")) == []
    path = Path(store.put_stream(SHA, [DATA[:100], DATA[100:]], restricted=True))
    assert path.read_bytes() == DATA
    assert not path.stat().st_mode & 0o222  # read-only
    assert store.entries() == [StoredFile(SHA, "pulled", True, len(DATA))]


def test_commit_snapshots_are_local_and_a_changed_file_is_not_adopted(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    out = tmp_path / "out.nc"
    out.write_bytes(b"edited since the run")
    assert store.adopt(out, SHA) is False
    out.write_bytes(DATA)
    assert store.adopt(out, SHA) is True
    assert store.entries() == [StoredFile(SHA, "local", False, len(DATA))]
    assert Path(store.path_for(SHA)).read_bytes() == DATA
    store.remove(SHA)
    assert store.entries() == []
    assert list((tmp_path / "data").rglob("*.json")) == []


def test_cached_files_are_listed_then_dropped(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "packages-abc.json").write_text("{}")
    assert clear_cache(tmp_path, dry_run=True) == ["cache/packages-abc.json"]
    assert (tmp_path / "cache" / "packages-abc.json").exists()
    assert clear_cache(tmp_path, dry_run=False) == ["cache/packages-abc.json"]
    assert not (tmp_path / "cache").exists()
