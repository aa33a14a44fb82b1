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
    "commands_archive",
    "commands_capture",
    "commands_serve",
    "commands_export",
    "commands_sync",
)


def load_commands() -> typer.Typer:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return app


def run() -> None:
    load_commands()()
