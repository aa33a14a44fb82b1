"""Who and why: provenance stamped on every event from context, set by the CLI or HTTP layer."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache


@lru_cache(maxsize=1)
def _default_actor() -> str:
    try:
        import getpass

        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return f"uid:{os.getuid()}"


actor_var: ContextVar[str | None] = ContextVar("provledger_actor", default=None)
correlation_var: ContextVar[str | None] = ContextVar("provledger_correlation", default=None)
ledger_var: ContextVar[str] = ContextVar("provledger_ledger", default="local")


def current_actor() -> str:
    return actor_var.get() or _default_actor()


def current_correlation_id() -> str:
    return correlation_var.get() or str(uuid.uuid4())


def current_ledger() -> str:
    return ledger_var.get()


@contextmanager
def correlated() -> Iterator[str]:
    """Events created inside share one correlation id: the current one, else a new one."""
    current = correlation_var.get()
    if current:
        yield current
        return
    correlation_id = str(uuid.uuid4())
    token = correlation_var.set(correlation_id)
    try:
        yield correlation_id
    finally:
        correlation_var.reset(token)


@contextmanager
def acting_as(
    actor: str | None = None, correlation_id: str | None = None, ledger: str | None = None
) -> Iterator[str]:
    """Stamp events created inside the block with this actor and correlation id."""
    correlation_id = correlation_id or str(uuid.uuid4())
    tokens = [actor_var.set(actor or current_actor()), correlation_var.set(correlation_id)]
    ledger_token = ledger_var.set(ledger) if ledger else None
    try:
        yield correlation_id
    finally:
        correlation_var.reset(tokens[1])
        actor_var.reset(tokens[0])
        if ledger_token is not None:
            ledger_var.reset(ledger_token)
