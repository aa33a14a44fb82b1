"""Printing: rich tables for people, `--json` for programs, errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import msgspec
import typer
from rich.console import Console

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected errors into one clear line and exit status 2; never a traceback."""
    from eventsourcing.persistence import OperationalError, PersistenceError
    from pydantic import ValidationError

    from ...domain.errors import DomainError
    from ..readers.files import RecordFileError

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
    except (DomainError, RecordFileError, KeyError, ValueError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        fail(str(text).replace("[", r"\["))
    except (OperationalError, PersistenceError) as e:
        fail(f"the ledger database is not reachable or failed: {e}", code=3)
