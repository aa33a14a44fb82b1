"""Printing: rich tables for people, `--json` for programs, errors on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from .plain import print_json

console = Console()
errors = Console(stderr=True)

__all__ = ["console", "errors", "fail", "print_json", "user_errors"]


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
