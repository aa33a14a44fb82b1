"""Commands that only read: cases, executions, show, diff, history, projections status."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from ...domain.errors import DomainError
from ...domain.query import Expr, Field, to_text_field
from ..presenters import case_public as _case_public
from ..presenters import event_public
from ..presenters import execution_public as _execution_public
from ..presenters import execution_summary as _execution_summary
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
                f"{row['n_incomplete']} incomplete, {row['n_running']} running, "
                f"{row['n_cancelled']} cancelled, {row['n_unknown']} unknown)",
                highlight=False,
            )
            for e in ledger.queries.executions_of_case(row["case_id"]):
                mark = "★" if e["is_canonical"] else "·"
                changes = (
                    "canonical"
                    if e["is_canonical"]
                    else f"{e['change_count']} changes"
                    + (f", {e['missing_count']} missing" if e.get("missing_count") else "")
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
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help='A query, e.g. "params.dt = 0.5 and metrics.loss < 0.1" (docs/query.md).',
        ),
    ] = None,
    order_by: Annotated[
        str | None,
        typer.Option("--order-by", help='A field, then asc or desc: "metrics.loss desc".'),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns", help="Fields to show too, comma-separated: params.dt,metrics.loss."
        ),
    ] = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
) -> None:
    """Executions, filtered (also by a query: --where); each with is_canonical and its change
    count."""
    from ...application.ports import ExecutionFilter
    from ...domain.record import Status
    from .output import fail

    if status is not None and status not in {s.value for s in Status}:
        fail(f"unknown --status {status!r}; choose one of {', '.join(s.value for s in Status)}")
    query, order, shown = _query_options(where, order_by, columns)
    with open_ledger() as ledger:
        ledger.catch_up()
        try:
            page = ledger.queries.list_executions(
                ExecutionFilter(case=case, group=group, status=status, canonical=canonical),
                limit=limit,
                query=query,
                order=order,
            )
        except DomainError as e:
            fail(f"--where: {e}")
        values = ledger.queries.values_of([r["id"] for r in page.items], shown)
        if as_json:
            print_json(
                [
                    {
                        **_execution_public(r),
                        **({"values": _shown(r, values, shown)} if shown else {}),
                    }
                    for r in page.items
                ]
            )
            return
        labels = [to_text_field(f) for f in shown]
        table = Table(
            "execution",
            "case",
            "status",
            "canonical",
            "changes",
            "started",
            *labels,
            title="executions",
        )
        for r in page.items:
            extra = _shown(r, values, shown)
            table.add_row(
                escape(r["execution_id"]),
                escape(f"{r['namespace']}/{r['case_name']}"),
                r["status"],
                "yes" if r["is_canonical"] else "",
                str(r["change_count"]),
                r["started"] or "",
                *(escape(_cell(extra.get(label))) for label in labels),
            )
        console.print(table)


def _query_options(
    where: str | None, order_by: str | None, columns: str | None
) -> tuple[Expr | None, tuple[Field, bool] | None, list[Field]]:
    """--where, --order-by and --columns read by the query language; exit 2 when malformed."""
    from ...domain.query import parse, parse_field
    from .output import fail

    try:
        query = parse(where) if where is not None else None
    except DomainError as e:
        fail(f"--where: {e}")
    order = None
    if order_by is not None:
        name, _, way = order_by.strip().rpartition(" ")
        if way.lower() not in ("asc", "desc"):
            name, way = order_by.strip(), "asc"
        try:
            order = (parse_field(name.strip()), way.lower() == "desc")
        except DomainError as e:
            fail(f"--order-by: {e}")
    shown = []
    for name in filter(None, (c.strip() for c in (columns or "").split(","))):
        try:
            shown.append(parse_field(name))
        except DomainError as e:
            fail(f"--columns: {e}")
    return query, order, shown


def _shown(
    row: dict[str, Any], values: dict[str, dict[str, Any]], fields: list[Field]
) -> dict[str, Any]:
    """The --columns values of one row: stored columns from the row, the rest looked up."""
    from ..sqlviews.where import COLUMNS

    mine = values.get(row["id"], {})
    out = {}
    for f in fields:
        label = to_text_field(f)
        out[label] = row.get(COLUMNS[f.kind]) if f.kind in COLUMNS else mine.get(label)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


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
    a: Annotated[str, typer.Argument(help="The baseline execution.")],
    others: Annotated[list[str], typer.Argument(help="Executions compared with it (one or more).")],
    as_json: JsonOpt = False,
) -> None:
    """Config, params, metrics, files (sha256), status, times, code and environment of B (and
    C, …) against A, grouped by section, changes first."""
    from ...domain.compare import compare_records

    with open_ledger() as ledger:
        ledger.catch_up()
        base = ledger.record_of(a)
        results = []
        for other in others:
            record = ledger.record_of(other)
            comparison = compare_records(base, record, ledger.policies.for_record(record))
            results.append(
                {"a": _side(a, base), "b": _side(other, record), **comparison.to_public()}
            )
    if as_json:
        print_json(results[0] if len(results) == 1 else results)
        return
    for result in results:
        console.print(
            f"[bold]{escape(result['b']['ref'])}[/] against [bold]{escape(result['a']['ref'])}[/]:"
            f" {result['change_count']} changes",
            highlight=False,
        )
        for section in result["sections"]:
            if not section["changes"]:
                continue
            console.print(f"  [bold]{section['name']}[/]", highlight=False)
            for change in section["changes"]:
                console.print(
                    f"    {change['field']}: {_shown_value(change['a'])} -> "
                    f"{_shown_value(change['b'])}",
                    highlight=False,
                    markup=False,
                )
        same = [f"{s['name']} {s['same']}" for s in result["sections"] if s["same"]]
        if same:
            console.print(f"  the same: {', '.join(same)}", highlight=False, markup=False)


def _side(ref: str, record: Any) -> dict[str, Any]:
    return {"ref": ref, "execution_id": record.execution_id, "case": record.case_key}


def _shown_value(value: Any) -> str:
    """JSON for values (strings quoted, so 0.5 and "0.5" differ); none when absent."""
    if value is None:
        return "(none)"
    return msgspec.json.encode(value).decode()


@app.command()
def history(
    execution: Annotated[str, typer.Argument(help="Execution id (external id or uuid).")],
    as_json: JsonOpt = False,
) -> None:
    """The execution's events (and its case's canonical choices naming it) with positions,
    times, actors and correlation ids."""
    with open_ledger() as ledger:
        ledger.catch_up()
        history = ledger.history_with_case(execution)
        events = [event_public(e.position, e.event) for e in history]
        if as_json:
            print_json(events)
            return
        table = Table(
            "position", "time", "event", "actor", "correlation id", "details", title="history"
        )
        for e in events:
            table.add_row(
                str(e["position"]),
                str(e["timestamp"]),
                str(e["type"]),
                escape(str(e["actor"])),
                escape(str(e["correlation_id"] or "—")),
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


def _brief(payload: dict[str, Any]) -> str:
    if "record" in payload:
        r = payload["record"]
        importer = (r.get("source") or {}).get("importer", "provledger")
        return f"status={r.get('status', 'unknown')} source={importer}"
    return ", ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, {}, []))[:120]
