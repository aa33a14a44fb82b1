"""`provledger serve`, `provledger token create|list|revoke`, `provledger publish`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape

from .main import app, open_ledger
from .output import console, errors, fail, print_json, user_errors

token_app = typer.Typer(help="API tokens for `provledger serve`.", no_args_is_help=True)
app.add_typer(token_app, name="token")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    public_read: Annotated[
        bool, typer.Option("--public-read", help="Reads need no token (writes still do).")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="Largest request body accepted (413 above).")
    ] = 32 * 1024 * 1024,
    max_file_bytes: Annotated[
        int,
        typer.Option(
            min=1024, help="Largest data file pushed (streamed to disk, not held; 413 above)."
        ),
    ] = 64 * 1024**3,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    log_format: Annotated[
        str, typer.Option(help="text | json (one object a line, with the correlation id).")
    ] = "text",
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) and the web UI (at /, docs/ui.md) over
    the configured ledger; /healthz, /readyz and /metrics at the root. With --workers N, N
    processes share the port (run them on Postgres; `provledger worker` does the background
    work)."""
    import uvicorn

    from ..bootstrap import bootstrap
    from ..service import logs

    try:
        logs.checked_format(log_format)
    except ValueError as e:
        fail(str(e))
    with user_errors():  # fail early and clearly on bad settings or an unreachable database
        bootstrap().close()
    os.environ["PROVLEDGER_PUBLIC_READ"] = "1" if public_read else "0"
    os.environ["PROVLEDGER_MAX_BODY_BYTES"] = str(max_body_bytes)
    os.environ["PROVLEDGER_MAX_FILE_BYTES"] = str(max_file_bytes)
    os.environ[logs.LOG_FORMAT_ENV] = log_format
    access = "reads are public" if public_read else "reads need a read token"
    errors.print(
        f"provledger API on http://{host}:{port}/api/v1, web UI on http://{host}:{port}/ "
        f"({access})",
        highlight=False,
    )
    with _metrics_across(workers):
        uvicorn.run(
            "provledger.adapters.http.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            log_config=logs.logging_config(log_format, log_level),
            proxy_headers=False,
        )


@contextmanager
def _metrics_across(workers: int) -> Iterator[None]:
    """Several processes: prometheus-client's multiprocess mode, in a fresh temp dir (unless
    PROMETHEUS_MULTIPROC_DIR names one), so any process's /metrics adds up all of them."""
    from ..service.metrics import MULTIPROC_ENV

    if workers < 2 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="provledger-metrics-") as folder:
        os.environ[MULTIPROC_ENV] = folder
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_ENV, None)


@token_app.command("create")
def token_create(
    scope: Annotated[str, typer.Option(help="read | write (write includes read).")] = "read",
    name: Annotated[str | None, typer.Option(help="A name to recognise it by.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token; it is printed once and only its sha256 is stored."""
    from ..http.tokens import SCOPES, token_store_for

    if scope not in SCOPES:
        fail(f"unknown --scope {scope!r}; choose one of {', '.join(SCOPES)}")
    with open_ledger() as ledger:
        issued = token_store_for(ledger).create(scope, name)
    p = issued.principal
    if as_json:
        print_json({"id": p.token_id, "name": p.name, "scope": p.scope, "token": issued.secret})
        return
    errors.print(
        f"token {escape(p.name)} ({p.scope}) created; it is shown only this once:",
        highlight=False,
    )
    print(issued.secret)  # stdout, alone, so scripts can capture it


@token_app.command("list")
def token_list(as_json: JsonOpt = False) -> None:
    """Active tokens (names and scopes; the secrets are not stored)."""
    from ..http.tokens import token_store_for

    with open_ledger() as ledger:
        found = token_store_for(ledger).list()
    rows = [
        {"id": p.token_id, "name": p.name, "scope": p.scope, "created_at": p.created_at}
        for p in found
    ]
    if as_json:
        print_json(rows)
        return
    from .plain import print_table

    print_table(
        ["id", "name", "scope", "created"],
        [[r["id"], r["name"], r["scope"], r["created_at"]] for r in rows],
        title="tokens",
    )


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or name.")],
) -> None:
    """Revoke a token (every server refuses it within a few seconds)."""
    from ..http.tokens import token_store_for

    with open_ledger() as ledger:
        p = token_store_for(ledger).revoke(token)
    console.print(f"revoked token {escape(p.name)} ({p.token_id})", highlight=False)


@app.command("publish")
def publish_command(
    execution: Annotated[str, typer.Argument(help="Execution id (external id or uuid).")],
    as_json: JsonOpt = False,
) -> None:
    """Publish a succeeded execution: its record with checksums; records Published."""
    from ...application.publish import publish
    from ..exporters import publication_exports
    from ..http.app import archive_from_settings
    from ..settings import Settings

    with open_ledger() as ledger:
        done = publish(ledger, execution, archive_from_settings(Settings()), publication_exports())
    if as_json:
        print_json(
            {
                "execution_id": done.execution_id,
                "location": done.location,
                "sha256": done.sha256,
                "size": done.size,
                "position": done.position,
                "already_published": done.already_published,
            }
        )
        return
    what = "already published" if done.already_published else "published"
    console.print(
        f"{escape(done.execution_id)} {what} at {escape(done.location)} "
        f"(sha256 {done.sha256}, log position {done.position})",
        highlight=False,
    )
