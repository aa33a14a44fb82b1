"""`provledger`: the entry point and its sub-command groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from .output import user_errors

if TYPE_CHECKING:
    from ...application.ledger import Ledger

app = typer.Typer(
    name="provledger",
    help="An event-sourced provenance ledger for simulation and pipeline executions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
canonical_app = typer.Typer(
    help="Choose a case's canonical execution by hand.", no_args_is_help=True
)
projections_app = typer.Typer(help="Read-model status and rebuilds.", no_args_is_help=True)
app.add_typer(canonical_app, name="canonical")
app.add_typer(projections_app, name="projections")

_state: dict[str, str | None] = {"actor": None}


@app.callback()
def main(
    actor: Annotated[
        str | None,
        typer.Option(envvar="PROVLEDGER_ACTOR", help="Who is acting (stamped on every event)."),
    ] = None,
) -> None:
    _state["actor"] = actor


@contextmanager
def open_ledger() -> Iterator[Ledger]:
    """Build the ledger from settings; stamp events with actor, correlation id and ledger."""
    from ...domain.context import acting_as
    from ..bootstrap import bootstrap

    with user_errors():
        ledger = bootstrap()
        try:
            with acting_as(actor=_state["actor"], ledger=ledger.ledger_id):
                yield ledger
        finally:
            ledger.close()


# Each module registers its commands on `app` (or a sub-app) when imported.
COMMAND_MODULES = (
    "commands_read",
    "commands_write",
    "commands_status",
    "commands_archive",
    "commands_capture",
    "commands_serve",
    "commands_export",
    "commands_sync",
    "commands_lineage",
    "commands_worker",
)


# Which module registers each top-level command, so that one invocation imports only the module
# it runs (start-up time matters for `provledger run`). A unit test keeps this table true.
COMMAND_OWNERS = {
    **dict.fromkeys(("cases", "diff", "executions", "history", "show"), "commands_read"),
    **dict.fromkeys(("canonical", "ingest", "init", "record", "tag"), "commands_write"),
    **dict.fromkeys(
        ("archive", "audit", "persist", "replay", "restore", "snapshot"), "commands_archive"
    ),
    **dict.fromkeys(("get", "pin", "reproduce", "run", "stale"), "commands_capture"),
    **dict.fromkeys(("publish", "serve", "token"), "commands_serve"),
    "export": "commands_export",
    "lineage": "commands_lineage",
    "worker": "commands_worker",
    **dict.fromkeys(
        ("commit", "delete", "gc", "info", "pull", "push", "remote", "update"), "commands_sync"
    ),
}
# `status` gathers a section from every module; these groups span several modules.
NEEDS_ALL = frozenset({"status", "projections"})


def command_name(argv: list[str]) -> str | None:
    """The sub-command in argv (after global options), if any."""
    args = iter(argv)
    for arg in args:
        if arg == "--actor":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def load_commands(argv: list[str] | None = None) -> typer.Typer:
    """Register the commands argv needs (all of them for help or an unknown name)."""
    import importlib

    name = command_name(argv) if argv is not None else None
    owner = COMMAND_OWNERS.get(name or "")
    modules = (owner,) if owner and name not in NEEDS_ALL else COMMAND_MODULES
    for module in modules:
        importlib.import_module(f"{__package__}.{module}")
    return app


def run() -> None:
    import sys

    load_commands(sys.argv[1:])()
