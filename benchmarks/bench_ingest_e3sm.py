"""E3SM archive ingest (issue 5), next to the same number of plain provledger record files.

Generates an E3SM performance archive of N execution directories (`<user>/<case>/<exec>/` with
gzipped CaseDocs XML, CaseStatus, timing and git files, as CIME writes them) and N plain
`<exec>.record.json` files holding the very records the E3SM importer produces. Each is
ingested into a fresh embedded (SQLite) ledger in its own child process, with
`provledger ingest`'s code path (read_items -> ingest, batched); reported: executions/s, peak RSS
of the child (and of its largest parse worker: importers/parallel.py, PROVLEDGER_IMPORT_WORKERS),
and the ratio E3SM / plain. Optionally also the same archive as a `.tar.gz` upload.

    python -m benchmarks.bench_ingest_e3sm [--n 10000] [--tar]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from provledger.adapters.readers.walk import read_items
from provledger.domain.record import record_to_builtins
from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz

USERS = ("ac.alice", "ac.bob", "feng809", "ac.kai")


def runs(n: int) -> list[E3smRun]:
    """N executions over 4 users and N/20 cases; every 7th failed, every 50th incomplete."""
    out = []
    for i in range(n):
        out.append(
            E3smRun(
                user=USERS[i % len(USERS)],
                case=f"v3.LR.historical_{i // 20:04d}",
                exec_id=exec_id(i),
                status="error" if i % 7 == 3 else "success",
                compiler="gnu" if i % 5 == 0 else "intel",
                omit=("git_describe",) if i % 50 == 49 else (),
            )
        )
    return out


def generate(root: Path, n: int) -> tuple[Path, Path]:
    archive, plain = root / "perf", root / "records"
    plain.mkdir(parents=True)
    for run in runs(n):
        run.write(archive)
    for item in read_items([archive], 16 * 1024 * 1024, "e3sm"):
        assert item.record is not None, item.error
        data = record_to_builtins(item.record)
        data.pop("source", None)
        target = plain / f"{item.record.namespace}__{item.record.execution_id}.record.json"
        target.write_bytes(msgspec.json.encode(data))
    return archive, plain


def child(path: str, fmt: str, home: str) -> None:
    """Ingest `path` into a fresh ledger; print seconds, counts and peak RSS as JSON."""
    from provledger.adapters.bootstrap import bootstrap
    from provledger.adapters.readers.walk import count_items
    from provledger.adapters.settings import Settings
    from provledger.application.ingest import ingest

    settings = Settings(home=Path(home))
    ledger = bootstrap(settings)
    start = time.perf_counter()
    total = count_items([Path(path)], fmt)
    summary = ingest(ledger, read_items([Path(path)], settings.max_record_bytes, fmt))
    seconds = time.perf_counter() - start
    ledger.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "counted": total,
                "created": summary.created,
                "incomplete": summary.incomplete,
                "failed": summary.failed,
                "errors": summary.error_count,
                "peak_rss_mb": peak_kb / 1024,
                "worker_peak_rss_mb": worker_kb / 1024,
            }
        )
    )


def measure(path: Path, fmt: str, home: Path, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_ingest_e3sm",
            "--child",
            str(path),
            fmt,
            str(home),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--tar", action="store_true", help="also ingest the archive as .tar.gz")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "FORMAT", "HOME"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-e3sm-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        archive, plain = generate(root, args.n)
        print(
            f"generated {args.n} E3SM execution dirs + {args.n} record files "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        serial = {"PROVLEDGER_IMPORT_WORKERS": "1"}
        cases = [
            ("plain provledger records (peer)", plain, serial),
            ("E3SM archive folder", archive, {}),
            ("E3SM archive folder, serial parse", archive, serial),
        ]
        if args.tar:
            upload = write_tar_gz(runs(args.n), root / "upload.tar.gz")
            cases.append(("E3SM .tar.gz upload", upload, {}))
        results = {}
        for label, path, env in cases:
            r = measure(path, "auto", root / f"home-{len(results)}", env)
            results[label] = r
            rate = r["created"] / r["seconds"]
            print(
                f"{label:34s} {r['created']:>6.0f} created ({r['incomplete']:.0f} incomplete, "
                f"{r['failed']:.0f} failed, {r['errors']:.0f} errors) in {r['seconds']:6.2f}s = "
                f"{rate:8.0f} executions/s, peak RSS {r['peak_rss_mb']:.0f} MB "
                f"(largest worker {r['worker_peak_rss_mb']:.0f} MB)"
            )
        peer = results["plain provledger records (peer)"]
        peer_rate = peer["created"] / peer["seconds"]
        for label, r in results.items():
            if label.startswith("plain"):
                continue
            ratio = (r["created"] / r["seconds"]) / peer_rate
            print(f"ratio {label} / plain records: {ratio:.2f}x the peer's executions/s")


if __name__ == "__main__":
    main()
