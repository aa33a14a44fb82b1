"""Which errors are the user's (one line, exit status 2) or the database's (status 3).

Free of typer, rich and pydantic so the fast `run` path (cli/fast_run.py) can use it too."""

from __future__ import annotations


def one_line(text: str) -> str:
    """A message on one line: line breaks (psycopg, YAML and msgspec put them in their errors)
    become spaces, so an error is always exactly one line on stderr."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def describe(error: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit status) for an expected error; None for a bug (let it raise)."""
    from eventsourcing.persistence import OperationalError, PersistenceError

    from ...domain.errors import DomainError
    from ...projections.runner import RebuildConflictError
    from ..readers.files import RecordFileError

    if isinstance(
        error, DomainError | RecordFileError | RebuildConflictError | KeyError | ValueError
    ):
        text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        return one_line(str(text)), 2
    if isinstance(error, OperationalError | PersistenceError):
        return one_line(f"the ledger database is not reachable or failed: {error}"), 3
    return None
