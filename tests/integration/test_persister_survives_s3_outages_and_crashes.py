"""The persister with a real S3 endpoint: S3 down during an ingest, and kill -9 mid-upload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from provledger.adapters.archive import raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.audit import AuditReport, check_records
from provledger.application.ledger import Ledger
from provledger.application.persist_records import RecordPersister, record_key, unpersisted
from provledger.application.stored_log import ArchiveUnavailableError
from provledger.domain.execution import Execution
from tests.integration.archive_support import s3_archive
from tests.support.s3server import S3Server
from tests.unit.records import make_record


def persisted_locations(ledger: Ledger) -> Counter[str]:
    seen: Counter[str] = Counter()
    position = 0
    while batch := ledger.events.read(position, 1000):
        position = batch[-1].position
        seen.update(
            e.event.location for e in batch if isinstance(e.event, Execution.RecordPersisted)
        )
    return seen


def test_with_s3_down_during_an_ingest_nothing_is_lost_and_all_is_persisted_later(
    ledger: Ledger,
) -> None:
    server = S3Server().start()
    try:
        bucket = server.new_bucket()
        archive = s3_archive(server, bucket)
        log = raw_log_of(ledger)
        persister = RecordPersister(ledger.events, log, archive, batch_size=20)
        ledger.record([make_record(f"a{i}", minutes=i) for i in range(30)])
        assert persister.run().records == 30
        server.stop()
        ledger.record([make_record(f"b{i}", minutes=100 + i) for i in range(40)])  # goes on
        with pytest.raises(ArchiveUnavailableError, match="unreachable"):
            persister.run()
        ledger.catch_up()
        assert len(list(unpersisted(log, archive))) == 40
        server.start()  # same port, same buckets
        assert persister.run().records == 40
        ledger.catch_up()
        assert list(unpersisted(log, archive)) == []
        assert set(persisted_locations(ledger).values()) == {1}
        report = AuditReport()
        check_records(log, archive, report)
        assert report.ok
        assert report.records == 70
    finally:
        server.stop()


@pytest.mark.slow
def test_kill_9_of_the_persister_mid_upload_leaves_no_missing_or_duplicate_record(
    settings: Settings, s3_server: S3Server, s3_bucket: str
) -> None:
    ledger = bootstrap(settings)
    try:
        n = 300
        ledger.record([make_record(f"r{i}", case=f"c{i % 5}", minutes=i) for i in range(n)])
        env = {
            **os.environ,
            "PROVLEDGER_HOME": str(settings.home),
            "PROVLEDGER_ARCHIVE_URL": f"s3://{s3_bucket}/p",
            "PROVLEDGER_S3_ENDPOINT_URL": s3_server.endpoint,
            "PROVLEDGER_PERSIST_INTERVAL": "0.1",
        }
        env.pop("PROVLEDGER_DATABASE_URL", None)
        if settings.database_url:
            env["PROVLEDGER_DATABASE_URL"] = settings.database_url
        archive = s3_archive(s3_server, s3_bucket, prefix="p")
        client = s3_server.client()
        cmd = [sys.executable, "-m", "provledger", "persist", "--follow"]
        for _ in range(2):  # killed twice, at different points
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 60
            start = client.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0)
            while time.monotonic() < deadline:
                count = client.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0)
                if count >= start + 40:
                    break
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(
            [sys.executable, "-m", "provledger", "persist"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        ledger.catch_up()
        locations = persisted_locations(ledger)
        expected = {
            f"{archive.url}/{record_key('default', f'c{i % 5}', f'r{i}')}" for i in range(n)
        }
        assert set(locations) == expected  # none missing
        assert set(locations.values()) == {1}  # none persisted twice
        keys = archive.list("experiments/")
        assert len(keys) == n
        report = AuditReport()
        check_records(raw_log_of(ledger), archive, report)
        assert report.ok, report.discrepancies
    finally:
        ledger.close()
