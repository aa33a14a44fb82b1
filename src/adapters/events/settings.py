"""Where the event store lives, in the standard library only.

`Settings` (pydantic-settings) validates every `PROVLEDGER_*` variable for the composition root;
this module holds the part that picks the database, so that `provledger run` can open the ledger
without importing pydantic (its start-up time is budgeted; see docs/capture.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

UNPIPELINED_RECORDER_TOPIC = (
    "provledger.adapters.postgres.recorder:UnpipelinedPostgresApplicationRecorder"
)
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
DEFAULT_BATCH_SIZE = 1000
# Events per projection batch (one transaction). Against 1000: fewer rewrites of the cases a
# batch touches and fewer prefetch queries, 15-20% faster catch-up; 5000 was no faster than
# 2000 here and held about 150 MB more at its peak.
DEFAULT_PROJECTION_BATCH_SIZE = 2000
DEFAULT_POOL_SIZE = 5


def checked_database_url(value: str | None) -> str | None:
    """The URL, or None when unset; ValueError naming the scheme when it is not a database."""
    if value in (None, ""):
        return None
    scheme = urlparse(value).scheme
    if scheme not in DATABASE_SCHEMES:
        msg = f"must be sqlite:///PATH or postgresql://…, not a {scheme!r} URL"
        raise ValueError(msg)
    return value


def checked_home(home: Path) -> Path:
    if home.exists() and not home.is_dir():
        msg = f"PROVLEDGER_HOME {home} exists and is not a directory"
        raise ValueError(msg)
    return home


@dataclass(frozen=True)
class StoreSettings:
    """The settings the composition root needs to open a ledger."""

    home: Path
    database_url: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    pool_size: int = DEFAULT_POOL_SIZE
    projection_batch_size: int = DEFAULT_PROJECTION_BATCH_SIZE

    @property
    def backend(self) -> str:
        if self.database_url and urlparse(self.database_url).scheme.startswith("postgres"):
            return "postgres"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        if self.database_url:
            return Path(unquote(urlparse(self.database_url).path))
        return self.home / "ledger.sqlite3"

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library reads its persistence settings from."""
        if self.backend == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {"PERSISTENCE_MODULE": "eventsourcing.postgres", **self.postgres_env()}

    def postgres_env(self) -> dict[str, str]:
        """postgresql://user:pw@host:port/db?host=/socket/dir -> POSTGRES_* variables."""
        url = urlparse(self.database_url or "postgresql:///provledger")
        query: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
        host = query.get("host") or url.hostname or "localhost"
        # The recorder's optional stored functions stay off: they lost events under concurrent
        # writers (docs/adr/0002).
        return {
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "provledger",
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(query.get("port") or url.port or 5432),
            "POSTGRES_USER": unquote(url.username or query.get("user") or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or query.get("password") or ""),
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pool_size * 2),
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
            # Inserts without psycopg's pipeline mode, which can hang on large saves (ADR 0004).
            "APPLICATION_RECORDER_TOPIC": UNPIPELINED_RECORDER_TOPIC,
        }


# The variables `store_from_environment` understands; any other PROVLEDGER_* setting (other
# than the actor, which is not a store setting) needs the full `Settings`.
SIMPLE_VARIABLES = frozenset({"PROVLEDGER_HOME", "PROVLEDGER_DATABASE_URL", "PROVLEDGER_ACTOR"})


def store_from_environment(environ: Mapping[str, str] | None = None) -> StoreSettings | None:
    """StoreSettings from the environment when it holds only simple settings, else None.

    None means "ask `Settings`": it validates the rest and reports errors the usual way."""
    env = os.environ if environ is None else environ
    if any(k.upper().startswith("PROVLEDGER_") and k not in SIMPLE_VARIABLES for k in env):
        return None
    try:
        raw_home = env.get("PROVLEDGER_HOME")
        home = Path(raw_home) if raw_home else Path.cwd() / ".provledger"
        return StoreSettings(
            home=checked_home(home),
            database_url=checked_database_url(env.get("PROVLEDGER_DATABASE_URL")),
        )
    except ValueError:
        return None
