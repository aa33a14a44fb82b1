"""Archive benchmarks (issue 4), each next to its peer measured in the same run.

1. Hash chain: bulk recording (many aggregates per save) with the chaining mapper next to the
   same mapper without the chain (target: a few percent at most).
2. Archive throughput (MB/s, events/s) of `ship_log` to S3 (moto server on 127.0.0.1) next to
   a plain boto3 `put_object` of the same segment bytes.
3. Restore events/s into durable Postgres (target >= 100k/s) next to a raw binary COPY of the
   same rows into a table of the same shape.
4. Persister: records/s written to S3 (verified) with RecordPersisted appended, next to a
   plain boto3 `put_object` of the same record bytes.
5. Audit (hash chains + archive byte-for-byte) time and peak memory (tracemalloc) for N events,
   next to a plain paged scan of the event table; run at N/4 too, to show memory is flat.

    python -m benchmarks.bench_archive [--events 200000] [--chain-records 20000]
        [--persist-records 5000] [--rebuild]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from provledger.adapters import eventstore
from provledger.adapters.archive import S3Archive, raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.events.mapper import MsgspecMapper, _encoder
from provledger.adapters.settings import Settings
from provledger.application.archive_log import iter_manifests, ship_log
from provledger.application.audit import AuditReport, check_archive, check_chains
from provledger.application.ledger import Ledger
from provledger.application.persist_records import RecordPersister, record_bytes
from provledger.application.restore import restore
from provledger.application.stored_log import iter_rows
from provledger.domain.execution import Execution
from tests.support.pgcluster import PgCluster
from tests.support.s3server import S3Server

from .workload import batches


class PlainMapper(MsgspecMapper):
    """The mapper as it was before the hash chain: the peer for the chain's overhead."""

    def to_stored_event(self, domain_event: Any) -> Any:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.utils import get_topic

        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encoder.encode(state),
        )

    def _remember(self, *args: Any) -> None:
        return None


def fresh(cluster: PgCluster, tmp: str) -> Settings:
    return Settings(home=tmp, database_url=cluster.url(cluster.create_database()), batch_size=1000)


def populate(ledger: Ledger, records: int) -> float:
    start = time.perf_counter()
    for batch in batches(records, size=1000):
        ledger.recorder.record(batch)
    return time.perf_counter() - start


def chain_overhead(cluster: PgCluster, tmp: str, records: int) -> None:
    timings: dict[str, list[float]] = {"plain": [], "chained": []}
    for _ in range(3):
        for name, mapper in (("plain", PlainMapper), ("chained", MsgspecMapper)):
            eventstore.MsgspecMapper = mapper  # type: ignore[misc]
            try:
                ledger = bootstrap(fresh(cluster, tmp))
                timings[name].append(populate(ledger, records))
                ledger.close()
            finally:
                eventstore.MsgspecMapper = MsgspecMapper  # type: ignore[misc]
    events = [
        e for r in next(batches(5000, size=5000)) for e in Execution.record_new(r).collect_events()
    ]
    encode: dict[str, float] = {}
    for name, mapper_class in (("plain", PlainMapper), ("chained", MsgspecMapper)) * 2:
        mapper = mapper_class()
        seconds, _ = timed(lambda m=mapper: [m.to_stored_event(e) for e in events])
        encode[name] = min(encode.get(name, seconds), seconds)
    print(f"[chain] mapper encode of {len(events)} ExecutionRecorded events (best of 2):")
    print(f"  without chain {len(events) / encode['plain']:9.0f} events/s")
    print(
        f"  with chain    {len(events) / encode['chained']:9.0f} events/s   "
        f"overhead {100 * (encode['chained'] / encode['plain'] - 1):+.1f}%"
    )
    plain, chained = min(timings["plain"]), min(timings["chained"])
    print(f"[chain] bulk recording {records} records into durable Postgres (best of 3):")
    print(f"  without chain {records / plain:9.0f} records/s")
    print(
        f"  with chain    {records / chained:9.0f} records/s   "
        f"overhead {100 * (chained / plain - 1):+.1f}%"
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def archive_throughput(ledger: Ledger, s3: S3Server) -> S3Archive:
    bucket = s3.new_bucket()
    archive = S3Archive(bucket, "ledger", endpoint_url=s3.endpoint)
    log = raw_log_of(ledger)
    seconds, summary = timed(lambda: ship_log(log, archive, ledger.ledger_id))
    raw_bytes = sum(len(r.state) for r in iter_rows(log))
    client, peer_bucket = s3.client(), s3.new_bucket()
    segments = [archive.get(m.segment) or b"" for m, _ in iter_manifests(archive)]
    peer, _ = timed(
        lambda: [
            client.put_object(Bucket=peer_bucket, Key=f"s{i}", Body=data)
            for i, data in enumerate(segments)
        ]
    )
    mb = summary.bytes / 1e6
    print(
        f"[archive] {summary.events} events, {raw_bytes / 1e6:.0f} MB of states -> "
        f"{summary.segments} segments, {mb:.1f} MB gzip, to S3 (moto):"
    )
    print(
        f"  provledger archive  {seconds:6.2f} s  {summary.events / seconds:9.0f} events/s  "
        f"{raw_bytes / 1e6 / seconds:6.1f} MB/s of events"
    )
    print(
        f"  boto3 put_object    {peer:6.2f} s  (same {mb:.1f} MB, already compressed)   "
        f"ratio {seconds / peer:.1f}x"
    )
    return archive


def persist_rate(cluster: PgCluster, tmp: str, s3: S3Server, records: int) -> None:
    ledger = bootstrap(fresh(cluster, tmp))
    populate(ledger, records)
    bucket = s3.new_bucket()
    archive = S3Archive(bucket, "ledger", endpoint_url=s3.endpoint)
    seconds, summary = timed(RecordPersister(ledger.events, raw_log_of(ledger), archive).run)
    bodies = [record_bytes(r) for batch in batches(records, size=1000) for r in batch]
    client, peer_bucket = s3.client(), s3.new_bucket()
    peer, _ = timed(
        lambda: [
            client.put_object(Bucket=peer_bucket, Key=f"r{i}", Body=b) for i, b in enumerate(bodies)
        ]
    )
    ledger.close()
    print(f"[persist] {summary.records} records to S3 (moto), verified, RecordPersisted appended:")
    print(f"  provledger persist  {seconds:6.2f} s  {summary.records / seconds:9.0f} records/s")
    print(
        f"  boto3 put_object    {peer:6.2f} s  {len(bodies) / peer:9.0f} objects/s (same bytes) "
        f"ratio {seconds / peer:.1f}x"
    )


def restore_rate(
    cluster: PgCluster, tmp: str, archive: S3Archive, events: int, with_rebuild: bool
) -> None:
    target = bootstrap(fresh(cluster, tmp))
    log = raw_log_of(target)
    seconds, summary = timed(lambda: restore(log, archive, batch_size=50_000))
    rebuild, _ = timed(target.runner.rebuild) if with_rebuild else (0.0, None)
    rows = list(iter_rows(log))
    with target.events.recorder.datastore.transaction(commit=True) as c:  # type: ignore[attr-defined]
        c.execute(f"CREATE TABLE copy_peer (LIKE {log.table} INCLUDING ALL)")
    from uuid import UUID

    def copy() -> None:
        datastore = target.events.recorder.datastore  # type: ignore[attr-defined]
        statement = (
            "COPY copy_peer (originator_id, originator_version, topic, state, "
            "notification_id) FROM STDIN (FORMAT BINARY)"
        )
        with datastore.transaction(commit=True) as c, c.copy(statement) as cp:
            cp.set_types(["uuid", "int8", "text", "bytea", "int8"])
            for r in rows:
                cp.write_row((UUID(r.originator_id), r.version, r.topic, r.state, r.position))

    peer, _ = timed(copy)
    target.close()
    print(f"[restore] {summary.events} events from S3 into durable Postgres:")
    print(
        f"  provledger restore  {seconds:6.2f} s  {summary.events / seconds:9.0f} events/s "
        "(download, verify, decode, COPY)"
    )
    print(
        f"  raw COPY same rows  {peer:6.2f} s  {len(rows) / peer:9.0f} rows/s   "
        f"ratio {seconds / peer:.1f}x"
    )
    if with_rebuild:
        print(
            f"  projections rebuild afterwards {rebuild:6.2f} s ({events / rebuild:.0f} events/s)"
        )


def audit_cost(ledger: Ledger, archive: S3Archive) -> None:
    log = raw_log_of(ledger)

    def run() -> AuditReport:
        report = AuditReport()
        check_chains(log, report, str)
        check_archive(log, archive, report, str)
        return report

    seconds, report = timed(run)
    peer, count = timed(lambda: sum(1 for _ in iter_rows(log)))
    gc.collect()
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"[audit] {report.events} events, {report.archived} archived, "
        f"{report.total_discrepancies} discrepancies:"
    )
    print(
        f"  chains + archive    {seconds:6.2f} s  {report.events / seconds:9.0f} events/s  "
        f"peak {peak / 1e6:.1f} MB (tracemalloc)"
    )
    print(
        f"  plain paged scan    {peer:6.2f} s  {count / peer:9.0f} rows/s   "
        f"ratio {seconds / peer:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--chain-records", type=int, default=20_000)
    parser.add_argument("--persist-records", type=int, default=5000)
    parser.add_argument("--rebuild", action="store_true", help="Also time the projections.")
    args = parser.parse_args()
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench-archive-")
    cluster = PgCluster(durable=True).start()
    s3 = S3Server().start()
    try:
        chain_overhead(cluster, tmp, args.chain_records)
        persist_rate(cluster, tmp, s3, args.persist_records)
        for n in (args.events // 4, args.events):
            ledger = bootstrap(fresh(cluster, tmp))
            took = populate(ledger, n)
            print(
                f"\n== N = {n} records ({ledger.events.max_position()} events; "
                f"recorded in {took:.0f} s)"
            )
            archive = archive_throughput(ledger, s3)
            audit_cost(ledger, archive)
            if n == args.events:
                restore_rate(cluster, tmp, archive, ledger.events.max_position(), args.rebuild)
            ledger.close()
    finally:
        s3.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
