"""Use case: ship the event log to the archive as immutable, content-addressed segments.

A segment is gzip-compressed JSON lines, one stored event each (position, originator id,
version, topic, state as base64: byte for byte what the store holds). Each segment has a
manifest naming its sha256, size, count, first/last position and the previous manifest's
sha256, so the manifests form a chain from GENESIS (docs/archive.md).
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from .ports import Archive
from .stored_log import ArchiveError, CorruptArchiveError, RawLog, StoredRow, flush, iter_rows

GENESIS = "0" * 64
FORMAT = "provledger.log-segment/1"
MANIFESTS = "log/manifests/"
MAX_SEGMENT_BYTES = 64 * 1024 * 1024  # uncompressed


class SegmentLine(msgspec.Struct):
    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes  # base64 in JSON


class Manifest(msgspec.Struct, frozen=True):
    format: str
    seq: int
    segment: str
    sha256: str
    size: int
    count: int
    first: int
    last: int
    prev: str
    ledger: str


@dataclass(frozen=True)
class LogHead:
    seq: int = 0
    last: int = 0
    manifest: str = GENESIS


@dataclass
class ShipSummary:
    segments: int = 0
    events: int = 0
    bytes: int = 0
    head: LogHead = LogHead()


_line_encoder = msgspec.json.Encoder()
_line_decoder = msgspec.json.Decoder(SegmentLine)
_manifest_decoder = msgspec.json.Decoder(Manifest)


def manifest_key(seq: int) -> str:
    return f"{MANIFESTS}{seq:010d}.json"


def state_key(archive: Archive) -> str:
    return f"log_head {archive.url}"


def ship_log(
    log: RawLog,
    archive: Archive,
    ledger_id: str,
    *,
    segment_events: int = 100_000,
    until: int | None = None,
) -> ShipSummary:
    """Ship every event not yet in the archive (up to `until`); resumable, idempotent."""
    head = sync_head(log, archive, ledger_id)
    summary = ShipSummary(head=head)
    rows = iter_rows(log, after=head.last, until=until)
    while True:
        data, count, first, last = encode_segment(rows, segment_events)
        if not count:
            break
        digest = hashlib.sha256(data).hexdigest()
        key = f"log/segments/{first:012d}-{last:012d}-{digest[:16]}.jsonl.gz"
        archive.put(key, data)
        flush(archive)  # the segment is durable before a manifest names it
        manifest = Manifest(
            FORMAT,
            head.seq + 1,
            key,
            digest,
            len(data),
            count,
            first,
            last,
            head.manifest,
            ledger_id,
        )
        raw = msgspec.json.encode(manifest)
        archive.put(manifest_key(manifest.seq), raw)
        flush(archive)
        head = LogHead(manifest.seq, last, hashlib.sha256(raw).hexdigest())
        save_head(log, archive, head)
        summary.segments += 1
        summary.events += count
        summary.bytes += len(data)
    summary.head = head
    return summary


def sync_head(log: RawLog, archive: Archive, ledger_id: str) -> LogHead:
    """Our last shipped manifest, moved forward past any shipped by another process."""
    stored = log.get_state(state_key(archive))
    head = LogHead(*msgspec.json.decode(stored, type=tuple[int, int, str])) if stored else LogHead()
    moved = False
    while (raw := archive.get(manifest_key(head.seq + 1))) is not None:
        manifest = decode_manifest(raw, manifest_key(head.seq + 1))
        if manifest.ledger != ledger_id:
            raise ArchiveError(
                f"{archive.url} holds the log of ledger {manifest.ledger}, not of this ledger "
                f"({ledger_id}): use another archive URL"
            )
        if manifest.prev != head.manifest:
            raise CorruptArchiveError(
                f"{archive.url}/{manifest_key(manifest.seq)}: broken manifest chain"
            )
        head = LogHead(manifest.seq, manifest.last, hashlib.sha256(raw).hexdigest())
        moved = True
    if moved:
        save_head(log, archive, head)
    return head


def save_head(log: RawLog, archive: Archive, head: LogHead) -> None:
    log.set_state(
        state_key(archive), msgspec.json.encode((head.seq, head.last, head.manifest)).decode()
    )


def encode_segment(rows: Iterator[StoredRow], max_events: int) -> tuple[bytes, int, int, int]:
    """Up to `max_events` rows (or MAX_SEGMENT_BYTES) as gzip JSON lines, deterministically."""
    buffer = io.BytesIO()
    count = first = last = size = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as gz:
        for row in rows:
            line = _line_encoder.encode(
                SegmentLine(row.position, row.originator_id, row.version, row.topic, row.state)
            )
            gz.write(line + b"\n")
            first = first or row.position
            last = row.position
            count += 1
            size += len(line) + 1
            if count >= max_events or size >= MAX_SEGMENT_BYTES:
                break
    return buffer.getvalue(), count, first, last


def decode_manifest(raw: bytes, where: str) -> Manifest:
    try:
        manifest = _manifest_decoder.decode(raw)
    except msgspec.MsgspecError as e:
        raise CorruptArchiveError(f"{where}: not a segment manifest ({e})") from e
    if manifest.format != FORMAT:
        raise CorruptArchiveError(f"{where}: unknown format {manifest.format!r}")
    return manifest


def read_segment(data: bytes, manifest: Manifest, where: str) -> Iterator[StoredRow]:
    """The rows of a segment, streamed after checking its sha256 and size against the manifest
    (then count and positions as they go): memory stays at one compressed segment."""
    if len(data) != manifest.size or hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise CorruptArchiveError(
            f"{where}: segment {manifest.segment} does not match its manifest's sha256/size"
        )
    count = previous = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as lines:
            for line in lines:
                count += 1
                item = _line_decoder.decode(line)
                if item.position <= previous or (count == 1 and item.position != manifest.first):
                    raise CorruptArchiveError(f"{where}: line {count}: position out of order")
                previous = item.position
                yield StoredRow(
                    item.position, item.originator_id, item.version, item.topic, item.state
                )
    except (OSError, EOFError, msgspec.MsgspecError) as e:
        raise CorruptArchiveError(f"{where}: line {count}: unreadable segment ({e})") from e
    if count != manifest.count or previous != manifest.last:
        raise CorruptArchiveError(
            f"{where}: {count} events up to position {previous}, manifest says "
            f"{manifest.count} up to {manifest.last}"
        )


def iter_manifests(archive: Archive) -> Iterator[tuple[Manifest, str]]:
    """Every manifest in order, checking seq numbers and the hash chain; (manifest, sha256)."""
    prev, seq, last = GENESIS, 0, 0
    for key in archive.list(MANIFESTS):
        raw = archive.get(key)
        if raw is None:
            raise CorruptArchiveError(f"{archive.url}/{key} vanished while reading")
        manifest = decode_manifest(raw, f"{archive.url}/{key}")
        if key != manifest_key(seq + 1) or manifest.seq != seq + 1:
            raise CorruptArchiveError(
                f"{archive.url}/{key}: expected manifest {seq + 1} (missing or misnamed)"
            )
        if manifest.prev != prev:
            raise CorruptArchiveError(
                f"{archive.url}/{key}: broken chain (prev does not match manifest {seq})"
            )
        if manifest.first <= last:
            raise CorruptArchiveError(f"{archive.url}/{key}: positions overlap the previous one")
        prev, seq, last = hashlib.sha256(raw).hexdigest(), manifest.seq, manifest.last
        yield manifest, prev


def iter_archived_rows(archive: Archive) -> Iterator[StoredRow]:
    """Every archived event in order, each segment verified before its rows are used."""
    for manifest, _ in iter_manifests(archive):
        where = f"{archive.url}/{manifest.segment}"
        data = archive.get(manifest.segment)
        if data is None:
            raise CorruptArchiveError(f"{where}: segment missing")
        yield from read_segment(data, manifest, where)
