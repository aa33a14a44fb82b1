"""Issue 17 benchmark: restore with a read-model snapshot next to restore plus a full rebuild,
and a rebuild split across 1 and 2 processes; all on one durable throwaway Postgres, in one run.

    python -m benchmarks.bench_restore [--n 100000] [--after 10000]

1. N executions are recorded, the read models caught up, a snapshot taken (`take_snapshot`,
   folder archive), then `--after` more executions recorded and the log shipped.
2. Into an empty database: restore the log, then either rebuild every read model (what restore
   did before snapshots) or load the newest snapshot and catch up. Both end with identical
   read models (checked). Target: the snapshot path at least 5x faster.
3. `projections rebuild` with --jobs 1 and --jobs 2 on the same database (scaling).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import PgCluster
from provledger.adapters.archive import FolderArchive, raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.adapters.sqlviews.rebuild_parts import ProcessPartLauncher
from provledger.adapters.sqlviews.snapshots import SqlSnapshots
from provledger.application.archive_log import ship_log
from provledger.application.ledger import Ledger
from provledger.application.restore import restore
from provledger.application.snapshots import load_newest_snapshot, take_snapshot

from .workload import batches


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def snapshots_of(ledger: Ledger) -> SqlSnapshots:
    runner = ledger.runner_as_is()
    return SqlSnapshots(runner.views, list(runner.projections.values()))  # type: ignore[arg-type]


def digest(ledger: Ledger) -> str:
    """A hash of every read-model row, in key order."""
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    h = hashlib.sha256()
    with datastore.transaction(commit=False) as c:
        for projection in ledger.runner.projections.values():
            for table in projection.tables:
                c.execute(f"SELECT * FROM {table.name} ORDER BY {table.key}")
                for row in c.fetchall():
                    h.update(repr(sorted(dict(row).items())).encode())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--after", type=int, default=10_000)
    args = parser.parse_args()
    cluster = PgCluster(durable=True).start()
    try:
        run(args, cluster)
    finally:
        cluster.stop()


def run(args: argparse.Namespace, cluster: PgCluster) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = FolderArchive(Path(tmp) / "archive")

        def fresh() -> Settings:
            url = cluster.url(cluster.create_database())
            return Settings(home=Path(tmp) / "home", database_url=url, batch_size=1000)

        source_settings = fresh()
        source = bootstrap(source_settings)
        record_s, _ = timed(lambda: [source.recorder.record(b) for b in batches(args.n)])
        catch_s, _ = timed(source.catch_up)
        snap_s, snap = timed(
            lambda: take_snapshot(
                snapshots_of(source),
                archive,
                raw_log_of(source),
                source.ledger_id,
                segment_events=100_000,
            )
        )
        for batch in batches(args.after):  # after the snapshot: ids repeat, so use new cases
            source.recorder.record(
                [b.__class__(**{**_fields(b), "case": "late-" + b.case}) for b in batch]
            )
        source.catch_up()
        ship_log(raw_log_of(source), archive, source.ledger_id, segment_events=100_000)
        events = source.events.max_position()
        expected = digest(source)
        split1_s, _ = timed(lambda: source.runner.rebuild())
        split2_s, _ = timed(
            lambda: source.runner.rebuild(
                jobs=2, launcher=ProcessPartLauncher(source_settings.store())
            )
        )
        assert digest(source) == expected, "a split rebuild gave other read models"
        source.close()

        replay = bootstrap(fresh())
        log_s, _ = timed(lambda: restore(raw_log_of(replay), archive, batch_size=50_000))
        rebuild_s, _ = timed(replay.runner.rebuild)
        assert digest(replay) == expected
        replay.close()

        fast = bootstrap(fresh())
        log2_s, restored = timed(lambda: restore(raw_log_of(fast), archive, batch_size=50_000))

        def from_snapshot() -> Any:
            loaded = load_newest_snapshot(
                snapshots_of(fast),
                archive,
                restored.ledger_id,
                list(fast.runner_as_is().projections),
            )
            fast.catch_up()
            return loaded

        load_s, loaded = timed(from_snapshot)
        assert loaded.used == snap.key, loaded.refused
        assert digest(fast) == expected
        fast.close()

    today, with_snapshot = log_s + rebuild_s, log2_s + load_s
    print(f"[restore] {args.n} executions + {args.after} after the snapshot, {events} events")
    print(
        f"  record {args.n / record_s:,.0f} executions/s; catch-up {events / catch_s:,.0f} events/s"
    )
    print(
        f"  snapshot taken in {snap_s:.1f} s: {snap.rows:,} rows, {snap.bytes / 1e6:.1f} MB "
        f"at position {snap.position}"
    )
    print(f"  restore + rebuild   {today:7.1f} s (log {log_s:.1f} s, rebuild {rebuild_s:.1f} s)")
    print(
        f"  restore + snapshot  {with_snapshot:7.1f} s (log {log2_s:.1f} s, snapshot load and "
        f"catch-up {load_s:.1f} s)   {today / with_snapshot:.1f}x faster (target >= 5x)"
    )
    print(
        f"[rebuild] --jobs 1 {split1_s:.1f} s ({events / split1_s:,.0f} events/s); --jobs 2 "
        f"{split2_s:.1f} s ({events / split2_s:,.0f} events/s): {split1_s / split2_s:.2f}x"
    )


def _fields(record: Any) -> dict[str, Any]:
    return {f: getattr(record, f) for f in record.__struct_fields__}


if __name__ == "__main__":
    main()
