"""Live capture: `run`, `pin`, `reproduce`, `stale` (see docs/capture.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .commands_status import status_section
from .main import app, open_ledger
from .output import console, errors, fail, print_json, user_errors

if TYPE_CHECKING:
    from ...application.ledger import Ledger
    from ..capture.session import Capture, RunOutcome

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RUN_CONTEXT = {"allow_interspersed_args": False}
STATUS_STALE_TIMEOUT = 300.0


def _capture(ledger: Ledger, *, catch_up: bool = True, keep: bool = False) -> Capture:
    from ..capture.heartbeat import FileHeartbeats
    from ..capture.session import Capture
    from ..settings import Settings

    settings = Settings()
    home = settings.home
    archive = None
    if keep:
        from ..archive import archive_for

        archive = archive_for(settings)
    return Capture(
        ledger, home, FileHeartbeats(home / "heartbeats"), catch_up=catch_up, archive=archive
    )


def _report(outcome: RunOutcome, as_json: bool) -> None:
    from .run_report import run_summary, summary_lines

    summary = run_summary(outcome)
    if as_json:
        print_json(summary)
        return
    for line in summary_lines(outcome, summary):
        errors.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command(context_settings=RUN_CONTEXT)
def run(
    command: Annotated[
        list[str] | None, typer.Argument(help="The command, after `--`.", show_default=False)
    ] = None,
    case: Annotated[
        str | None, typer.Option(help="Case name (default: config or command).")
    ] = None,
    namespace: Annotated[str, typer.Option(help="Case namespace.")] = "default",
    config: Annotated[Path | None, typer.Option(help="Config file: TOML, YAML or JSON.")] = None,
    inputs: Annotated[
        list[Path] | None, typer.Option("--input", help="Input file or folder (repeatable).")
    ] = None,
    outputs: Annotated[
        list[Path] | None, typer.Option("--output", help="Output file or folder (repeatable).")
    ] = None,
    restricted: Annotated[
        list[Path] | None,
        typer.Option(
            "--restricted-output",
            help="An output that is access-restricted (repeatable; gc --files keeps it).",
        ),
    ] = None,
    keep_outputs: Annotated[
        bool,
        typer.Option(
            "--keep-outputs",
            help="Store the outputs' bytes in the archive (by sha256) for `provledger get`.",
        ),
    ] = False,
    reuse: Annotated[
        str,
        typer.Option(
            help="never | auto: restore an identical succeeded run's kept outputs instead of "
            "running (keeps this run's outputs) | only: restore, or fail with status 1.",
        ),
    ] = "never",
    reuse_packages: Annotated[
        list[str] | None,
        typer.Option(
            "--reuse-package", help="A package whose version joins the reuse key (repeatable)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="With --reuse: say what would be reused, or why not; run nothing."),
    ] = False,
    quiet: Annotated[bool, typer.Option(help="Do not echo the command's output.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run COMMAND and record it: running at start, final record at exit (status = its own).

    `provledger run CONFIG` runs the command the config names (`run_metadata.script`) against
    its working config (the one `provledger pull CONFIG` pinned), with no network access."""
    from ..capture.session import RunRequest

    if not command:
        fail("no command to run: give it after `--`, e.g. provledger run -- make")
    if config is None and len(command) == 1 and _is_config_file(command[0]):
        from ..sync.runconfig import script_of

        with user_errors():
            config, command = script_of(Path(command[0]))

    request = RunRequest(
        command=list(command),
        case=case,
        namespace=namespace,
        config=config,
        inputs=list(inputs or []),
        outputs=[*(outputs or []), *(restricted or [])],
        restricted=list(restricted or []),
        keep_outputs=keep_outputs or reuse in ("auto", "only"),
        reuse=reuse,
        reuse_packages=list(reuse_packages or []),
        say=lambda line: errors.print(line, highlight=False, markup=False, soft_wrap=True),
        echo=not quiet,
        echo_stdout_to_stderr=as_json,
    )
    if reuse not in ("never", "auto", "only"):
        fail(f"--reuse must be never, auto or only, not {reuse!r}")
    if dry_run:
        _explain_run(request, as_json)
        return
    from ..capture.reusing import ReuseUnavailableError

    with open_ledger() as ledger:
        try:
            # reads catch up first
            capture = _capture(ledger, catch_up=False, keep=request.keep_outputs)
            outcome = capture.run(request)
        except ReuseUnavailableError as e:
            fail(str(e).replace("[", r"\["), code=1)
        _report(outcome, as_json)
    raise typer.Exit(outcome.exit_code)


def _explain_run(request: Any, as_json: bool) -> None:
    """`run --dry-run`: what this run's key would reuse, or which part differs and where."""
    from ...application.reuse import explain
    from ..capture.reusing import availability
    from .reuse_report import explanation_json, explanation_lines

    with open_ledger() as ledger, user_errors():
        capture = _capture(ledger, keep=True)
        record = capture.keyed(request)
        wanted = list(record.attributes.get("outputs") or [])
        found = explain(ledger, record, availability(capture.archive, wanted))
    if as_json:
        print_json(explanation_json(found))
        return
    for line in explanation_lines(found, "this run"):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _is_config_file(arg: str) -> bool:
    return arg.lower().endswith((".yaml", ".yml", ".toml", ".json")) and Path(arg).is_file()


@app.command()
def pin(
    config: Annotated[Path, typer.Argument(help="Config file: TOML, YAML or JSON.")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Where (.yaml or .json).")] = None,
    inputs: Annotated[
        list[Path] | None, typer.Option("--input", help="Extra input to pin (repeatable).")
    ] = None,
    case: Annotated[str | None, typer.Option(help="Case name (default: config stem).")] = None,
    namespace: Annotated[str, typer.Option(help="Case namespace.")] = "default",
) -> None:
    """Write the fully resolved working config: every input pinned by sha256, defaults explicit."""
    from ..capture.config import load_config
    from ..capture.gitstate import git_state
    from ..capture.hashing import file_refs
    from ..capture.pinning import pin as pin_config
    from ..capture.pinning import write_pinned
    from .output import user_errors

    with user_errors():
        cwd = Path.cwd()
        loaded = load_config(config)
        extra = list(inputs or [])
        refs = file_refs(extra, role="input", uris=[str(p) for p in extra])
        pinned, _ = pin_config(
            loaded,
            cwd=cwd,
            inputs=refs,
            outputs=[],
            command=[],
            case=case or loaded.path.stem,
            namespace=namespace,
            code=git_state(cwd),
        )
        target = out or config.with_name(f"{config.stem}.working.yaml")
        write_pinned(pinned, target)
        console.print(f"pinned {len(pinned['inputs'])} input(s) -> {target}", highlight=False)


@app.command()
def reproduce(
    execution: Annotated[str, typer.Argument(help="Execution id to re-run.")],
    in_dir: Annotated[
        Path | None, typer.Option("--in", help="Directory to re-run in (default: the original).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Run even if inputs differ.")] = False,
    quiet: Annotated[bool, typer.Option(help="Do not echo the command's output.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-run a recorded command after checking its inputs; record the verdict."""
    from ..capture.reproducing import reproduce as reproduce_execution

    with open_ledger() as ledger:
        outcome = reproduce_execution(
            _capture(ledger, keep=True),
            execution,
            in_dir,
            force=force,
            echo=not quiet,
            echo_stdout_to_stderr=as_json,
        )
        _report(outcome, as_json)
    raise typer.Exit(0 if outcome.final.status.value == "succeeded" else outcome.exit_code or 1)


@app.command()
def get(
    execution: Annotated[str, typer.Argument(help="The execution that kept the outputs.")],
    path: Annotated[
        str | None,
        typer.Argument(help="One kept output, or a folder of them (default: every one)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder to write into.", show_default=False)
    ] = Path("."),
    force: Annotated[bool, typer.Option(help="Replace files that exist with other bytes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch an execution's kept outputs back from the archive, each verified by its sha256.

    Each file goes to its recorded path under OUT (default: the current folder)."""
    from ..archive import archive_for
    from ..capture.keeping import fetch, select, target_of
    from ..settings import Settings

    with open_ledger() as ledger, user_errors():
        record = ledger.record_of(execution)
        wanted = select(record, path)
        archive = archive_for(Settings())
        fetched = [fetch(archive, k, target_of(str(k["uri"]), out), force=force) for k in wanted]
    rows = [
        {
            "file": f.uri,
            "path": str(f.path),
            "sha256": f.sha256,
            "size": f.size,
            "written": not f.unchanged,
        }
        for f in fetched
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        how = "written" if row["written"] else "already there"
        console.print(
            f"{row['file']} -> {row['path']} ({row['size']} bytes, sha256 verified, {how})",
            highlight=False,
            markup=False,
        )


@app.command()
def stale(
    timeout: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before a run is stale.")
    ] = 300.0,
    mark: Annotated[bool, typer.Option(help="End the stale executions (see --as).")] = False,
    mark_as: Annotated[str, typer.Option("--as", help="unknown | cancelled")] = "unknown",
    as_json: JsonOpt = False,
) -> None:
    """List running executions whose capture stopped beating; --mark ends them."""
    from ...application.capture import find_stale, mark_stale
    from ...domain.record import Status
    from ..capture.heartbeat import FileHeartbeats
    from ..settings import Settings
    from .output import fail

    if mark_as not in ("unknown", "cancelled"):
        fail(f"--as must be unknown or cancelled, not {mark_as!r}")
    if timeout <= 0:
        fail(f"--timeout must be positive, not {timeout}")
    with open_ledger() as ledger:
        beats = FileHeartbeats(Settings().home / "heartbeats")
        found = find_stale(ledger, beats, timeout)
        marked = mark_stale(ledger, beats, found, Status(mark_as)) if mark else []
    rows = [
        {
            "execution_id": s.execution_id,
            "case": s.case,
            "started": s.started,
            "last_beat": s.last_beat.isoformat() if s.last_beat else None,
            "silent_seconds": round(s.silent_seconds, 1),
            "marked": mark_as if any(m.execution_id == s.execution_id for m in marked) else None,
        }
        for s in found
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no stale executions (timeout {timeout:g} s)")
        return
    from .plain import print_table

    print_table(
        ["execution", "case", "started", "last beat", "silent (s)", "marked"],
        [
            [
                r["execution_id"],
                r["case"],
                r["started"],
                r["last_beat"],
                r["silent_seconds"],
                r["marked"],
            ]
            for r in rows
        ],
        title="stale executions",
    )


@status_section("capture")
def _capture_status(ledger: Ledger) -> dict[str, Any]:
    """`provledger status`: running executions, and those whose capture stopped beating."""
    from ...application.capture import find_stale, running_rows
    from ..capture.heartbeat import FileHeartbeats
    from ..settings import Settings

    beats = FileHeartbeats(Settings().home / "heartbeats")
    found = find_stale(ledger, beats, STATUS_STALE_TIMEOUT)
    return {
        "running": len(running_rows(ledger)),
        f"stale (no heartbeat for {STATUS_STALE_TIMEOUT:g} s; `provledger stale --mark`)": [
            f"{s.case} {s.execution_id} silent {s.silent_seconds:.0f} s" for s in found
        ],
    }
