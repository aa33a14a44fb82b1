"""Commands that append events: init, record, ingest, canonical set, tag, projections rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .main import app, canonical_app, open_ledger, projections_app
from .output import console, errors, fail, print_json, progress_bar

FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="auto | provledger | dissmodel | e3sm | mlflow | entrenar | usher "
        "(auto detects each by layout; see docs/importers.md)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command()
def init() -> None:
    """Create the ledger (embedded SQLite under .provledger/ unless configured otherwise)."""
    from ..settings import Settings

    with open_ledger() as ledger:
        settings = Settings()
        where = settings.sqlite_path if settings.backend == "sqlite" else "PostgreSQL"
        console.print(f"ledger {ledger.ledger_id} ready ({settings.backend}: {where})")


@app.command()
def record(
    files: Annotated[list[Path], typer.Argument(help="Record files: JSON, YAML or TOML.")],
    fmt: FormatOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Record executions from files. A rejected file records nothing; the others go on."""
    from ...application.ingest import ingest
    from ..readers.walk import read_items
    from ..settings import Settings

    _check_format(fmt)
    with open_ledger() as ledger:
        items = read_items(files, Settings().max_record_bytes, fmt)
        summary = ingest(ledger, items)
        _report(summary, as_json)


@app.command("ingest")
def ingest_command(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="PATHS...", help="Folders (walked), files, or postgresql:// MLflow stores."
        ),
    ],
    fmt: FormatOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Ingest every record file under the given folders, batched, with a progress bar."""
    from ...application.ingest import ingest
    from ..readers.walk import count_items, read_items, sources
    from ..settings import Settings

    _check_format(fmt)
    paths = sources(args)
    with open_ledger() as ledger:
        total = count_items(paths, fmt)
        with progress_bar(not as_json) as progress:
            task = progress.add_task("ingesting", total=total)
            summary = ingest(
                ledger,
                read_items(paths, Settings().max_record_bytes, fmt),
                on_item=lambda _: progress.advance(task),
            )
        _report(summary, as_json)


@canonical_app.command("set")
def canonical_set(
    case: Annotated[str, typer.Argument(help="Case: namespace/name, name or id.")],
    execution: Annotated[str, typer.Argument(help="Execution id (external id or uuid).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in history).")],
) -> None:
    """Re-choose a case's canonical execution; the previous choice stays in history."""
    with open_ledger() as ledger:
        position = ledger.choose_canonical(case, execution, reason)
        console.print(f"canonical of {case} is now {execution} (log position {position})")


@app.command()
def tag(
    execution: Annotated[str, typer.Argument(help="Execution id.")],
    tags: Annotated[
        list[str] | None, typer.Argument(help="name=value to set, name= to remove")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="A note kept with the execution.")
    ] = None,
) -> None:
    """Annotate an execution (ExecutionAnnotated); the record itself never changes."""
    set_tags: dict[str, str] = {}
    removed: list[str] = []
    for item in tags or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"tag {item!r} is not name=value (or name= to remove)")
        if value:
            set_tags[name] = value
        else:
            removed.append(name)
    if not set_tags and not removed and not note:
        fail("nothing to annotate: give name=value tags or --note")
    with open_ledger() as ledger:
        position = ledger.annotate(execution, set_tags, removed, note)
        console.print(f"annotated {execution} (log position {position})")


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None, typer.Argument(help="cases, executions (default: all)")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, max=64, help="Processes to split the log across.")
    ] = 1,
) -> None:
    """Rebuild read models from position 0 into fresh tables, swapped in at the end."""
    from ..settings import Settings
    from ..sqlviews.rebuild_parts import ProcessPartLauncher

    with open_ledger() as ledger:
        known = [s.name for s in ledger.runner.status()]
        unknown = [n for n in names or () if n not in known]
        if unknown:
            fail(f"no projection named {', '.join(unknown)} (known: {', '.join(known)})")
        head = ledger.events.max_position()
        launcher = ProcessPartLauncher(Settings().store()) if jobs > 1 else None
        with progress_bar(True) as progress:
            task = progress.add_task("rebuilding", total=head or 1)
            ledger.runner.rebuild(
                names or None,
                on_progress=lambda pos, _head: progress.update(task, completed=pos),
                jobs=jobs,
                launcher=launcher,
            )
            progress.update(task, completed=head or 1)
        for status in ledger.runner.status():
            console.print(f"{status.name}: position {status.position}, lag {status.lag}")


def _check_format(fmt: str) -> None:
    from ..readers.records import FORMATS

    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _report(summary: object, as_json: bool) -> None:
    from ...application.ingest import IngestSummary

    assert isinstance(summary, IngestSummary)
    data = {
        "created": summary.created,
        "updated": summary.updated,
        "duplicates": summary.duplicates,
        "conflicts": summary.conflicts,
        "incomplete": summary.incomplete,
        "failed": summary.failed,
        "canonical_chosen": summary.canonical,
        "skipped": summary.skipped,
        "errors": summary.error_count,
        "position": summary.position,
        "error_details": [{"path": p, "message": m} for p, m in summary.errors],
        "conflict_details": summary.conflict_details,
        "update_details": summary.update_details,
        "skipped_details": [{"path": p, "reason": m} for p, m in summary.skipped_details],
    }
    if as_json:
        print_json(data)
    else:
        console.print(
            f"created {summary.created}, updated {summary.updated}, "
            f"duplicates {summary.duplicates}, "
            f"conflicts {summary.conflicts}, incomplete {summary.incomplete}, "
            f"failed {summary.failed}, errors {summary.error_count}, "
            f"skipped {summary.skipped} (canonical chosen: {summary.canonical}), "
            f"position {summary.position}",
            highlight=False,
        )
        for message in summary.update_details:
            console.print(f"updated: {escape(message.removeprefix('updated '))}", highlight=False)
        for path, reason in summary.skipped_details:
            errors.print(f"[yellow]skipped:[/] {escape(path)}: {escape(reason)}", highlight=False)
        for message in summary.conflict_details:
            errors.print(f"[yellow]conflict:[/] {escape(message)}", highlight=False)
        for _path, message in summary.errors:
            errors.print(f"[red]error:[/] {escape(message)}", highlight=False)
    if not summary.found_any and summary.error_count == 0:
        errors.print("[red]error:[/] no records found", highlight=False)
    if not summary.ok:
        raise typer.Exit(1)
