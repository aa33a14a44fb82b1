"""Sync commands: remote, commit, push, pull, update, delete, gc, info; a `status` section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ...application.ledger import Ledger
from ...application.sync.local import SyncState, all_states, commit, describe, resolve
from ...application.sync.maintain import counts, delete, gc, update
from ...application.sync.pull import pull
from ...application.sync.push import PushReport, push, stored_or_local
from ...application.sync.wire import (
    RemoteUnavailableError,
)
from ...domain.record import record_to_builtins
from ..settings import Settings
from ..sync.client import HttpRemote
from ..sync.registry import RemoteRegistry
from ..sync.runconfig import read_specs, working_config, write_working
from ..sync.store import DataStore, clear_cache
from ..sync.views import push_summary, remote_views
from .commands_status import status_section
from .main import app, open_ledger
from .output import console, errors, fail, print_json, progress_bar, user_errors

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
remote_app = typer.Typer(help="Named remote ledgers (provledger serve).", no_args_is_help=True)
app.add_typer(remote_app, name="remote")


def _registry() -> RemoteRegistry:
    return RemoteRegistry(Settings().home)


@contextmanager
def _remote(name: str | None) -> Iterator[HttpRemote]:
    registry = _registry()
    remote = HttpRemote(registry.get(name))
    try:
        yield remote
    except RemoteUnavailableError as e:
        fail(str(e).replace("[", r"\["), code=3)
    finally:
        remote.close()


@remote_app.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. origin.")],
    url: Annotated[str, typer.Argument(help="The server's URL, e.g. http://host:8000.")],
    token: Annotated[
        str | None, typer.Option(envvar="PROVLEDGER_REMOTE_TOKEN", help="A write token.")
    ] = None,
) -> None:
    """Add a remote ledger (kept in PROVLEDGER_HOME/remotes.json, readable by you only)."""
    with user_errors():
        added = _registry().add(name, url, token)
    console.print(f"added remote {escape(added.name)} -> {escape(added.url)}")


@remote_app.command("list")
def remote_list(as_json: JsonOpt = False) -> None:
    """List the remotes (tokens are never printed)."""
    with user_errors():
        remotes = [r.public() for r in _registry().list()]
    if as_json:
        print_json(remotes)
        return
    from .plain import print_table

    print_table(
        ["remote", "url", "token"],
        [[r["name"], r["url"], r["token"]] for r in remotes],
        title="remotes",
    )


@remote_app.command("remove")
def remote_remove(name: str) -> None:
    """Forget a remote (nothing on either ledger changes)."""
    with user_errors():
        removed = _registry().remove(name)
    console.print(f"removed remote {escape(removed.name)}")


@app.command("commit")
def commit_command(
    ref: Annotated[str, typer.Argument(help="An execution id or uuid, or a file it produced.")],
    as_json: JsonOpt = False,
) -> None:
    """Mark an execution and the executions its inputs came from for pushing, and snapshot
    their output files into the local data store (push sends exactly those bytes)."""
    with open_ledger() as ledger:
        result = commit(ledger, ref, DataStore(Settings().home))
    if as_json:
        print_json(
            {
                "committed": result.committed,
                "already": result.already,
                "position": result.position,
                "snapshotted": result.snapshotted,
                "not_snapshotted": result.not_snapshotted,
            }
        )
        return
    for name in result.committed:
        console.print(f"committed {escape(name)}")
    for name in result.already:
        console.print(f"already committed {escape(name)}")
    console.print(f"{result.snapshotted} output file(s) kept in the local data store")
    for uri in result.not_snapshotted:
        errors.print(
            f"[yellow]warning:[/] {escape(uri)} is gone or changed since its run; "
            "push can send it only if it is back as recorded"
        )


@app.command("push")
def push_command(
    remote: Annotated[
        str | None, typer.Argument(help="The remote (default: the only one).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send committed executions and their output files to a remote; resumable."""
    with (
        open_ledger() as ledger,
        _remote(remote) as client,
        progress_bar(not as_json and errors.is_terminal, transient=True) as bar,
    ):
        task = bar.add_task(f"push to {remote or client.name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, advance=done, total=total)

        report = push(
            ledger, client, files=stored_or_local(DataStore(Settings().home)), on_batch=advance
        )
        _registry().remember_ledger(client.name, report.remote_ledger)
    _push_report(report, as_json)
    if report.conflicts or report.invalid:
        raise typer.Exit(1)


def _push_report(report: PushReport, as_json: bool) -> None:
    if as_json:
        print_json(push_summary(report))
        return
    if not report.sent:
        console.print(f"nothing to push to {escape(report.remote)}")
    else:
        console.print(
            f"pushed {report.sent} to {escape(report.remote)}: {report.created} new, "
            f"{report.updated} updated, {report.unchanged} already there; files: "
            f"{report.files_uploaded} uploaded, {report.files_present} already there",
            highlight=False,
        )
    for c in report.conflicts:
        console.print(
            f"[red]conflict:[/] {escape(str(c.case))}/{escape(str(c.execution_id))} differs on "
            f"the remote in {', '.join(c.conflicting_fields)}; nothing was overwritten"
        )
    for c in report.invalid:
        console.print(f"[red]refused:[/] {escape(str(c.error))}")
    if report.files_missing_locally:
        console.print(f"not uploaded (not found here): {len(report.files_missing_locally)} files")
    if not report.remote_keeps_files:
        console.print("the remote keeps no files (no archive): records only")


@app.command("pull")
def pull_command(
    config: Annotated[Path, typer.Argument(help="A run config with a `read:` list.")],
    remote: Annotated[
        str | None, typer.Option(help="The remote (default: the config's, or the only one).")
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Working config path.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch what CONFIG reads (executions and files, verified) and write its working config."""
    with user_errors():
        loaded, specs, named = read_specs(config)
        registry = _registry()
        chosen = registry.get(remote or named)
        store = DataStore(Settings().home)
    with open_ledger() as ledger, _remote(chosen.name) as client:
        result = pull(ledger, client, specs, store)
        registry.remember_ledger(client.name, result.remote_ledger)
    target = out or config.with_name(f"{config.stem}.working.yaml")
    with user_errors():
        write_working(
            working_config(loaded, {"name": chosen.name, "url": chosen.url}, result), target
        )
    summary = {
        "working_config": str(target),
        "executions": result.executions,
        "inputs": [i.name for i in result.inputs],
        "downloaded": result.downloaded,
        "cached": result.cached,
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"pulled {len(result.executions)} execution(s), {len(result.inputs)} input(s) "
        f"({result.downloaded} downloaded, {result.cached} cached) -> {target}",
        highlight=False,
    )


@app.command("update")
def update_command(
    remote: Annotated[
        str | None, typer.Argument(help="The remote (default: the only one).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch the remote's newest events of everything pulled before (nothing is overwritten)."""
    with open_ledger() as ledger, _remote(remote) as client:
        report = update(ledger, client)
    conflicts = [r for r in report.results if r.outcome.value in ("conflict", "invalid")]
    found_counts = counts(report.results)
    summary = {
        "checked": report.checked,
        "counts": found_counts,
        "absent": report.absent,
        "conflicts": [
            {"execution_id": r.execution_id, "case": r.case, "fields": r.conflicting_fields}
            for r in conflicts
        ],
    }
    if as_json:
        print_json(summary)
    else:
        found = ", ".join(f"{n} {k}" for k, n in sorted(found_counts.items()))
        console.print(f"checked {report.checked} pulled execution(s): {found or 'nothing'}")
        for r in conflicts:
            console.print(
                f"[red]conflict:[/] {escape(str(r.case))}/{escape(str(r.execution_id))} differs "
                f"in {', '.join(r.conflicting_fields)}; the local copy is unchanged"
            )
    if conflicts:
        raise typer.Exit(1)


@app.command("delete")
def delete_command(
    ref: Annotated[str, typer.Argument(help="An execution id or uuid, or a file it produced.")],
    force: Annotated[bool, typer.Option(help="Retract even if it was never pushed.")] = False,
    reason: Annotated[str, typer.Option(help="Why (kept in the Retracted event).")] = "deleted",
    as_json: JsonOpt = False,
) -> None:
    """Retract an execution (its history stays) and drop its cached files nothing needs."""
    with open_ledger() as ledger:
        done = delete(ledger, ref, DataStore(Settings().home), force=force, reason=reason)
    if as_json:
        print_json(
            {
                "execution_id": done.execution_id,
                "case": done.case,
                "was": done.state,
                "files_removed": done.files_removed,
            }
        )
        return
    console.print(
        f"retracted {escape(done.case)}/{escape(done.execution_id)} (was {done.state}); "
        f"{len(done.files_removed)} cached file(s) removed",
        highlight=False,
    )


@app.command("gc")
def gc_command(
    files: Annotated[
        bool, typer.Option("--files", help="Also drop local data files already pushed.")
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="With --files: restricted files too.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Only list what would go.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Drop pulled copies and cached files that no unpushed local work depends on.

    Never removes anything an unpushed execution read or wrote. `--files` also drops local
    data files (commit's snapshots) once pushed; `--all` even restricted ones."""
    home = Settings().home
    with open_ledger() as ledger, user_errors():
        from ...application.reuse import KEPT_REUSED, Guarded, reused_sha256s

        # Copies of what reused executions restored stay unless --files --all.
        store = Guarded(DataStore(home), set() if everything else reused_sha256s(ledger))
        plan = gc(ledger, store, files=files, everything=everything, dry_run=dry_run)
        if store.held():
            plan.kept.setdefault(KEPT_REUSED, []).extend(store.held())
        cache = clear_cache(home, dry_run=dry_run)
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "removed": [f.sha256 for f in plan.removable],
                "removed_bytes": plan.freed_bytes,
                "cache": cache,
                "kept": {reason: [f.sha256 for f in kept] for reason, kept in plan.kept.items()},
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    for f in plan.removable:
        console.print(f"{verb} {f.sha256} ({f.origin}, {f.size:,} bytes)", highlight=False)
    console.print(
        f"{verb} {len(plan.removable)} file(s), {plan.freed_bytes:,} bytes, and "
        f"{len(cache)} cached file(s)",
        highlight=False,
    )
    for reason, kept in plan.kept.items():
        console.print(f"kept {len(kept)}: {reason}", highlight=False)


@status_section("sync")
def _sync_status(ledger: Ledger) -> dict[str, Any]:
    """`provledger status`: executions by sync state, and what the next push would send."""
    trackers = all_states(ledger).values()
    found = Counter(t.state.value for t in trackers)
    waiting = (SyncState.COMMITTED, SyncState.CHANGED)
    return {
        **{state.value: found.get(state.value, 0) for state in SyncState},
        "to push": [f"{t.name} ({t.state.value})" for t in trackers if t.state in waiting],
    }


@app.command("info")
def info_command(
    ref: Annotated[str, typer.Argument(help="An execution id or uuid, or a file (by sha256).")],
    as_json: JsonOpt = False,
) -> None:
    """Everything the local ledger, and each reachable remote, knows of an execution."""
    with open_ledger() as ledger:
        execution = resolve(ledger, ref)
        history = ledger.events.history(execution.id)
        local = describe(ledger, execution, None)
        local["record"] = record_to_builtins(execution.record)
        local["history"] = [
            {"position": pe.position, "type": type(pe.event).__name__, "actor": pe.event.actor}
            for pe in history
        ]
    with user_errors():
        configured = _registry().list()
    remotes = remote_views(configured, execution.id, history)
    local["remotes"] = remotes
    if as_json:
        print_json(local)
        return
    console.print(f"{local['case']}/{local['execution_id']} ({local['id']})", highlight=False)
    console.print(f"status {local['status']}; sync {local['sync']}", highlight=False)
    for entry in local["history"]:
        console.print(
            f"  {entry['position']:>6} {entry['type']} by {entry['actor']}", highlight=False
        )
    for name, state in remotes.items():
        console.print(f"remote {name}: {state['state']}", highlight=False)
