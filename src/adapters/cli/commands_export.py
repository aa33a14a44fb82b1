"""`provledger export prov|rocrate|parquet`: executions in formats other tools read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .main import app, open_ledger
from .output import console, fail, print_json

export_app = typer.Typer(
    help="Export executions: W3C PROV-JSON, RO-Crate (Process Run Crate), Parquet tables.",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")

ExecutionArg = Annotated[str, typer.Argument(help="Execution id (external id or uuid).")]


@export_app.command("prov")
def export_prov(
    execution: ExecutionArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    lineage: Annotated[
        bool,
        typer.Option(
            "--lineage", help="The lineage graph around it instead: executions up and down."
        ),
    ] = False,
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=100, help="With --lineage: executions away.")
    ] = 1,
) -> None:
    """One execution as W3C PROV-JSON: files (sha256) as entities, execution and steps as
    activities, user/code/importer as agents. With --lineage, the graph of executions and
    files around it (used, wasGeneratedBy, wasDerivedFrom)."""
    import msgspec

    from ..exporters.prov import lineage_to_prov, to_prov

    with open_ledger() as ledger:
        row = ledger.execution_row(execution)
        if lineage:
            from ...application.lineage import execution_lineage

            graph = execution_lineage(ledger.queries, row["id"], "both", depth)
            document = lineage_to_prov(graph)
        else:
            document = to_prov(ledger.record_of(row["id"]), row["id"])
    if out is None:
        print_json(document)
        return
    try:
        out.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2))
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror or e}")
    console.print(f"wrote {out}")


@export_app.command("rocrate")
def export_rocrate(
    execution: ExecutionArg,
    directory: Annotated[Path, typer.Argument(help="Crate directory (new or empty).")],
    license: Annotated[
        str | None,
        typer.Option("--license", help="The crate's licence: a URL or an SPDX id (CC-BY-4.0)."),
    ] = None,
) -> None:
    """One execution as a Process Run Crate: ro-crate-metadata.json + record.json in DIR."""
    from ..exporters.rocrate import write_crate

    with open_ledger() as ledger:
        row = ledger.execution_row(execution)
        record = ledger.record_of(row["id"])
    try:
        target = write_crate(record, row["id"], directory, license=license)
    except ValueError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the crate in {directory}: {e.strerror or e}")
    console.print(f"wrote {target}")


@export_app.command("parquet")
def export_parquet(
    directory: Annotated[Path, typer.Argument(help="Folder for the .parquet files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every case and execution as cases/executions/params/metrics/files .parquet tables."""
    from ..exporters.parquet import export_parquet as export

    if directory.exists() and not directory.is_dir():
        fail(f"{directory} exists and is not a directory")
    with open_ledger() as ledger:
        try:
            counts = export(ledger, directory)
        except OSError as e:
            fail(f"cannot write Parquet files in {directory}: {e.strerror or e}")
    data = {
        "directory": str(directory),
        "cases": counts.cases,
        "executions": counts.executions,
        "params": counts.params,
        "metrics": counts.metrics,
        "files": counts.files,
    }
    if as_json:
        print_json(data)
    else:
        console.print(
            f"wrote {directory}: cases {counts.cases}, executions {counts.executions}, "
            f"params {counts.params}, metrics {counts.metrics}, files {counts.files}",
            highlight=False,
        )
