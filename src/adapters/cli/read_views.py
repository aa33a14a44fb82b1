"""What `cases`, `show` and `executions` print, without typer or rich (the typer commands and the
fast read path in fast_read.py print through these, so both read the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from .plain import color_enabled, human, print_json, print_lines, print_table, styled, when

if TYPE_CHECKING:
    from ...application.ledger import Ledger
    from ...domain.query import Field


def deltas_text(deltas: dict[str, Any] | None, limit: int = 4) -> str:
    if not deltas:
        return ""
    shown = [
        f"{k}: {human(v['canonical'])} -> {human(v['current'])}"
        for k, v in list(deltas.items())[:limit]
    ]
    return "; ".join(shown) + (" …" if len(deltas) > limit else "")


def case_lines(row: dict[str, Any], executions: list[dict[str, Any]], color: bool) -> list[str]:
    group = f" (group {row['grp']})" if row["grp"] else ""
    canonical = row["canonical_execution_id"] or "none yet"
    lines = [
        f"{styled(row['namespace'] + '/' + row['name'], 'bold', color)}{group}: "
        f"canonical {styled(canonical, 'green', color)}; {row['n_executions']} executions "
        f"({row['n_succeeded']} succeeded, {row['n_failed']} failed, "
        f"{row['n_incomplete']} incomplete, {row['n_running']} running, "
        f"{row['n_cancelled']} cancelled, {row['n_unknown']} unknown)"
    ]
    for e in executions:
        mark = "★" if e["is_canonical"] else "·"
        if e["is_canonical"]:
            changes = "canonical"
        elif e["deltas"] is None:
            changes = "no baseline yet"
        else:
            changes = f"{e['change_count']} changes" + (
                f", {e['missing_count']} missing" if e.get("missing_count") else ""
            )
        detail = f": {deltas_text(e['deltas'])}" if e["change_count"] else ""
        lines.append(f"  {mark} {e['execution_id']} [{e['status']}] {changes}{detail}")
    return lines


def print_cases(
    ledger: Ledger,
    *,
    namespace: str | None = None,
    group: str | None = None,
    text: str | None = None,
    limit: int = 100,
    as_json: bool = False,
) -> None:
    from ..presenters import case_public, execution_summary

    ledger.catch_up()
    page = ledger.queries.list_cases(namespace=namespace, group=group, text=text, limit=limit)
    if as_json:
        print_json(
            [
                {
                    **case_public(row),
                    "executions": [
                        execution_summary(e)
                        for e in ledger.queries.executions_of_case(row["case_id"])
                    ],
                }
                for row in page.items
            ]
        )
        return
    if not page.items:
        print_lines(["no cases yet: record or ingest some executions"])
        return
    color = color_enabled()
    for row in page.items:
        print_lines(case_lines(row, ledger.queries.executions_of_case(row["case_id"]), color))


def print_show(ledger: Ledger, execution: str, *, as_json: bool = False) -> None:
    from ..presenters import execution_public

    ledger.catch_up()
    row = ledger.execution_row(execution)
    record = msgspec.to_builtins(ledger.record_of(execution))
    if as_json:
        print_json({**execution_public(row), "record": record})
        return
    color = color_enabled()
    lines = [
        f"{styled(row['execution_id'], 'bold', color)} of {row['namespace']}/{row['case_name']}: "
        f"{row['status']}{' (canonical)' if row['is_canonical'] else ''}, "
        f"{row['change_count']} changes"
    ]
    if row.get("parent"):
        lines.append(f"  nested in {row['parent']}")
    for key, change in (row["deltas"] or {}).items():
        lines.append(f"  {key}: {human(change['canonical'])} -> {human(change['current'])}")
    print_lines(lines)
    print_json(record)


EXECUTION_HEADERS = ["execution", "case", "status", "canonical", "changes", "started"]


def print_executions(
    rows: list[dict[str, Any]],
    shown: dict[str, dict[str, Any]],
    labels: list[str],
) -> None:
    """The executions table; `shown[id][label]` holds the --columns values."""
    print_table(
        [*EXECUTION_HEADERS, *labels],
        [
            [
                r["execution_id"],
                f"{r['namespace']}/{r['case_name']}",
                r["status"],
                "yes" if r["is_canonical"] else "",
                r["change_count"],
                when(r["started"]),
                *(shown.get(r["id"], {}).get(label) for label in labels),
            ]
            for r in rows
        ],
        free=tuple(labels),
        title="executions",
    )


def labels_of(fields: list[Field]) -> list[str]:
    from ...domain.query import to_text_field

    return [to_text_field(f) for f in fields]
