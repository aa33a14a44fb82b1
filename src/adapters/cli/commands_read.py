"""Commands that only read: cases, executions, show, diff, history, projections status."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.markup import escape

from ...domain.errors import DomainError
from ...domain.query import Expr, Field, to_text_field
from ..presenters import event_public
from ..presenters import execution_public as _execution_public
from .main import app, open_ledger, projections_app
from .output import console, print_json

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")]


@app.command()
def cases(
    namespace: Annotated[str | None, typer.Option(help="Only this namespace.")] = None,
    group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    text: Annotated[str | None, typer.Option(help="Name or group contains.")] = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
) -> None:
    """Cases with their canonical execution, counts, and each execution's change count."""
    from .read_views import print_cases

    with open_ledger() as ledger:
        print_cases(
            ledger, namespace=namespace, group=group, text=text, limit=limit, as_json=as_json
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
        from .read_views import labels_of, print_executions

        labels = labels_of(shown)
        print_executions(
            page.items, {r["id"]: _shown(r, values, shown) for r in page.items}, labels
        )


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
    from .read_views import print_show

    with open_ledger() as ledger:
        print_show(ledger, execution, as_json=as_json)


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
        return "—"
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
        from .plain import print_table, when

        print_table(
            ["position", "time", "event", "actor", "correlation id", "details"],
            [
                [
                    e["position"],
                    when(e["timestamp"]),
                    e["type"],
                    e["actor"],
                    e["correlation_id"],
                    _brief(e["payload"]),
                ]
                for e in events
            ],
            free=("details",),
            title="history",
        )


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
        from .plain import print_table

        print_table(
            ["projection", "position", "head", "lag"],
            [[r["name"], r["position"], r["head"], r["lag"]] for r in rows],
        )


def _brief(payload: dict[str, Any]) -> str:
    if "record" in payload:
        r = payload["record"]
        importer = (r.get("source") or {}).get("importer", "provledger")
        return f"status={r.get('status', 'unknown')} source={importer}"
    from .plain import human

    return ", ".join(f"{k}={human(v)}" for k, v in payload.items() if v not in (None, {}, []))
