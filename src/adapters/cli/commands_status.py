"""`provledger status`: every feature's section of the ledger's state, or one item's sync state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .main import app, open_ledger
from .output import console, print_json
from .plain import human

if TYPE_CHECKING:
    from ...application.ledger import Ledger

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
StatusSection = Callable[["Ledger"], dict[str, Any]]
# Other features add their own part of `provledger status` here: name -> section builder.
STATUS_SECTIONS: dict[str, StatusSection] = {}


def status_section(name: str) -> Callable[[StatusSection], StatusSection]:
    def register(builder: StatusSection) -> StatusSection:
        STATUS_SECTIONS[name] = builder
        return builder

    return register


def _item_status(ledger: Ledger, ref: str, *, ask_remotes: bool) -> dict[str, Any]:
    from ...application.sync.local import describe, resolve
    from ..settings import Settings
    from ..sync.registry import RemoteRegistry
    from ..sync.views import QUICK, remote_views

    execution = resolve(ledger, ref)
    item = describe(ledger, execution, None)
    configured = RemoteRegistry(Settings().home).list() if ask_remotes else []
    if configured:
        history = ledger.events.history(execution.id)
        views = remote_views(configured, execution.id, history, timeout=QUICK)
        item["remotes"] = views
        if any(v["state"] == "newer on the remote" for v in views.values()):
            item["sync"] = "newer on the remote"
    return item


@app.command()
def status(
    ref: Annotated[
        str | None,
        typer.Argument(help="One execution (id or uuid) or a file it produced (by sha256)."),
    ] = None,
    remotes: Annotated[
        bool, typer.Option("--remotes/--offline", help="With REF: also ask the remotes.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Events, projection lag, what is not yet persisted, archived or pushed; or one item's
    sync state (local only, committed, pushed, changed since push, newer on the remote) when
    REF is given (each configured remote is asked, briefly; unreachable ones are named)."""
    with open_ledger() as ledger:
        ledger.catch_up()
        if ref is not None:
            data = {"item": _item_status(ledger, ref, ask_remotes=remotes)}
        else:
            data = {name: build(ledger) for name, build in STATUS_SECTIONS.items()}
    if as_json:
        print_json(data)
        return
    for name, section in data.items():
        console.print(f"[bold]{escape(name)}[/]")
        for key, value in section.items():
            if isinstance(value, list):
                console.print(f"  {key}: {len(value)}", highlight=False)
                for item in value[:20]:
                    console.print(f"    {escape(human(item))}", highlight=False)
            else:
                console.print(f"  {key}: {escape(human(value))}", highlight=False)


@status_section("ledger")
def _ledger_status(ledger: Ledger) -> dict[str, Any]:
    from ..archive import raw_log_of

    return {
        "ledger_id": ledger.ledger_id,
        "events": raw_log_of(ledger).count(),
        "head": ledger.events.max_position(),
        **{f"lag {p.name}": p.lag for p in ledger.runner.status()},
    }
