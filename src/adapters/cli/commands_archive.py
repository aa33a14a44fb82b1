"""Never lose provenance: archive, persist, restore, audit, replay (docs/archive.md)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
import typer
from rich.markup import escape

from .commands_status import status_section
from .main import app, open_ledger
from .output import console, errors, fail, print_json

if TYPE_CHECKING:
    from ...application.ledger import Ledger

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _archive_and_log(ledger: Ledger, *, defer_sync: bool = False) -> tuple[Any, Any]:
    from ..archive import archive_for, raw_log_of
    from ..settings import Settings

    return archive_for(Settings(), defer_sync=defer_sync), raw_log_of(ledger)


@app.command("archive")
def archive_command(as_json: JsonOpt = False) -> None:
    """Ship the event log not yet archived as immutable, chained segments."""
    from ...application.archive_log import ship_log
    from ..settings import Settings

    with open_ledger() as ledger:
        archive, log = _archive_and_log(ledger)
        summary = ship_log(
            log, archive, ledger.ledger_id, segment_events=Settings().archive_segment_events
        )
        data = {
            "archive": archive.url,
            "segments": summary.segments,
            "events": summary.events,
            "bytes": summary.bytes,
            "archived_up_to": summary.head.last,
        }
        if as_json:
            print_json(data)
        else:
            console.print(
                f"shipped {summary.events} events in {summary.segments} segments "
                f"({summary.bytes} bytes) to {escape(archive.url)}; archived up to position "
                f"{summary.head.last}",
                highlight=False,
            )


@app.command()
def persist(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the log.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write every final record to the archive (and beside its output); with --follow, keep
    doing it and ship the log every PROVLEDGER_ARCHIVE_INTERVAL seconds, retrying with backoff."""
    from ...application.persist_records import RecordPersister

    with open_ledger() as ledger:
        archive, log = _archive_and_log(ledger, defer_sync=True)  # one sync per batch
        persister = RecordPersister(ledger.events, log, archive)
        if not follow:
            summary = persister.run()
            _persist_report(summary, archive.url, as_json)
            return
        _follow(ledger, archive)


def _persist_report(summary: Any, url: str, as_json: bool) -> None:
    data = {
        "archive": url,
        "records": summary.records,
        "side_files": summary.side_files,
        "waiting_running": summary.waiting_running,
        "side_file_conflicts": summary.conflicts,
        "position": summary.position,
    }
    if as_json:
        print_json(data)
        return
    console.print(
        f"persisted {summary.records} records to {escape(url)} and {summary.side_files} beside "
        f"their outputs; up to position {summary.position}",
        highlight=False,
    )
    for path in summary.conflicts:
        errors.print(f"not overwritten (a different file is there): {escape(path)}")


def _follow(ledger: Ledger, archive: Any) -> None:
    """`persist --follow`: the worker's loop (application/worker.py) doing persist and ship
    only, printing what it does."""
    import contextlib

    from ..service.worker import build_worker
    from ..settings import Settings

    def retrying(job: str, error: BaseException, delay: float) -> None:
        errors.print(f"{job}: retrying in {delay:.1f}s: {escape(str(error))}", highlight=False)

    worker = build_worker(
        ledger,
        Settings(),
        jobs=("persist", "ship"),
        archive=archive,
        on_persisted=lambda summary: _persist_report(summary, archive.url, False),
        on_error=retrying,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"persisting to {escape(archive.url)} (Ctrl-C stops)", highlight=False)
    with contextlib.suppress(KeyboardInterrupt):
        worker.run(stop)


def _snapshots_of(ledger: Ledger) -> Any:
    from ..sqlviews.snapshots import snapshot_store

    return snapshot_store(ledger)


@app.command("snapshot")
def snapshot_command(as_json: JsonOpt = False) -> None:
    """Write the read models to the archive (after shipping the log), so a restore applies
    only the events after them."""
    from ...application.snapshots import take_snapshot
    from ..settings import Settings

    with open_ledger() as ledger:
        ledger.catch_up()
        archive, log = _archive_and_log(ledger)
        summary = take_snapshot(
            _snapshots_of(ledger),
            archive,
            log,
            ledger.ledger_id,
            segment_events=Settings().archive_segment_events,
        )
    data = {
        "archive": archive.url,
        "manifest": summary.key,
        "position": summary.position,
        "rows": summary.rows,
        "bytes": summary.bytes,
    }
    if as_json:
        print_json(data)
    else:
        console.print(
            f"snapshot of the read models at position {summary.position}: {summary.rows} rows "
            f"({summary.bytes} bytes) in {escape(archive.url)}/{escape(summary.key)}",
            highlight=False,
        )


@app.command("restore")
def restore_command(
    source: Annotated[str, typer.Option("--from", help="s3://bucket/prefix or file:///path")],
    no_snapshot: Annotated[
        bool, typer.Option("--no-snapshot", help="Replay every event; use no snapshot.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore the ledger from an archive into an empty database: the log, then the newest
    valid read-model snapshot and the events after it (or a rebuild from the whole log)."""
    from ...application.restore import restore
    from ...application.snapshots import LoadedSnapshot, load_newest_snapshot
    from ...application.stored_log import CorruptArchiveError
    from ..archive import open_archive, raw_log_of
    from ..settings import Settings

    settings = Settings()
    with open_ledger() as ledger:
        archive = open_archive(
            source, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        )
        log = raw_log_of(ledger)
        try:
            summary = restore(log, archive)
        except CorruptArchiveError as e:
            held = log.count()
            hint = f"; the store now holds {held} events: empty it before retrying" if held else ""
            fail(f"restore stopped: {e}{hint}".replace("[", r"\["))
        loaded = LoadedSnapshot()
        if not no_snapshot:
            known = list(ledger.runner_as_is().projections)
            loaded = load_newest_snapshot(_snapshots_of(ledger), archive, summary.ledger_id, known)
        if loaded.used is None:
            ledger.runner.rebuild()
        ledger.catch_up()  # the events after the snapshot
        counts = ledger.queries.counts()
        data = {
            "from": archive.url,
            "segments": summary.segments,
            "events": summary.events,
            "last_position": summary.last_position,
            "ledger_id": summary.ledger_id,
            "snapshot": loaded.used,
            "snapshot_position": loaded.position if loaded.used else None,
            "snapshots_refused": loaded.refused,
            **counts,
        }
        if as_json:
            print_json(data)
            return
        for refused in loaded.refused:
            errors.print(f"snapshot refused: {escape(refused)}", highlight=False)
        how = (
            f"read models loaded from the snapshot at position {loaded.position} "
            f"({escape(loaded.used)}) and caught up"
            if loaded.used
            else "read models rebuilt from the whole log"
        )
        console.print(
            f"restored {summary.events} events from {summary.segments} segments of "
            f"{escape(archive.url)} (ledger {summary.ledger_id}); {how}: "
            + ", ".join(f"{v} {k}" for k, v in counts.items()),
            highlight=False,
        )


@app.command("audit")
def audit_command(
    files: Annotated[bool, typer.Option("--files", help="Also check outputs on disk.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the event chains, the archive's copy of every event, persisted records (and
    files); name each discrepancy; exit 1 on any."""
    from ...application.audit import audit

    with open_ledger() as ledger:
        ledger.catch_up()
        archive, log = _archive_and_log(ledger)
        report = audit(log, archive, ledger.events, files=files, describe=_describer(ledger))
    if as_json:
        print_json(report)
    else:
        console.print(
            f"audited {report.events} events of {report.aggregates} aggregates "
            f"({report.unchained} from before the hash chain), {report.archived} archived, "
            f"{report.records} records" + (f", {report.files} files" if files else ""),
            highlight=False,
        )
        for d in report.discrepancies:
            errors.print(f"[red]{d.check}:[/] {escape(d.message)}", highlight=False)
        if report.total_discrepancies > len(report.discrepancies):
            errors.print(f"… and {report.total_discrepancies - len(report.discrepancies)} more")
        if report.ok:
            console.print("[green]no discrepancies[/]")
    if not report.ok:
        raise typer.Exit(1)


def _describer(ledger: Ledger) -> Callable[[str], str]:
    def describe(hex_id: str) -> str:
        ref = str(UUID(hex_id))
        row = ledger.queries.execution(ref)
        if row is not None:
            return f"execution {row['namespace']}/{row['case_name']}/{row['execution_id']}"
        case = ledger.queries.case(ref)
        if case is not None:
            return f"case {case['namespace']}/{case['name']}"
        return f"aggregate {ref}"

    return describe


@app.command()
def replay(
    as_of: Annotated[str, typer.Option("--as-of", help="An ISO timestamp or a log position.")],
    as_json: JsonOpt = False,
) -> None:
    """The cases and executions as they were then; the live read models are not touched."""
    from ...application.replay import replay as run_replay
    from ...projections.views import CasesView, ExecutionsView

    position, when = _point(as_of)
    with open_ledger() as ledger:
        views = [CasesView(), ExecutionsView(ledger.policies)]
        snap = run_replay(ledger.events, views, position=position, as_of=when)
    if as_json:
        from ..presenters import cases_public, execution_public

        print_json(
            {
                "position": snap.position,
                "at": snap.at,
                "cases": cases_public(snap.cases, snap.executions),
                "executions": [execution_public(e) for e in snap.executions],
            }
        )
        return
    console.print(f"as of position {snap.position} ({snap.at or 'start'}):", highlight=False)
    by_case: dict[str, list[dict[str, Any]]] = {}
    for e in snap.executions:
        by_case.setdefault(e["case_id"], []).append(e)
    for case in snap.cases:
        canonical = case["canonical_execution_id"] or "none yet"
        console.print(
            f"[bold]{escape(case['namespace'])}/{escape(case['name'])}[/]: canonical "
            f"[green]{escape(canonical)}[/]",
            highlight=False,
        )
        for e in by_case.get(case["case_id"], []):
            mark = "★" if e["is_canonical"] else "·"
            deltas = "; ".join(
                f"{k}: {v['canonical']!r} -> {v['current']!r}"
                for k, v in (e["deltas"] or {}).items()
            )
            console.print(
                f"  {mark} {e['execution_id']} [{e['status']}] "
                f"{e['change_count']} changes {deltas}",
                highlight=False,
                markup=False,
            )


def _point(text: str) -> tuple[int | None, datetime | None]:
    if text.strip().isdigit():
        return int(text), None
    try:
        return None, datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"--as-of {text!r} is neither a log position nor an ISO timestamp "
            "(e.g. 2026-01-31T12:00:00Z)"
        )


@status_section("archive")
def _archive_status(ledger: Ledger) -> dict[str, Any]:
    from ...application.archive_log import LogHead, state_key
    from ...application.persist_records import POSITION_KEY, unpersisted

    archive, log = _archive_and_log(ledger)
    head = ledger.events.max_position()
    stored = log.get_state(state_key(archive))
    archived = LogHead(*msgspec.json.decode(stored)) if stored else LogHead()
    missing = list(unpersisted(log, archive))
    return {
        "archive": archive.url,
        "archived up to": archived.last,
        "events not archived": head - archived.last if head > archived.last else 0,
        "persister position": int(log.get_state(POSITION_KEY) or 0),
        "running (persisted when finished)": sum(r["status"] == "running" for r in missing),
        "not yet persisted": [
            f"{r['namespace']}/{r['case_name']}/{r['execution_id']} ({r['status']})"
            for r in missing
            if r["status"] != "running"
        ],
    }
