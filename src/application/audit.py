"""Use case: prove nothing was lost or changed. Streams everything, so memory stays flat.

Checks: each aggregate's hash chain in the store; that the archive holds every stored event
byte for byte (and its segments match their manifests); that every final execution has a
persisted record whose bytes match its sha256; optionally that output files still match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import msgspec

from ..domain.execution import RECORD_EVENTS
from .archive_log import iter_manifests, read_segment
from .persist_records import record_key
from .ports import Archive, EventStore
from .stored_log import (
    GENESIS,
    CorruptArchiveError,
    RawLog,
    StoredRow,
    event_digest,
    iter_by_aggregate,
    iter_executions,
    iter_rows,
)

MAX_LISTED = 1000
Describe = Callable[[str], str]  # aggregate id (hex) -> "namespace/case/execution"


class _Prev(msgspec.Struct):
    prev: str | None = msgspec.field(default=None, name="_prev")


_prev_decoder = msgspec.json.Decoder(_Prev)


@dataclass(frozen=True)
class Discrepancy:
    check: str  # chain | archive | record | file | snapshot | reuse
    message: str
    position: int | None = None
    execution: str | None = None
    file: str | None = None


@dataclass
class AuditReport:
    events: int = 0
    aggregates: int = 0
    unchained: int = 0
    archived: int = 0
    not_yet_archived: int = 0
    records: int = 0
    reused: int = 0
    files: int = 0
    snapshots: int = 0
    total_discrepancies: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)

    def add(self, d: Discrepancy) -> None:
        self.total_discrepancies += 1
        if len(self.discrepancies) < MAX_LISTED:
            self.discrepancies.append(d)

    @property
    def ok(self) -> bool:
        return self.total_discrepancies == 0


def audit(
    log: RawLog,
    archive: Archive,
    events: EventStore | None = None,
    *,
    files: bool = False,
    describe: Describe = str,
) -> AuditReport:
    report = AuditReport()
    check_chains(log, report, describe)
    check_archive(log, archive, report, describe)
    check_records(log, archive, report)
    check_snapshots(log, archive, report)
    if events is not None:
        check_reused(log, events, report)
    if files and events is not None:
        check_files(events, report)
    return report


def check_chains(log: RawLog, report: AuditReport, describe: Describe) -> None:
    previous: StoredRow | None = None
    for row in iter_by_aggregate(log):
        report.events += 1
        same = previous is not None and previous.originator_id == row.originator_id
        if not same:
            report.aggregates += 1
        expected_version = previous.version + 1 if same and previous else 1
        if row.version != expected_version:
            who = describe(row.originator_id)
            report.add(
                Discrepancy(
                    "chain",
                    f"{who}: event v{expected_version} is missing (next stored is "
                    f"v{row.version} at position {row.position})",
                    row.position,
                    who,
                )
            )
        try:
            prev = _prev_decoder.decode(row.state).prev
        except msgspec.MsgspecError as e:
            who = describe(row.originator_id)
            report.add(
                Discrepancy(
                    "chain",
                    f"{who}: unreadable event at position {row.position}: {e}",
                    row.position,
                    who,
                )
            )
            previous = row
            continue
        if prev is None:
            report.unchained += 1
        elif row.version == 1 and prev != GENESIS:
            who = describe(row.originator_id)
            report.add(
                Discrepancy(
                    "chain",
                    f"{who}: first event at position {row.position} does not start the chain",
                    row.position,
                    who,
                )
            )
        elif same and previous and row.version == previous.version + 1:
            digest = event_digest(
                previous.originator_id, previous.version, previous.topic, previous.state
            )
            if prev != digest:
                who = describe(row.originator_id)
                report.add(
                    Discrepancy(
                        "chain",
                        f"{who}: event at position {previous.position} (v{previous.version}) "
                        f"was changed: it no longer matches the hash carried by v{row.version} "
                        f"(position {row.position})",
                        previous.position,
                        who,
                    )
                )
        previous = row


def check_snapshots(log: RawLog, archive: Archive, report: AuditReport) -> None:
    """Every read-model snapshot names a manifest of the archived log chain, and its tables
    match their sha256, size and row counts."""
    from .snapshots import audit_snapshots, snapshot_manifests

    try:
        chain = list(iter_manifests(archive))
    except CorruptArchiveError:
        return  # check_archive names it
    report.snapshots = len(snapshot_manifests(archive))
    ledger = chain[0][0].ledger if chain else None  # the archived log's own ledger
    for problem in audit_snapshots(archive, chain, ledger):
        report.add(Discrepancy("snapshot", problem))


def check_archive(log: RawLog, archive: Archive, report: AuditReport, describe: Describe) -> None:
    stored = _Peek(iter_rows(log))
    try:
        for manifest, _ in iter_manifests(archive):
            where = f"{archive.url}/{manifest.segment}"
            data = archive.get(manifest.segment)
            try:
                if data is None:
                    raise CorruptArchiveError(f"{where}: segment missing")
                for archived in read_segment(data, manifest, where):
                    _compare(archived, stored, report, describe)
            except CorruptArchiveError as e:
                report.add(
                    Discrepancy(
                        "archive",
                        f"{e} (positions {manifest.first}-{manifest.last} cannot be checked)",
                        manifest.first,
                        file=where,
                    )
                )
                while stored.peek() is not None and stored.peek().position <= manifest.last:  # type: ignore[union-attr]
                    next(stored)
                continue
    except CorruptArchiveError as e:
        report.add(Discrepancy("archive", str(e)))
    for row in stored:
        report.not_yet_archived += 1
        if report.not_yet_archived == 1:
            first = row.position
    if report.not_yet_archived:
        report.add(
            Discrepancy(
                "archive",
                f"{report.not_yet_archived} events from position "
                f"{first} are not archived yet: run `provledger archive`",
                first,
            )
        )


def _compare(archived: StoredRow, stored: _Peek, report: AuditReport, describe: Describe) -> None:
    while (row := stored.peek()) is not None and row.position < archived.position:
        next(stored)
        who = describe(row.originator_id)
        report.add(
            Discrepancy(
                "archive",
                f"event at position {row.position} ({who} "
                f"v{row.version}) is missing from the archive",
                row.position,
                who,
            )
        )
    report.archived += 1
    row = stored.peek()
    if row is None or row.position != archived.position:
        who = describe(archived.originator_id)
        report.add(
            Discrepancy(
                "archive",
                f"event at position {archived.position} ({who} "
                f"v{archived.version}) is in the archive but missing from the "
                "store",
                archived.position,
                who,
            )
        )
        return
    next(stored)
    if row != archived:
        who = describe(archived.originator_id)
        report.add(
            Discrepancy(
                "archive",
                f"event at position {row.position} ({who} "
                f"v{row.version}) differs from its archived copy",
                row.position,
                who,
            )
        )


def check_records(log: RawLog, archive: Archive, report: AuditReport) -> None:
    for row in iter_executions(log):
        if row["status"] == "running":
            continue
        report.records += 1
        who = f"{row['namespace']}/{row['case_name']}/{row['execution_id']}"
        key = record_key(row["namespace"], row["case_name"], row["execution_id"])
        location = f"{archive.url}/{key}"
        sha = row["persisted"].get(location)
        if sha is None:
            report.add(
                Discrepancy(
                    "record",
                    f"{who}: no persisted record in {archive.url}",
                    execution=who,
                    file=location,
                )
            )
            continue
        data = archive.get(key)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            state = "is missing" if data is None else "does not match its sha256"
            report.add(
                Discrepancy("record", f"{who}: {location} {state}", execution=who, file=location)
            )


class _Reused(msgspec.Struct):
    original: str
    original_execution: str


_reused_decoder = msgspec.json.Decoder(_Reused)
REUSED_TOPIC = "provledger:ExecutionReused"


def check_reused(log: RawLog, events: EventStore, report: AuditReport) -> None:
    """A reused execution (ExecutionReused) has the outputs of the original it restored: the
    same files with the same sha256s, and the same kept files."""
    from uuid import UUID

    for row in iter_rows(log):
        if row.topic != REUSED_TOPIC:
            continue
        report.reused += 1
        who = row.originator_id
        try:
            reused = _reused_decoder.decode(row.state)
            mine, theirs = events.get(UUID(row.originator_id)), events.get(UUID(reused.original))
        except (msgspec.MsgspecError, ValueError):
            report.add(Discrepancy("reuse", f"{who}: unreadable ExecutionReused", row.position))
            continue
        if mine is None or theirs is None:
            report.add(
                Discrepancy("reuse", f"{who}: its original {reused.original_execution} is missing")
            )
            continue
        a, b = mine.record, theirs.record  # type: ignore[attr-defined]
        who = f"{a.namespace}/{a.case}/{a.execution_id}"
        outputs_b = {o.uri: o.sha256 for o in b.outputs}
        differ = sorted(o.uri for o in a.outputs if outputs_b.get(o.uri, "?") != o.sha256)
        kept_a = {(k.get("uri"), k.get("sha256")) for k in a.attributes.get("kept") or []}
        kept_b = {(k.get("uri"), k.get("sha256")) for k in b.attributes.get("kept") or []}
        differ += sorted(str(uri) for uri, _ in kept_a - kept_b)
        if differ or a.reused_from != reused.original_execution:
            report.add(
                Discrepancy(
                    "reuse",
                    f"{who}: reused from {reused.original_execution} but its outputs differ "
                    f"from the original's ({', '.join(dict.fromkeys(differ)) or 'reused_from'})",
                    row.position,
                    who,
                )
            )


def check_files(events: EventStore, report: AuditReport) -> None:
    position = 0
    while batch := events.read(position, 1000):
        position = batch[-1].position
        for item in batch:
            event = item.event
            if not isinstance(event, RECORD_EVENTS):
                continue
            record = event.record
            who = f"{record.namespace}/{record.case}/{record.execution_id}"
            for ref in (*record.outputs, *record.inputs):
                path = _local(ref.uri)
                if ref.sha256 is None or path is None:
                    continue
                report.files += 1
                if not path.is_file():
                    report.add(
                        Discrepancy(
                            "file", f"{who}: {path} is missing", item.position, who, str(path)
                        )
                    )
                    continue
                with path.open("rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
                if digest != ref.sha256.removeprefix("sha256:"):
                    report.add(
                        Discrepancy(
                            "file",
                            f"{who}: {path} no longer matches its sha256",
                            item.position,
                            who,
                            str(path),
                        )
                    )


def _local(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and Path(uri).is_absolute():
        return Path(uri)
    return None


class _Peek:
    def __init__(self, items: Iterator[StoredRow]) -> None:
        self._items = items
        self._next: StoredRow | None = next(items, None)

    def peek(self) -> StoredRow | None:
        return self._next

    def __iter__(self) -> Iterator[StoredRow]:
        return self

    def __next__(self) -> StoredRow:
        if self._next is None:
            raise StopIteration
        item, self._next = self._next, next(self._items, None)
        return item
