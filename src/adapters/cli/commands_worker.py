"""`provledger worker`: the background work of a ledger served by several processes."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated, Any

import typer

from .main import app, open_ledger
from .output import fail, user_errors

log = logging.getLogger("provledger.worker")


@app.command()
def worker(
    job: Annotated[
        list[str] | None,
        typer.Option(
            "--job",
            help="Only this work (repeatable): catch-up, persist, ship, snapshot. Default: all "
            "of them (snapshot when PROVLEDGER_SNAPSHOT_INTERVAL is set).",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve Prometheus /metrics on this port."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
    log_format: Annotated[str, typer.Option(help="text | json (one object a line).")] = "text",
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error.")] = "info",
    once: Annotated[
        bool, typer.Option("--once", help="Do what there is to do now, then exit.")
    ] = False,
) -> None:
    """Follow the log and do the background work: catch the read models up, persist final
    records, ship the log every PROVLEDGER_ARCHIVE_INTERVAL s. Wakes on Postgres NOTIFY (polls
    every PROVLEDGER_PERSIST_INTERVAL s on SQLite). Several workers may run: persisting and
    shipping each have one owner at a time. SIGTERM finishes the step in hand and exits 0."""
    from ..service import logs
    from ..service.worker import JOBS
    from ..settings import Settings

    chosen = job or list(JOBS)
    unknown = [j for j in chosen if j not in JOBS]
    if unknown:
        fail(f"unknown --job {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    try:
        logs.checked_format(log_format)
    except ValueError as e:
        fail(str(e))
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        fail(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    logs.configure(log_format, log_level)
    with user_errors():
        settings = Settings()
    if job and "snapshot" in job and settings.snapshot_interval <= 0:
        fail("--job snapshot needs PROVLEDGER_SNAPSHOT_INTERVAL (seconds between snapshots)")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_ledger() as ledger:
        _run(ledger, settings, chosen, metrics_port, metrics_host, stop, once)


def _run(
    ledger: Any,
    settings: Any,
    jobs: list[str],
    metrics_port: int | None,
    metrics_host: str,
    stop: threading.Event,
    once: bool,
) -> None:
    from ..archive import archive_for
    from ..service import metrics
    from ..service.worker import build_worker

    archive = archive_for(settings, defer_sync=True) if {"persist", "ship"} & set(jobs) else None

    def persisted(summary: Any) -> None:
        log.info(
            "persisted %d records and %d side files, up to position %d",
            summary.records,
            summary.side_files,
            summary.position,
            extra={"records": summary.records, "position": summary.position},
        )
        for path in summary.conflicts:
            log.warning("not overwritten (a different file is there): %s", path)

    def shipped(events: int, last: int) -> None:
        log.info("shipped %d events; archived up to position %d", events, last)

    def failed(job: str, error: BaseException, delay: float) -> None:
        metrics.observe_worker_error(job, error, delay)
        log.warning("%s failed, retrying in %.1fs: %s", job, delay, error, extra={"job": job})

    def owner(job: str, owned: bool) -> None:
        metrics.observe_worker_owner(job, owned)
        if owned:
            log.info("this worker now does %s", job, extra={"job": job})

    built = build_worker(
        ledger,
        settings,
        jobs=jobs,
        archive=archive,
        on_persisted=persisted,
        on_shipped=shipped,
        on_step=metrics.observe_worker_step,
        on_error=failed,
        on_owner=owner,
    )
    server = None
    if metrics_port is not None:
        server = metrics.serve_metrics(
            metrics_port, metrics.registry_for(ledger, archive), metrics_host
        )
        log.info("metrics on http://%s:%d/metrics", metrics_host, metrics_port)
    log.info("worker started (%s) on the %s ledger", ", ".join(jobs), ledger.events.backend)
    try:
        if once:
            built.round(stop)
            built.leases.close()
            built.wakeup.close()
        else:
            built.run(stop)
    finally:
        if server is not None:
            server.shutdown()
    log.info("worker stopped")
