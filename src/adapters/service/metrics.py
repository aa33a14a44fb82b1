"""Prometheus metrics of the API and the worker (prometheus-client).

Two kinds:
- counted in the process: HTTP requests and their latency by route template, the worker's
  steps, work and errors. Under `serve --workers N` every process writes them to files in
  PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and a scrape of any process
  adds them all up.
- read from the database at scrape time (`LedgerCollector`): the log head (events appended),
  executions recorded (ingest throughput is its rate), each projection's position and lag, and
  the persister's and the archive's backlog. Every process reads the same values, so they
  aggregate correctly whichever process Prometheus reaches.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from ...application.ledger import Ledger
    from ...application.ports import Archive

log = logging.getLogger("provledger.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "provledger_http_requests",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "provledger_http_request_duration_seconds",
    "HTTP request latency, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
WORKER_STEPS = Counter(
    "provledger_worker_steps", "Steps the worker ran, by job (catch-up, persist, ship).", ["job"]
)
WORKER_WORK = Counter(
    "provledger_worker_events", "Log events the worker's steps got through, by job.", ["job"]
)
WORKER_ERRORS = Counter(
    "provledger_worker_errors", "Steps that failed and will be retried, by job.", ["job"]
)
WORKER_OWNER = Gauge(
    "provledger_worker_owner",
    "1 while this worker holds the job's lease (one owner per job across workers).",
    ["job"],
    multiprocess_mode="livesum",
)


def content_type() -> str:
    return str(CONTENT_TYPE_LATEST)


class LedgerCollector:
    """Metrics read from the database when scraped (never cached, never per process)."""

    def __init__(self, ledger: Ledger, archive: Archive | None) -> None:
        self.ledger = ledger
        self.archive = archive
        self._raw: Any = None

    def describe(self) -> list[Metric]:
        return []  # nothing at registration: the database is read only when scraped

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("provledger_database_up", "1 when the last scrape read the ledger.")
        try:
            metrics = list(self._collect())
        except Exception as e:  # a scrape must answer even when the database does not
            log.warning("metrics: cannot read the ledger: %s", e)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _collect(self) -> Iterator[Metric]:
        from ...application.archive_log import state_key
        from ...application.persist_records import POSITION_KEY
        from ..archive import raw_log_of

        status = self.ledger.runner.status()
        head = max((s.head for s in status), default=self.ledger.events.max_position())
        yield CounterMetricFamily(
            "provledger_events_appended",
            "Events in the log (its head position); rate() is the append rate.",
            value=head,
        )
        counts = self.ledger.queries.counts()
        yield CounterMetricFamily(
            "provledger_executions_recorded",
            "Executions in the read models; rate() is the ingest throughput.",
            value=counts.get("executions", 0),
        )
        position = GaugeMetricFamily(
            "provledger_projection_position", "Last log position applied.", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "provledger_projection_lag_events",
            "Events appended but not yet applied.",
            labels=["projection"],
        )
        for s in status:
            position.add_metric([s.name], s.position)
            lag.add_metric([s.name], s.lag)
        yield position
        yield lag
        if self._raw is None:
            self._raw = raw_log_of(self.ledger)
        raw = self._raw
        persisted = int(raw.get_state(POSITION_KEY) or 0)
        yield GaugeMetricFamily(
            "provledger_persister_backlog_events",
            "Log events the record persister has not gone through yet.",
            value=max(0, head - persisted),
        )
        if self.archive is not None:
            import msgspec

            stored = raw.get_state(state_key(self.archive))
            last = int(msgspec.json.decode(stored)[1]) if stored else 0
            yield GaugeMetricFamily(
                "provledger_archive_backlog_events",
                "Log events not yet shipped to the archive.",
                value=max(0, head - last),
            )


class _Both:
    """The process's own metrics (or every process's) and the ledger's, as one collector."""

    def __init__(self, ledger: LedgerCollector | None) -> None:
        self.ledger = ledger

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            yield from merged.collect()
        else:
            yield from REGISTRY.collect()
        if self.ledger is not None:
            yield from self.ledger.collect()


def registry_for(ledger: Ledger | None, archive: Archive | None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_Both(LedgerCollector(ledger, archive) if ledger is not None else None))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return bytes(generate_latest(registry))


def serve_metrics(port: int, registry: CollectorRegistry, host: str = "127.0.0.1") -> Any:
    """The worker's own /metrics endpoint, on a thread; returns the server (`.shutdown()`)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def observe_worker_step(job: str, done: int, _seconds: float) -> None:
    WORKER_STEPS.labels(job).inc()
    WORKER_WORK.labels(job).inc(done)


def observe_worker_error(job: str, _error: BaseException, _delay: float) -> None:
    WORKER_ERRORS.labels(job).inc()


def observe_worker_owner(job: str, owned: bool) -> None:
    WORKER_OWNER.labels(job).set(1 if owned else 0)
