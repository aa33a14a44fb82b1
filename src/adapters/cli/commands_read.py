"""Commands that only read: cases, executions, show, diff, history, projections status."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from ..presenters import event_public
from .main import app, open_ledger, projections_app
from .output import console, print_json

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")]


def _deltas_text(deltas: dict[str, Any] | None) -> str:
    if not deltas:
        return ""
    return "; ".join(
        f"{k}: {v['canonical']!r} -> {v['current']!r}" for k, v in list(deltas.items())[:4]
    ) + (" …" if len(deltas) > 4 else "")


@app.command()
def cases(
    namespace: Annotated[str | None, typer.Option(help="Only this namespace.")] = None,
    group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    text: Annotated[str | None, typer.Option(help="Name or group contains.")] = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
) -> None:
    """Cases with their canonical execution, counts, and each execution's change count."""
    with open_ledger() as ledger:
        ledger.catch_up()
        page = ledger.queries.list_cases(namespace=namespace, group=group, text=text, limit=limit)
        if as_json:
            out = []
            for row in page.items:
                executions = ledger.queries.executions_of_case(row["case_id"])
                out.append(
                    {**_case_public(row), "executions": [_execution_summary(e) for e in executions]}
                )
            print_json(out)
            return
        if not page.items:
            console.print("no cases yet: record or ingest some executions")
        for row in page.items:
            group = f" (group {escape(row['grp'])})" if row["grp"] else ""
            canonical = escape(row["canonical_execution_id"] or "none yet")
            console.print(
                f"[bold]{escape(row['namespace'])}/{escape(row['name'])}[/]{group}: "
                f"canonical [green]{canonical}[/]; {row['n_executions']} executions "
                f"({row['n_succeeded']} succeeded, {row['n_failed']} failed, "
                f"{row['n_incomplete']} incomplete, {row['n_running']} running)",
                highlight=False,
            )
            for e in ledger.queries.executions_of_case(row["case_id"]):
                mark = "★" if e["is_canonical"] else "·"
                changes = (
                    "canonical"
                    if e["is_canonical"]
                    else f"{e['change_count']} changes"
                    if e["deltas"] is not None
                    else "no baseline yet"
                )
                console.print(
                    f"  {mark} {escape(e['execution_id'])} [{e['status']}] {changes}"
                    + (f": {escape(_deltas_text(e['deltas']))}" if e["change_count"] else ""),
                    highlight=False,
                    markup=False,
                )


@app.command()
def executions(
    case: Annotated[str | None, typer.Option(help="Case: namespace/name, name or id.")] = None,
    group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    status: Annotated[str | None, typer.Option(help="succeeded, failed, incomplete, …")] = None,
    canonical: Annotated[
        bool | None, typer.Option("--canonical/--not-canonical", help="Only (non-)canonical.")
    ] = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
) -> None:
    """Executions, filtered; each with is_canonical and its change count."""
    from ...application.ports import ExecutionFilter
    from ...domain.record import Status

    if status is not None and status not in {s.value for s in Status}:
        from .output import fail

        fail(f"unknown --status {status!r}; choose one of {', '.join(s.value for s in Status)}")
    with open_ledger() as ledger:
        ledger.catch_up()
        page = ledger.queries.list_executions(
            ExecutionFilter(case=case, group=group, status=status, canonical=canonical),
            limit=limit,
        )
        if as_json:
            print_json([_execution_public(r) for r in page.items])
            return
        table = Table(
            "execution", "case", "status", "canonical", "changes", "started", title="executions"
        )
        for r in page.items:
            table.add_row(
                escape(r["execution_id"]),
                escape(f"{r['namespace']}/{r['case_name']}"),
                r["status"],
                "yes" if r["is_canonical"] else "",
                str(r["change_count"]),
                r["started"] or "",
            )
        console.print(table)


@app.command()
def show(
    execution: Annotated[str, typer.Argument(help="Execution id (external id or uuid).")],
    as_json: JsonOpt = False,
) -> None:
    """One execution: its record, canonical flag, deltas against the canonical."""
    with open_ledger() as ledger:
        ledger.catch_up()
        row = ledger.execution_row(execution)
        record = msgspec.to_builtins(ledger.record_of(execution))
        data = {**_execution_public(row), "record": record}
        if as_json:
            print_json(data)
            return
        console.print(
            f"[bold]{escape(row['execution_id'])}[/] of {escape(row['namespace'])}/"
            f"{escape(row['case_name'])}: {row['status']}"
            f"{' (canonical)' if row['is_canonical'] else ''}, {row['change_count']} changes"
        )
        if row.get("parent"):
            console.print(f"  nested in {escape(row['parent'])}", highlight=False)
        for key, change in (row["deltas"] or {}).items():
            console.print(
                f"  {escape(key)}: {change['canonical']!r} -> {change['current']!r}",
                highlight=False,
            )
        console.print_json(msgspec.json.encode(record).decode())


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="First execution.")],
    b: Annotated[str, typer.Argument(help="Second execution.")],
    as_json: JsonOpt = False,
) -> None:
    """Config deltas between two executions, `a` taken as the baseline."""
    with open_ledger() as ledger:
        ledger.catch_up()
        deltas = ledger.diff(a, b)
        if as_json:
            print_json({"a": a, "b": b, "change_count": len(deltas), "deltas": deltas})
            return
        for key, change in deltas.items():
            console.print(
                f"{escape(key)}: {change['canonical']!r} -> {change['current']!r}", highlight=False
            )
        console.print(f"{len(deltas)} changes")


@app.command()
def history(
    execution: Annotated[str, typer.Argument(help="Execution id (external id or uuid).")],
    as_json: JsonOpt = False,
) -> None:
    """The execution's events (and its case's canonical choices) with positions and times."""
    with open_ledger() as ledger:
        ledger.catch_up()
        events = [event_public(e.position, e.event) for e in ledger.history(execution)]
        if as_json:
            print_json(events)
            return
        table = Table("position", "time", "event", "actor", "details", title="history")
        for e in events:
            table.add_row(
                str(e["position"]),
                str(e["timestamp"]),
                str(e["type"]),
                escape(str(e["actor"])),
                escape(_brief(e["payload"])),
            )
        console.print(table)


@projections_app.command("status")
def projections_status(as_json: JsonOpt = False) -> None:
    """Each read model's position in the log and its lag."""
    with open_ledger() as ledger:
        rows = [
            {"name": s.name, "position": s.position, "head": s.head, "lag": s.lag}
            for s in ledger.runner.status()
        ]
        if as_json:
            print_json(rows)
            return
        table = Table("projection", "position", "head", "lag")
        for r in rows:
            table.add_row(str(r["name"]), str(r["position"]), str(r["head"]), str(r["lag"]))
        console.print(table)


def _case_public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["case_id"],
        "namespace": row["namespace"],
        "name": row["name"],
        "group": row["grp"],
        "canonical_execution_id": row["canonical_execution_id"],
        "canonical_reason": row["canonical_reason"],
        "counts": {k[2:]: row[k] for k in row if k.startswith("n_")},
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
    }


def _execution_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "execution_id": row["execution_id"],
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"],
        "deltas": row["deltas"],
        "started": row["started"],
        "ended": row["ended"],
    }


def _execution_public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "execution_id": row["execution_id"],
        "case_id": row["case_id"],
        "case": f"{row['namespace']}/{row['case_name']}",
        "group": row["grp"],
        "status": row["status"],
        "is_canonical": bool(row["is_canonical"]),
        "change_count": row["change_count"],
        "deltas": row["deltas"],
        "started": row["started"],
        "ended": row["ended"],
        "recorded_at": row["recorded_at"],
        "tags": row["tags"],
        "position": row["position"],
        "parent": row.get("parent"),
    }


def _brief(payload: dict[str, Any]) -> str:
    if "record" in payload:
        r = payload["record"]
        importer = (r.get("source") or {}).get("importer", "provledger")
        return f"status={r.get('status', 'unknown')} source={importer}"
    return ", ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, {}, []))[:120]
