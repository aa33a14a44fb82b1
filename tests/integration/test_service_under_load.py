"""Two API processes and one worker on one Postgres and an S3 endpoint, under 8 writers and 16
readers for 10 s; the worker is killed with SIGKILL midway and a new one started. No errors, no
read-your-writes violations, nothing lost, everything persisted and shipped, audit clean.
(benchmarks/bench_service.py runs the same for 60 s and prints the figures.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provledger.adapters.archive import open_archive, raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.persist_records import unpersisted
from tests.support.s3server import S3Server
from tests.support.service_load import Service, run_load, wait_until_settled

SECONDS = 10


@pytest.mark.slow
def test_two_apis_and_a_worker_killed_midway_lose_nothing_under_load(
    pg_url: str, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env |= {
        "PROVLEDGER_HOME": str(tmp_path / "home"),
        "PROVLEDGER_DATABASE_URL": pg_url,
        "PROVLEDGER_ARCHIVE_URL": f"s3://{s3_bucket}/ledger",
        "PROVLEDGER_S3_ENDPOINT_URL": s3_server.endpoint,
        "PROVLEDGER_ARCHIVE_INTERVAL": "1",
        "PROVLEDGER_PERSIST_INTERVAL": "1",
    }
    service = Service(env, logs=tmp_path / "logs")
    try:
        token = service.cli("token", "create", "--scope", "write", "--name", "load")
        service.start_api()
        service.start_api()
        service.start_worker()

        def kill_and_replace_the_worker() -> None:
            service.kill_worker()
            service.start_worker()

        result = run_load(service.urls, token, SECONDS, midway=kill_and_replace_the_worker)
        print(result.summary())
        assert result.errors == []
        assert result.violations == []
        assert result.writes > 0
        assert result.reads > 0

        settings = Settings(
            home=tmp_path / "home",
            database_url=pg_url,
            archive_url=env["PROVLEDGER_ARCHIVE_URL"],
            s3_endpoint_url=s3_server.endpoint,
        )
        ledger = bootstrap(settings)
        archive = open_archive(env["PROVLEDGER_ARCHIVE_URL"], endpoint_url=s3_server.endpoint)
        try:
            wait_until_settled(ledger, archive)  # the new worker caught up with everything
            assert ledger.queries.counts()["executions"] == len(result.written)  # none lost
            with ledger.events.recorder.datastore.transaction(commit=False) as c:
                c.execute("SELECT execution_id FROM executions")
                found = {row["execution_id"] for row in c.fetchall()}
            assert found == result.written
            assert list(unpersisted(raw_log_of(ledger), archive)) == []
        finally:
            ledger.close()
        audit = service.cli("audit")
        assert "no discrepancies" in audit
    finally:
        service.stop()
