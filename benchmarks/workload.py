"""Deterministic ~2 KB execution records, generated lazily so memory stays flat."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from provledger.domain.record import (
    CodeVersion,
    Environment,
    ExecutionRecord,
    FileRef,
    MetricPoint,
    Source,
    Spec,
    Status,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = (Status.SUCCEEDED,) * 8 + (Status.FAILED, Status.INCOMPLETE)


def make(i: int, cases: int = 1000) -> ExecutionRecord:
    rng = random.Random(i)
    case = i % cases
    return ExecutionRecord(
        execution_id=f"{1_000_000 + i}.260101-{i % 240000:06d}",
        case=f"case-{case:05d}",
        namespace=f"user{case % 17}",
        group=f"campaign-{case % 11}",
        status=STATUSES[i % len(STATUSES)],
        started=T0 + timedelta(seconds=i),
        ended=T0 + timedelta(seconds=i + 3600),
        spec=Spec(
            format="xml",
            resolved={
                "compset": rng.choice(["WCYCL1850", "F2010", "B1850"]),
                "grid": {
                    "name": "ne30pg2_EC30to60E2r2",
                    "atm": "ne30np4.pg2",
                    "ocn": "EC30to60E2r2",
                },
                "compiler": rng.choice(["intel", "gnu"]),
                "mpilib": "mpich",
                "run_type": "startup",
                "stop_option": "ndays",
                "stop_n": 5,
            },
            sha256=f"{i:064x}",
        ),
        params={f"param_{k}": rng.random() for k in range(24)},
        inputs=[
            FileRef(uri=f"/inputs/ic_{case}.nc", sha256=f"{case:064x}", size=2**30, role="input")
        ],
        outputs=[
            FileRef(uri=f"/archive/{i}/out.nc", sha256=f"{i + 7:064x}", size=2**32, role="output")
        ],
        code=CodeVersion(
            repository="https://github.com/E3SM-Project/E3SM",
            commit=f"{i % 97:040x}",
            tag="v3.0.0",
            branch="master",
        ),
        environment=Environment(
            host=f"node{i % 400:04d}",
            machine="chrysalis",
            user=f"user{case % 17}",
            platform="linux-x86_64",
        ),
        metrics={
            "sypd": [MetricPoint(rng.uniform(1, 30), step=s) for s in range(3)],
            "throughput": [MetricPoint(rng.uniform(100, 900))],
            "cost_pe_hrs": [MetricPoint(rng.uniform(1e3, 1e5))],
        },
        tags={"campaign": f"c{case % 11}", "experiment": "historical"},
        source=Source(importer="benchmark", path=f"/perf/{i}"),
    )


def make_batch(start: int, stop: int, cases: int = 1000) -> list[ExecutionRecord]:
    return [make(i, cases) for i in range(start, stop)]


def batches(count: int, size: int = 1000, cases: int = 1000) -> Iterator[list[ExecutionRecord]]:
    for start in range(0, count, size):
        yield make_batch(start, min(count, start + size), cases)
