"""Follows the event log and keeps the read models up to date, exactly once per event."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ..bulk_tuning import paused_cycle_collector
from .log import EventLog
from .pages import PageReader, read_ahead
from .parts import PartLauncher, in_part, part_suffix
from .views import Projection, ViewSession

REBUILD_SUFFIX = "__rebuild"
Progress = Callable[[int, int], None]  # (position reached, head)


class BatchSession(ViewSession, Protocol):
    positions: dict[str, int]  # read at the start of the batch; written back with the rows


class RebuildConflictError(RuntimeError):
    """Another rebuild recreated the fresh tables this one writes: it stops, nothing mixed."""


class BulkSession(ViewSession, Protocol):
    """A session spanning a whole rebuild: rows stay cached from batch to batch and are
    written out in large flushes."""

    def checkpoint(self, position: int) -> None:
        """Every event up to `position` is applied; rows may be written out now."""
        ...


class ViewStore(Protocol):
    """Where read models live: the same database as the events."""

    def ensure(self, projection: Projection, suffix: str = "") -> None: ...

    def positions(self) -> dict[str, int]: ...

    def batch(self, names: Sequence[str]) -> AbstractContextManager[BatchSession]:
        """One transaction: lock out other runners, read positions, flush rows and positions."""
        ...

    def bulk(
        self, names: Sequence[str], suffix: str, flush_rows: int, part: str = ""
    ) -> AbstractContextManager[BulkSession]:
        """A rebuild's session over fresh tables, writing out about every `flush_rows` changed
        rows; the rest is written out when it closes. A `part` of a rebuild split across
        processes tracks its own position (`<name><suffix><part>`)."""
        ...

    def part_positions(self, names: Sequence[str], suffix: str) -> dict[str, int]:
        """The tracked positions of the parts of a split rebuild."""
        ...

    def join_parts(
        self, names: Sequence[str], suffix: str, parts: Sequence[str], position: int
    ) -> None:
        """Every part has reached `position`: the fresh tables are complete up to it (else
        RebuildConflictError)."""
        ...

    def swap_in(self, projection: Projection, suffix: str, position: int) -> None:
        """Replace the live tables with the rebuilt ones and take over their position, which
        must still be `position` (else RebuildConflictError, and the live tables stay)."""
        ...

    def drop(self, projection: Projection, suffix: str) -> None: ...


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class ProjectionRunner:
    """Applies events in batches; each batch's rows and positions commit together."""

    def __init__(
        self,
        events: EventLog,
        views: ViewStore,
        projections: Sequence[Projection],
        batch_size: int = 1000,
    ) -> None:
        self.events = events
        self.views = views
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        for projection in projections:
            views.ensure(projection)

    def catch_up(self, until: int | None = None, on_progress: Progress | None = None) -> int:
        """Apply every event up to `until` (default: the head). Returns the lowest position."""
        return self._run(list(self.projections), until, on_progress)

    def rebuild(
        self,
        names: Sequence[str] | None = None,
        on_progress: Progress | None = None,
        *,
        jobs: int = 1,
        launcher: PartLauncher | None = None,
    ) -> int:
        """Rebuild from position 0 into fresh tables, swapped in when they have caught up.

        With `jobs` > 1 and a `launcher`, the log is split by case across `jobs` processes,
        each applying its share into the same fresh tables; one swap follows."""
        chosen = list(names or self.projections)
        unknown = [n for n in chosen if n not in self.projections]
        if unknown:
            known = ", ".join(self.projections)
            raise KeyError(f"no projection named {', '.join(unknown)} (known: {known})")
        for name in chosen:
            self.views.drop(self.projections[name], REBUILD_SUFFIX)
            self.views.ensure(self.projections[name], REBUILD_SUFFIX)
        try:
            if jobs > 1 and launcher is not None:
                position = self._rebuild_in_parts(chosen, jobs, launcher, on_progress)
            else:
                position = self._rebuild_into(chosen, on_progress)
            for name in chosen:
                self.views.swap_in(self.projections[name], REBUILD_SUFFIX, position)
        except RebuildConflictError:
            raise  # the fresh tables are the other rebuild's now: leave them to it
        except BaseException:
            for name in chosen:
                self.views.drop(self.projections[name], REBUILD_SUFFIX)
            raise
        self.catch_up()  # events appended between the last batch and the swap
        return position

    def status(self) -> list[ProjectionStatus]:
        head = self.events.max_position()
        positions = self.views.positions()
        return [ProjectionStatus(n, positions.get(n, 0), head) for n in self.projections]

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Read-your-writes: catch up until every projection has reached `position`."""
        deadline = time.monotonic() + timeout
        while True:
            if min(self.views.positions().get(n, 0) for n in self.projections) >= position:
                return True
            self.catch_up(until=position)
            if time.monotonic() > deadline:
                return False

    def follow(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Poll the log until `stop` is set (SQLite has no live subscription)."""
        while not stop.is_set():
            try:
                self.catch_up()
            except Exception:
                stop.wait(interval * 4)
            stop.wait(interval)

    def _rebuild_into(self, names: list[str], on_progress: Progress | None) -> int:
        """Apply the whole log to the fresh tables through one bulk session."""
        projections = [self.projections[n] for n in names]
        head = self.events.max_position()
        position = 0
        bulk = self.views.bulk(names, REBUILD_SUFFIX, self.batch_size)
        with paused_cycle_collector(), bulk as session:
            for batch in read_ahead(self.events, 0, head, self.batch_size):
                events = [item.event for item in batch]
                for projection in projections:
                    projection.prefetch(session, events)
                for item in batch:
                    for projection in projections:
                        projection.handle(session, item.position, item.event)
                position = batch[-1].position
                session.checkpoint(position)
                if on_progress:
                    on_progress(position, head)
        return position

    def _rebuild_in_parts(
        self, names: list[str], jobs: int, launcher: PartLauncher, on_progress: Progress | None
    ) -> int:
        head = self.events.max_position()
        parts = [part_suffix(k, jobs) for k in range(jobs)]
        try:
            futures = launcher.start(names, jobs, head)
            pending = set(futures)
            while pending:
                _done, pending = wait(pending, timeout=0.5)
                if on_progress:
                    reached = self.views.part_positions(names, REBUILD_SUFFIX).values()
                    on_progress(min((max(0, p) for p in reached), default=0), head)
            for future in futures:
                future.result()  # a part's error is the rebuild's
        finally:
            launcher.close()
        self.views.join_parts(names, REBUILD_SUFFIX, parts, head)
        return head

    def rebuild_part(self, names: Sequence[str], part: int, jobs: int, head: int) -> None:
        """One part of a split rebuild: read the whole log up to `head`, apply the events of
        the cases that fall in this part (a case's uuid modulo `jobs`) into the fresh tables.
        Projections that are not per case are applied whole by part 0."""
        split = [self.projections[n] for n in names if self.projections[n].per_case]
        whole = [self.projections[n] for n in names if not self.projections[n].per_case]
        whole = whole if part == 0 else []
        executions: set[UUID] = set()  # this part's executions, learnt from ExecutionRecorded
        bulk = self.views.bulk(names, REBUILD_SUFFIX, self.batch_size, part_suffix(part, jobs))
        with paused_cycle_collector(), bulk as session:
            for batch in read_ahead(self.events, 0, head, self.batch_size):
                ours = [i for i in batch if in_part(i.event, part, jobs, executions)]
                for projection in split:
                    projection.prefetch(session, [i.event for i in ours])
                for projection in whole:
                    projection.prefetch(session, [i.event for i in batch])
                if split:
                    for item in ours:
                        for projection in split:
                            projection.handle(session, item.position, item.event)
                for item in batch if whole else ():
                    for projection in whole:
                        projection.handle(session, item.position, item.event)
                session.checkpoint(batch[-1].position)

    def _run(self, names: list[str], until: int | None, on_progress: Progress | None) -> int:
        with paused_cycle_collector(), PageReader(self.events) as pages:
            return self._apply(names, until, on_progress, pages)

    def _apply(
        self,
        names: list[str],
        until: int | None,
        on_progress: Progress | None,
        pages: PageReader,
    ) -> int:
        head = self.events.max_position() if until is None else until
        while True:
            with self.views.batch(names) as session:
                low = min(session.positions[n] for n in names)
                if low >= head:
                    return low
                batch = pages.read(low, min(self.batch_size, head - low))
                if not batch:
                    return low
                last = batch[-1].position
                if last < head:  # most likely where the next batch starts
                    pages.read_ahead(last, min(self.batch_size, head - last))
                events = [item.event for item in batch]
                for name in names:
                    self.projections[name].prefetch(session, events)
                for item in batch:
                    for name in names:
                        if item.position > session.positions[name]:
                            self.projections[name].handle(session, item.position, item.event)
                for name in names:
                    session.positions[name] = max(session.positions[name], last)
            if on_progress:
                on_progress(last, head)
