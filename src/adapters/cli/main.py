"""`provledger`: the entry point and its sub-command groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .failures import one_line
from .output import user_errors

if TYPE_CHECKING:
    from ...application.ledger import Ledger

# Help is click's plain layout (conventional metavars: TEXT, PATH, INTEGER; paragraphs rewrapped
# to the terminal), not rich boxes; errors are one `error: …` line (see `run`).
app = typer.Typer(
    name="provledger",
    help="An event-sourced provenance ledger for simulation and pipeline executions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
canonical_app = typer.Typer(
    help="Choose a case's canonical execution by hand.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
projections_app = typer.Typer(
    help="Read-model status and rebuilds.", no_args_is_help=True, rich_markup_mode=None
)
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
    from ..events.settings import store_from_environment

    with user_errors():
        # The database location alone when that is all the environment sets (no pydantic).
        ledger = bootstrap(store_from_environment())
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
    "commands_reuse",
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
    "reuse": "commands_reuse",
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


METAVARS = {"str": "TEXT", "int": "N", "float": "NUMBER", "datetime": "TIME"}


def _metavar(param: Any) -> str | None:
    """TEXT, N, NUMBER, PATH (typer would show <str>, <int>, <list[Path]>)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:
        return None
    if descriptor.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices or ())
    if descriptor.is_path:
        return "PATH"
    bare = param.bare_type()
    inner = bare[5:-1] if bare.startswith("list[") else bare
    return METAVARS.get(inner, "PATH" if "path" in inner.lower() else inner.upper())


def conventional_help(command: Any) -> None:
    """Help as conventional tools write it: metavars TEXT, N, PATH; arguments in capitals; each
    sub-command's line in a listing its help's first sentence, whole (click cuts at 45
    characters, mid-sentence)."""
    import inspect
    import re

    for param in getattr(command, "params", []):
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        if param.param_type_name == "argument":
            name = (param.name or "").upper()
            usage = (name if param.required else f"[{name}]") + ("..." if param.nargs != 1 else "")
            param.metavar = name
            # typer writes `{NAME}` and `NAME <str>`; conventional tools `NAME` and `[NAME]`
            param._usage_display_name = lambda usage=usage: usage
            param.display_type_rich = lambda ctx: None
        else:
            param.metavar = _metavar(param)
    for sub in getattr(command, "commands", {}).values():
        text = " ".join(inspect.cleandoc(sub.help or "").split("\n\n")[0].split())
        if text and not sub.short_help:
            sub.short_help = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(".;")
        conventional_help(sub)


def run() -> None:
    """The typer CLI, with usage errors as one `error: …` line (exit status 2)."""
    import sys

    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    command = typer.main.get_command(load_commands(sys.argv[1:]))
    conventional_help(command)
    try:
        code = command.main(sys.argv[1:], prog_name="provledger", standalone_mode=False)
    except NoArgsIsHelpError as e:
        sys.stdout.write(e.ctx.get_help() + "\n" if e.ctx else "")
        code = 0
    except ClickException as e:
        from .plain import print_error

        print_error(one_line(e.format_message()))
        code = e.exit_code
    except typer.Abort:
        from .plain import print_error

        print_error("aborted")
        code = 1
    raise SystemExit(code if isinstance(code, int) else 0)
