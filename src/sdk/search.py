"""`provledger.search(EXPR)`: the executions a query matches, as records (docs/query.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..domain.record import ExecutionRecord

if TYPE_CHECKING:
    from ..application.ledger import Ledger


def search(
    where: str,
    *,
    order_by: str | None = None,
    limit: int | None = None,
    ledger: Ledger | None = None,
    home: Path | str | None = None,
) -> list[ExecutionRecord]:
    """The records of the executions matching `where` (e.g. `"params.dt = 0.5 and
    metrics.loss < 0.1"`), in start order or by `order_by` (`"metrics.loss desc"`), at most
    `limit` of them. The ledger is `ledger`, else the one PROVLEDGER_* (or `home`) names.
    A malformed query raises provledger.domain.query.QueryError naming the position."""
    from ..domain.query import parse, parse_field

    query = parse(where)
    order = None
    if order_by is not None:
        name, _, way = order_by.strip().rpartition(" ")
        if way.lower() not in ("asc", "desc"):
            name, way = order_by.strip(), "asc"
        order = (parse_field(name.strip()), way.lower() == "desc")
    owned = ledger is None
    if ledger is None:
        from ..adapters.bootstrap import bootstrap
        from ..adapters.settings import Settings

        ledger = bootstrap(Settings(home=Path(home)) if home is not None else Settings())
    try:
        ledger.catch_up()
        records: list[ExecutionRecord] = []
        cursor = None
        while limit is None or len(records) < limit:
            size = 500 if limit is None else min(500, limit - len(records))
            page = ledger.queries.list_executions(
                query=query, order=order, limit=size, cursor=cursor, summary=True
            )
            records += [ledger.record_of(row["id"]) for row in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        return records
    finally:
        if owned:
            ledger.close()
