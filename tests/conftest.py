"""Shared fixtures: one throwaway Postgres per test session, a fresh ledger per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.ledger import Ledger
from tests.support.pgcluster import PgCluster
from tests.support.s3server import S3Server

# CI machines are small and shared: no per-example deadline, no "too slow" health check.
hypothesis_settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
hypothesis_settings.load_profile("ci")

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for the parametrised backend: an SQLite file, or a fresh Postgres database."""
    home = tmp_path / "home"
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        return Settings(home=home, database_url=url, batch_size=100, projection_batch_size=100)
    return Settings(home=home, batch_size=100, projection_batch_size=100)  # many batches


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    built = bootstrap(settings)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 endpoint (moto server on 127.0.0.1) for the whole session."""
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket on the session's S3 endpoint."""
    return s3_server.new_bucket()
