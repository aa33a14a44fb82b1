"""Issue 17: the service under load and a fault. Two `provledger serve` processes and one
`provledger worker` on one durable throwaway Postgres and a moto S3; 8 writers post executions
over HTTP and 16 readers read them back from the other API process (read-your-writes through
the position each write returned). Midway the worker is killed with SIGKILL and a new one
started; afterwards everything must be applied, persisted and shipped, and `provledger audit`
clean. Prints throughput, p50/p99, errors and read-your-writes violations.

    python -m benchmarks.bench_service [--seconds 60] [--writers 8] [--readers 16]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, PgCluster
from tests.support.s3server import S3Server
from tests.support.service_load import Service, run_load, wait_until_settled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=16)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log

    from provledger.adapters.archive import open_archive, raw_log_of
    from provledger.adapters.bootstrap import bootstrap
    from provledger.adapters.settings import Settings
    from provledger.application.persist_records import unpersisted

    cluster = PgCluster(durable=True).start()
    s3 = S3Server().start()
    work = Path(tempfile.mkdtemp(prefix="provledger-bench-service-"))
    service: Service | None = None
    try:
        url = cluster.url(cluster.create_database())
        bucket = s3.new_bucket()
        archive_url = f"s3://{bucket}/ledger"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
        env |= {
            "PROVLEDGER_HOME": str(work / "home"),
            "PROVLEDGER_DATABASE_URL": url,
            "PROVLEDGER_ARCHIVE_URL": archive_url,
            "PROVLEDGER_S3_ENDPOINT_URL": s3.endpoint,
            "PROVLEDGER_ARCHIVE_INTERVAL": "5",
        }
        service = Service(env, logs=work / "logs")
        token = service.cli("token", "create", "--scope", "write", "--name", "bench")
        service.start_api()
        service.start_api()
        service.start_worker()
        killed_at: dict[str, float] = {}

        def kill_and_replace_the_worker() -> None:
            killed_at["t"] = time.monotonic()
            service.kill_worker()
            service.start_worker()

        result = run_load(
            service.urls,
            token,
            args.seconds,
            writers=args.writers,
            readers=args.readers,
            midway=kill_and_replace_the_worker,
        )
        settled_from = time.monotonic()
        settings = Settings(
            home=work / "home",
            database_url=url,
            archive_url=archive_url,
            s3_endpoint_url=s3.endpoint,
        )
        ledger = bootstrap(settings)
        archive = open_archive(archive_url, endpoint_url=s3.endpoint)
        try:
            state = wait_until_settled(ledger, archive, timeout=600)
            settle_s = time.monotonic() - settled_from
            with ledger.events.recorder.datastore.transaction(commit=False) as c:
                c.execute("SELECT execution_id FROM executions")
                found = {row["execution_id"] for row in c.fetchall()}
            lost = len(result.written - found)
            not_persisted = len(list(unpersisted(raw_log_of(ledger), archive)))
        finally:
            ledger.close()
        audit = service.cli("audit")
        figures = {
            **result.summary(),
            "writers": args.writers,
            "readers": args.readers,
            "lost_writes": lost,
            "not_persisted": not_persisted,
            "settled_after_load_s": round(settle_s, 1),
            "log_head": state["head"],
            "audit_clean": "no discrepancies" in audit,
            "first_errors": result.errors[:3],
        }
        print(json.dumps(figures, indent=2))
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        (out / "bench_service.json").write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if service is not None:
            service.stop()
        s3.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
