import gzip

import pytest

from provledger.adapters.archive.memory import InMemoryArchive, InMemoryRawLog
from provledger.application.archive_log import (
    iter_archived_rows,
    iter_manifests,
    manifest_key,
    ship_log,
)
from provledger.application.stored_log import ArchiveError, CorruptArchiveError, StoredRow


def rows(n: int, start: int = 1) -> list[StoredRow]:
    return [
        StoredRow(p, f"{p % 7:032x}", p, "provledger:T", b'{"x":%d}' % p)
        for p in range(start, start + n)
    ]


def test_shipping_twice_ships_only_what_is_new_in_a_chain_of_segments() -> None:
    log, archive = InMemoryRawLog(rows(25)), InMemoryArchive()
    first = ship_log(log, archive, "L", segment_events=10)
    assert (first.segments, first.events, first.head.last) == (3, 25, 25)
    assert ship_log(log, archive, "L").events == 0
    log.insert_rows(rows(5, start=30))
    second = ship_log(log, archive, "L", segment_events=10)
    assert (second.segments, second.events, second.head.seq) == (1, 5, 4)
    assert list(iter_archived_rows(archive)) == log.stored


def test_segments_are_byte_identical_gzip_json_lines_of_the_stored_events() -> None:
    log, archive = (
        InMemoryRawLog([StoredRow(1, "ab" * 16, 1, "t", b"\x00\xffbinary")]),
        InMemoryArchive(),
    )
    ship_log(log, archive, "L")
    ((manifest, _),) = iter_manifests(archive)
    lines = gzip.decompress(archive.objects[manifest.segment]).splitlines()
    assert len(lines) == 1
    assert list(iter_archived_rows(archive)) == log.stored


def test_a_flipped_byte_in_a_segment_is_named() -> None:
    log, archive = InMemoryRawLog(rows(5)), InMemoryArchive()
    ship_log(log, archive, "L")
    ((manifest, _),) = iter_manifests(archive)
    data = bytearray(archive.objects[manifest.segment])
    data[20] ^= 1
    archive.objects[manifest.segment] = bytes(data)
    with pytest.raises(CorruptArchiveError, match=manifest.segment):
        list(iter_archived_rows(archive))


def test_a_removed_manifest_breaks_the_chain() -> None:
    log, archive = InMemoryRawLog(rows(30)), InMemoryArchive()
    ship_log(log, archive, "L", segment_events=10)
    del archive.objects[manifest_key(2)]
    with pytest.raises(CorruptArchiveError, match="expected manifest 2"):
        list(iter_manifests(archive))


def test_a_rewritten_manifest_breaks_the_chain() -> None:
    log, archive = InMemoryRawLog(rows(30)), InMemoryArchive()
    ship_log(log, archive, "L", segment_events=10)
    archive.objects[manifest_key(1)] = archive.objects[manifest_key(1)].replace(
        b'"count":10', b'"count":10 '
    )
    with pytest.raises(CorruptArchiveError, match="broken chain"):
        list(iter_manifests(archive))


def test_another_ledgers_archive_is_refused() -> None:
    archive = InMemoryArchive()
    ship_log(InMemoryRawLog(rows(3)), archive, "L1")
    with pytest.raises(ArchiveError, match="ledger L1"):
        ship_log(InMemoryRawLog(rows(3)), archive, "L2")


def test_archived_objects_are_never_overwritten_with_other_bytes() -> None:
    archive = InMemoryArchive()
    archive.put("a/b", b"1")
    archive.put("a/b", b"1")
    with pytest.raises(ArchiveError, match="immutable"):
        archive.put("a/b", b"2")
    with pytest.raises(ArchiveError, match="invalid archive key"):
        archive.put("../x", b"1")
