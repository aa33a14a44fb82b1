"""Use case: rebuild a lost ledger from the archive into an empty event store.

The manifest chain is checked first; then each segment is verified (sha256, size, count,
positions) before its events are appended, in large batches, with their original positions
and byte-identical topics and states. Read models are then rebuilt from the restored log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .archive_log import LogHead, iter_manifests, read_segment, save_head
from .ports import Archive
from .stored_log import CorruptArchiveError, RawLog, StoreNotEmptyError, chunked

Progress = Callable[[int, int], None]  # (events restored, events in the archive)


@dataclass
class RestoreSummary:
    segments: int = 0
    events: int = 0
    last_position: int = 0
    ledger_id: str | None = None


def restore(
    log: RawLog,
    archive: Archive,
    *,
    batch_size: int = 20_000,
    on_progress: Progress | None = None,
) -> RestoreSummary:
    """Append every archived event to the (empty) store; raise naming what is wrong."""
    if not log.is_empty():
        raise StoreNotEmptyError(
            f"the target event store already holds {log.count()} events (up to position "
            f"{log.head()}): restore only into an empty database"
        )
    manifests = list(iter_manifests(archive))  # the whole chain checks out before any write
    if not manifests:
        raise CorruptArchiveError(f"{archive.url} holds no event-log segments to restore")
    ledgers = {m.ledger for m, _ in manifests}
    if len(ledgers) > 1:
        raise CorruptArchiveError(f"{archive.url} mixes the logs of ledgers {sorted(ledgers)}")
    total = sum(m.count for m, _ in manifests)
    summary = RestoreSummary(ledger_id=manifests[0][0].ledger)
    for manifest, _ in manifests:
        where = f"{archive.url}/{manifest.segment}"
        data = archive.get(manifest.segment)
        if data is None:
            raise CorruptArchiveError(
                f"{where}: segment missing (named by manifest {manifest.seq})"
            )
        # sha256 and size are verified before the first row comes out
        for chunk in chunked(read_segment(data, manifest, where), batch_size):
            log.insert_rows(chunk)
            summary.events += len(chunk)
            if on_progress:
                on_progress(summary.events, total)
        summary.segments += 1
        summary.last_position = manifest.last
    last, sha = manifests[-1]
    log.finish_restore(summary.ledger_id)
    save_head(log, archive, LogHead(last.seq, last.last, sha))
    return summary
