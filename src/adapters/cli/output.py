"""Printing: rich tables for people, `--json` for programs, errors on stderr.

When a stream is not a terminal (a pipe, a log file, CI), rich would wrap text at 80 columns:
lines printed there are never wrapped, and `fail` prints one plain line (`error: …`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from .plain import print_json

if TYPE_CHECKING:
    from rich.progress import Progress


def _console(stderr: bool = False) -> Console:
    """A console that soft-wraps (never breaks lines itself) unless it writes to a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return Console(stderr=stderr, soft_wrap=not terminal)


console = _console()
errors = _console(stderr=True)

__all__ = ["console", "errors", "fail", "print_json", "progress_bar", "user_errors"]


def progress_bar(enabled: bool, *, transient: bool = False) -> Progress:
    """A rich progress bar on stderr (description, bar, done/total, elapsed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not enabled,
        transient=transient,
    )


def one_line(message: str) -> str:
    """`message` (rich markup) as plain text on one line."""
    from rich.text import Text

    from .failures import one_line as plain_line

    return plain_line(Text.from_markup(message).plain)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` (rich markup) on stderr and exit with `code`: in red for a terminal,
    else as one plain line, however long."""
    if errors.is_terminal:
        errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    else:
        sys.stderr.write(f"error: {one_line(message)}\n")
        sys.stderr.flush()
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected errors into one clear line and exit status 2; never a traceback."""
    from pydantic import ValidationError

    from .failures import describe

    try:
        yield
    except ValidationError as e:  # before ValueError: pydantic's errors are ValueErrors too
        fail(
            "invalid settings: "
            + "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}"
                for err in e.errors()
            )
        )
    except Exception as e:
        described = describe(e)
        if described is None:
            raise
        message, code = described
        fail(message.replace("[", r"\["), code=code)
