"""What `provledger run` and `reproduce` print when the command has finished (no typer/rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..capture.session import RunOutcome


def run_summary(outcome: RunOutcome) -> dict[str, Any]:
    final = outcome.final
    reproduction = final.attributes.get("reproduction") or {}
    return {
        "execution_id": final.execution_id,
        "case": final.case_key,
        "status": final.status.value,
        "exit_code": outcome.process.exit_code,
        "canonical": outcome.finished.canonical,
        "record_file": str(outcome.record_file),
        "reproduces": final.reproduces,
        "verdict": reproduction.get("verdict"),
        "differing": reproduction.get("differing"),
        "changes": reproduction.get("changes"),
        "reused_from": final.reused_from,
        "restored": [
            {"file": r.uri, "path": str(r.path), "sha256": r.sha256, "size": r.size}
            for r in outcome.restored or []
        ],
    }


def summary_lines(outcome: RunOutcome, summary: dict[str, Any]) -> list[str]:
    """One line for the run, then the record's log messages (indented)."""
    line = (
        f"{summary['status']}: {summary['case']} {summary['execution_id']}"
        f"{' (canonical)' if summary['canonical'] else ''} -> {summary['record_file']}"
    )
    if summary["reused_from"]:
        size = sum(r["size"] for r in summary["restored"])
        line = (
            f"reused: {summary['case']} {summary['execution_id']} restored "
            f"{len(summary['restored'])} file(s) ({size:,} bytes, sha256 verified) from "
            f"{summary['reused_from']} instead of running -> {summary['record_file']}"
        )
        return [line, *(f"  {r['file']}" for r in summary["restored"])]
    if summary["verdict"]:
        line += f"; reproduction {summary['verdict']}"
        if summary["changes"]:
            from ..capture.keeping import describe_change

            line += f" ({'; '.join(describe_change(c) for c in summary['changes'])})"
        elif summary["differing"]:
            line += f" ({', '.join(summary['differing'])})"
    return [line, *(f"  {message}" for message in outcome.final.logs)]
