"""Losing a ledger's database on purpose, as the durability tests do."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from provledger.adapters.settings import Settings
from tests.support.pgcluster import PgCluster


def lose_database(settings: Settings, request: pytest.FixtureRequest) -> None:
    """Delete the SQLite file, or drop and re-create the whole Postgres database."""
    if settings.backend == "sqlite":
        settings.sqlite_path.unlink()
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = urlparse(settings.database_url).path.lstrip("/")  # type: ignore[arg-type]
    cluster.drop_database(name)
    cluster.create_database(name)
