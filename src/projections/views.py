"""The two read models, `cases` and `executions`, as pure event handlers over a ViewSession."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from ..domain.case import Case
from ..domain.deltas import DeltaPolicies, config_fields, diff_configs, missing_fields
from ..domain.execution import Execution
from ..domain.ids import case_id
from ..domain.record import ExecutionRecord, Status
from .tables import CASES, EXECUTION_CANONICALS, EXECUTIONS, Table

Row = dict[str, Any]


class ViewSession(Protocol):
    """One batch's unit of work over the read-model tables (flushed with the position)."""

    scratch: dict[str, Any]

    def get(self, table: Table, key: str) -> Row | None: ...

    def put(self, table: Table, row: Row) -> None: ...

    def where(self, table: Table, column: str, value: Any, *, stored: bool = True) -> list[Row]:
        """Rows with column == value: this batch's rows, and (if stored) the stored ones."""
        ...

    def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        """A hint: these rows will be read; load them in one go."""
        ...


class Projection(ABC):
    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    # Whether its rows depend on one case's events only, so a rebuild may split the log by
    # case across processes (`projections rebuild --jobs N`); otherwise one process applies
    # all of it.
    per_case: ClassVar[bool] = False

    @abstractmethod
    def handle(self, session: ViewSession, position: int, event: Any) -> None: ...

    def prefetch(self, session: ViewSession, events: Sequence[Any]) -> None:  # noqa: B027
        """Load, in few queries, the rows a batch of events will read (optional)."""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class CasesView(Projection):
    """One row per case: canonical execution, counts by status, first and last seen."""

    name = "cases"
    tables = (CASES,)
    per_case = True

    def prefetch(self, session: ViewSession, events: Sequence[Any]) -> None:
        session.prefetch(CASES, filter(None, map(_case_of, events)))

    def handle(self, session: ViewSession, position: int, event: Any) -> None:
        if isinstance(event, Case.Opened):
            self._opened(session, position, event)
        elif isinstance(event, Case.CanonicalChosen):
            self._canonical(session, position, event)
        elif isinstance(event, Execution.Recorded):
            self._recorded(session, position, event)
        elif isinstance(event, Execution.Finished):
            self._finished(session, position, event)
        elif isinstance(event, Execution.Updated):
            self._updated(session, position, event)
        elif isinstance(event, Case.Grouped):
            row = session.get(CASES, str(event.originator_id))
            if row is not None:
                row.update(grp=event.group, position=position)
                session.put(CASES, row)

    def _opened(self, session: ViewSession, position: int, event: Case.Opened) -> None:
        row = _new_case_row(event, position)
        existing = session.get(CASES, row["case_id"])
        if existing is not None:  # opened lazily by an execution seen first: keep its counts
            row.update({k: existing[k] for k in (*_counts(), "first_seen", "last_seen")})
        session.put(CASES, row)

    def _canonical(self, session: ViewSession, position: int, event: Case.CanonicalChosen) -> None:
        row = session.get(CASES, str(event.originator_id))
        if row is not None:
            row.update(
                canonical=str(event.execution),
                canonical_execution_id=event.execution_id,
                canonical_reason=event.reason,
                position=position,
            )
            session.put(CASES, row)

    def _recorded(self, session: ViewSession, position: int, event: Execution.Recorded) -> None:
        record = event.record
        # An execution whose case event is not yet seen opens the case row from its record.
        row = session.get(CASES, str(event.case_id)) or _case_row_from_record(event, position)
        row["n_executions"] += 1
        row[f"n_{record.status.value}"] += 1
        _seen(row, iso(record.started) or iso(event.timestamp))
        row["position"] = position
        session.put(CASES, row)

    def _finished(self, session: ViewSession, position: int, event: Execution.Finished) -> None:
        # Only a running execution can finish (domain rule), so it leaves `running`.
        record = event.record
        row = session.get(CASES, str(case_id(record.namespace, record.case)))
        if row is not None:
            row["n_running"] -= 1
            row[f"n_{record.status.value}"] += 1
            _seen(row, iso(record.ended))
            row["position"] = position
            session.put(CASES, row)

    def _updated(self, session: ViewSession, position: int, event: Execution.Updated) -> None:
        record = event.record
        row = session.get(CASES, str(case_id(record.namespace, record.case)))
        if row is not None:
            row[f"n_{event.previous_status.value}"] -= 1
            row[f"n_{record.status.value}"] += 1
            _seen(row, iso(record.ended))
            row["position"] = position
            session.put(CASES, row)


def _seen(row: Row, when: str | None) -> None:
    row["first_seen"] = min(filter(None, (row["first_seen"], when)), default=None)
    row["last_seen"] = max(filter(None, (row["last_seen"], when)), default=None)


def _case_of(event: Any) -> str | None:
    """The case id an event touches, if any."""
    if isinstance(event, Case.Event):
        return str(event.originator_id)
    if isinstance(event, Execution.Recorded):
        return str(event.case_id)
    if isinstance(event, Execution.Finished | Execution.Updated):
        return str(case_id(event.record.namespace, event.record.case))
    return None


def _counts() -> Row:
    return {"n_executions": 0, **{f"n_{s.value}": 0 for s in Status}}


def _case_row(
    case: str, namespace: str, name: str, group: str | None, opened: datetime, position: int
) -> Row:
    return {
        "case_id": case,
        "namespace": namespace,
        "name": name,
        "grp": group,
        "canonical": None,
        "canonical_execution_id": None,
        "canonical_reason": None,
        **_counts(),
        "opened_at": iso(opened),
        "first_seen": None,
        "last_seen": None,
        "position": position,
    }


def _new_case_row(event: Case.Opened, position: int) -> Row:
    return _case_row(
        str(event.originator_id),
        event.namespace,
        event.name,
        event.group,
        event.timestamp,
        position,
    )


def _case_row_from_record(event: Execution.Recorded, position: int) -> Row:
    r = event.record
    return _case_row(str(event.case_id), r.namespace, r.case, r.group, event.timestamp, position)


class ExecutionsView(Projection):
    """One row per execution: what users filter and sort on, is_canonical, deltas."""

    name = "executions"
    tables = (EXECUTIONS, EXECUTION_CANONICALS)
    per_case = True

    def __init__(self, policies: DeltaPolicies | None = None) -> None:
        self.policies = policies or DeltaPolicies()

    def prefetch(self, session: ViewSession, events: Sequence[Any]) -> None:
        cases = set(filter(None, map(_case_of, events)))
        session.prefetch(EXECUTION_CANONICALS, cases)
        canonicals = [
            row["canonical"]
            for c in cases
            if (row := session.get(EXECUTION_CANONICALS, c)) is not None
        ]
        changed = [
            str(e.originator_id)
            for e in events
            if isinstance(e, Execution.Event) and not isinstance(e, Execution.Recorded)
        ]
        session.prefetch(EXECUTIONS, [*canonicals, *changed])

    def handle(self, session: ViewSession, position: int, event: Any) -> None:
        if isinstance(event, Case.Opened):
            session.scratch.setdefault("fresh_cases", set()).add(str(event.originator_id))
        elif isinstance(event, Execution.Recorded):
            self._recorded(
                session, position, event.originator_id, event.case_id, event.record, event.timestamp
            )
        elif isinstance(event, Execution.Finished | Execution.Updated):
            old = session.get(EXECUTIONS, str(event.originator_id))
            if old is not None:
                self._recorded(
                    session,
                    position,
                    event.originator_id,
                    UUID(old["case_id"]),
                    event.record,
                    None,
                    old,
                )
        elif isinstance(event, Execution.Retracted):
            row = session.get(EXECUTIONS, str(event.originator_id))
            if row is not None:
                row.update(retracted=1, position=position)
                session.put(EXECUTIONS, row)
        elif isinstance(event, Case.CanonicalChosen):
            case = str(event.originator_id)
            session.put(EXECUTION_CANONICALS, {"case_id": case, "canonical": str(event.execution)})
            self._recompute_case(session, case, position)
        elif isinstance(event, Execution.Annotated):
            row = session.get(EXECUTIONS, str(event.originator_id))
            if row is not None:
                tags = {**row["tags"], **event.tags}
                for name in event.removed_tags:
                    tags.pop(name, None)
                row.update(tags=tags, position=position)
                session.put(EXECUTIONS, row)
        elif isinstance(event, Execution.RecordPersisted):
            row = session.get(EXECUTIONS, str(event.originator_id))
            if row is not None:
                row["persisted"] = {**(row["persisted"] or {}), event.location: event.sha256}
                row["position"] = position
                session.put(EXECUTIONS, row)

    def _recorded(
        self,
        session: ViewSession,
        position: int,
        execution: UUID,
        case_uuid: UUID,
        record: ExecutionRecord,
        recorded_at: datetime | None,
        old: Row | None = None,
    ) -> None:
        case = str(case_uuid)
        output = record.primary_output
        started = iso(record.started)
        row: Row = {
            "id": str(execution),
            "execution_id": record.execution_id,
            "case_id": case,
            "namespace": record.namespace,
            "case_name": record.case,
            "grp": record.group,
            "parent": record.parent,
            "status": record.status.value,
            "started": started,
            "ended": iso(record.ended),
            "recorded_at": old["recorded_at"] if old else iso(recorded_at),
            "sort_started": started or "",
            "is_canonical": 0,
            "change_count": 0,
            "missing_count": 0,
            "deltas": None,
            "config": config_fields(record),
            "params": record.params,
            "tags": {**(old["tags"] if old else {}), **record.tags},
            "importer": record.source.importer if record.source else None,
            "output_sha256": output.sha256 if output else None,
            "persisted": old["persisted"] if old else {},
            "retracted": 0,
            "position": position,
        }
        canonical = self._canonical_of(session, case)
        if canonical is not None and canonical != row["id"]:
            baseline = session.get(EXECUTIONS, canonical)
            if baseline is not None:
                self._apply_deltas(row, baseline)
        session.put(EXECUTIONS, row)
        if canonical == row["id"]:
            self._recompute_case(session, case, position)

    def _canonical_of(self, session: ViewSession, case: str) -> str | None:
        row = session.get(EXECUTION_CANONICALS, case)
        return row["canonical"] if row else None

    def _recompute_case(self, session: ViewSession, case: str, position: int) -> None:
        canonical = self._canonical_of(session, case)
        fresh = case in session.scratch.get("fresh_cases", ())
        rows = session.where(EXECUTIONS, "case_id", case, stored=not fresh)
        baseline = next((r for r in rows if r["id"] == canonical), None)
        for row in rows:
            row["is_canonical"] = int(row["id"] == canonical)
            if baseline is None:
                row.update(deltas=None, change_count=0, missing_count=0)
            else:
                self._apply_deltas(row, baseline)
            row["position"] = max(row["position"], position)
            session.put(EXECUTIONS, row)

    def _apply_deltas(self, row: Row, baseline: Row) -> None:
        if row["id"] == baseline["id"]:
            row.update(deltas={}, change_count=0, missing_count=0)
            return
        if row["parent"] is not None and baseline["parent"] is None:
            # A child run (MLflow nested run) is part of its parent, not a peer of the
            # baseline: it is not compared with it.
            row.update(deltas=None, change_count=0, missing_count=0)
            return
        policy = self.policies.for_importer(row["importer"])
        deltas = diff_configs(baseline["config"], row["config"], policy)
        # A compared field this execution lacks (an incomplete run) is missing, not changed.
        missing = missing_fields(baseline["config"], row["config"], policy)
        row.update(deltas=deltas, change_count=len(deltas), missing_count=len(missing))


from .search import SearchView as SearchView  # noqa: E402  (a Projection: defined above)

ALL_PROJECTIONS: tuple[type[Projection], ...] = (CasesView, ExecutionsView, SearchView)
