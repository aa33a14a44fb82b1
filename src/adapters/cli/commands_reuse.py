"""`provledger reuse explain ID`: why an execution could, or could not, reuse another."""

from __future__ import annotations

from typing import Annotated

import typer

from .main import app, open_ledger
from .output import console, print_json

reuse_app = typer.Typer(
    help="Reuse of identical succeeded executions (run --reuse).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(reuse_app, name="reuse")


@reuse_app.command("explain")
def explain_command(
    execution: Annotated[str, typer.Argument(help="The execution to explain.")],
    limit: Annotated[int, typer.Option(help="How many nearest candidates to show.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """For the nearest succeeded executions, which part of the reuse key differs (command,
    code commit or diff, config field, input file, environment), or that it would be reused."""
    from ...application.reuse import explain
    from ..archive import archive_for
    from ..capture.reusing import availability
    from ..settings import Settings
    from .output import fail
    from .reuse_report import explanation_json, explanation_lines

    if limit < 1:
        fail(f"--limit must be at least 1, not {limit}")
    with open_ledger() as ledger:
        execution_ref = ledger.execution(execution)
        record = execution_ref.record
        wanted = list(record.attributes.get("outputs") or [])
        found = explain(
            ledger,
            record,
            availability(archive_for(Settings()), wanted),
            limit=limit,
            exclude=str(execution_ref.id),
        )
    if as_json:
        print_json(explanation_json(found))
        return
    name = f"{record.namespace}/{record.case}/{record.execution_id}"
    subject = name + (f" (reused from {record.reused_from})" if record.reused_from else "")
    for line in explanation_lines(found, subject):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
