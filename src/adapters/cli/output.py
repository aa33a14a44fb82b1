"""Printing: rich tables for people, `--json` for programs, errors on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from .plain import print_json

if TYPE_CHECKING:
    from rich.progress import Progress

console = Console()
errors = Console(stderr=True)

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


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
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
