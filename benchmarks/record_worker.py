"""Child process: bulk-record N generated executions, then rebuild; report rates and memory."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from benchmarks.common import emit, peak_rss_mb
from benchmarks.workload import make_batch
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.bulk_tuning import paused_cycle_collector
from provledger.domain.record import ExecutionRecord
from provledger.projections.pages import read_ahead
from provledger.projections.tables import EXECUTIONS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    ledger = bootstrap(Settings(home=args.home, database_url=args.url or None, batch_size=1000))
    # The workload is generated and written to a file first (untimed); the timed run reads it
    # back batch by batch, so decoding is timed, generating is not, and memory stays flat.
    spool = Path(args.home) / "workload.jsonl"
    spool.parent.mkdir(parents=True, exist_ok=True)
    encode = msgspec.json.Encoder().encode
    with spool.open("wb") as out:
        for start in range(0, args.n, 1000):
            out.write(encode(make_batch(start, min(args.n, start + 1000))) + b"\n")
    decode = msgspec.json.Decoder(list[ExecutionRecord]).decode

    def read_back() -> Iterator[list[ExecutionRecord]]:
        with spool.open("rb") as lines:
            for line in lines:
                yield decode(line)

    start = time.perf_counter()
    for _ in ledger.recorder.record_batches(read_back()):  # the bulk path `ingest` takes
        pass
    recording = time.perf_counter() - start
    spool.unlink()
    start = time.perf_counter()
    ledger.runner.catch_up()
    projecting = time.perf_counter() - start
    events = ledger.events.max_position()
    result = {
        "n": args.n,
        "events": events,
        "record_s": recording,
        "executions_per_s": args.n / recording,
        "events_per_s": events / recording,
        "project_events_per_s": events / projecting,
        "end_to_end_executions_per_s": args.n / (recording + projecting),
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.rebuild:
        start = time.perf_counter()
        ledger.runner.rebuild()
        result["rebuild_events_per_s"] = events / (time.perf_counter() - start)
        # The rebuild's peer: reading and decoding the same log, with nothing applied or
        # written (the rebuild's own reader, so the ratio is what projecting costs on top).
        start = time.perf_counter()
        with paused_cycle_collector():
            for _ in read_ahead(ledger.events, 0, events, 2000):
                pass
        result["read_log_events_per_s"] = events / (time.perf_counter() - start)
        if args.url:
            result["write_rows_per_s"] = copy_rebuilt_rows(args.url)
    ledger.close()
    emit(result)


def copy_rebuilt_rows(url: str) -> float:
    """The rebuild's other peer: binary COPY of the rows it wrote (the executions table, read
    back and encoded beforehand, untimed) into a fresh table with the same compression and the
    same lookup index. Rows per second: what the server alone takes to store them."""
    import psycopg
    from psycopg.rows import dict_row

    types = {"TEXT": "text", "INTEGER": "int8", "JSON": "text"}
    columns = ", ".join(EXECUTIONS.column_names)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = [
            [row[c] for c in EXECUTIONS.column_names]
            for row in conn.execute(f"SELECT {columns} FROM executions")
        ]
        conn.execute("CREATE TABLE bench_rows (LIKE executions INCLUDING COMPRESSION)")
        lookup = ", ".join(EXECUTIONS.lookup_indexes[0])
        conn.execute(f"CREATE INDEX ON bench_rows ({lookup})")
        conn.commit()
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY bench_rows ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([types[kind] for _, kind in EXECUTIONS.columns])
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_rows")
    return len(rows) / elapsed


if __name__ == "__main__":
    main()
