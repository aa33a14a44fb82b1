"""Use case: ingest many record files, batched, with a summary that counts every item."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..domain.record import ExecutionRecord, Status
from .ledger import Ledger
from .record_executions import Outcome, RecordResult

MAX_LISTED = 1000


@dataclass(frozen=True)
class ReadItem:
    """One file (or archive member) as a reader saw it: a record or an error."""

    path: str
    record: ExecutionRecord | None = None
    error: str | None = None
    skipped: bool = False


@dataclass
class IngestSummary:
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    conflicts: int = 0
    incomplete: int = 0
    failed: int = 0
    canonical: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped_details: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    conflict_details: list[str] = field(default_factory=list)
    update_details: list[str] = field(default_factory=list)
    error_count: int = 0
    position: int = 0  # the log position after the ingest (the head, when nothing was new)

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and self.conflicts == 0 and self.found_any

    @property
    def found_any(self) -> bool:
        """Whether any record was read at all (an ingest that found none has failed)."""
        return bool(self.created + self.updated + self.duplicates + self.conflicts)

    def add(self, result: RecordResult) -> None:
        if result.outcome is Outcome.CREATED:
            self.created += 1
            self.canonical += int(result.canonical)
            self.incomplete += int(result.status is Status.INCOMPLETE)
            self.failed += int(result.status is Status.FAILED)
            self.position = max(self.position, result.position)
        elif result.outcome is Outcome.UPDATED:
            self.updated += 1
            self.canonical += int(result.canonical)
            self.position = max(self.position, result.position)
            if len(self.update_details) < MAX_LISTED:
                self.update_details.append(result.message)
        elif result.outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        else:
            self.conflicts += 1
            if len(self.conflict_details) < MAX_LISTED:
                self.conflict_details.append(result.message)

    def add_error(self, path: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append((path, message))


def ingest(
    ledger: Ledger,
    items: Iterable[ReadItem],
    on_item: Callable[[ReadItem], None] | None = None,
) -> IngestSummary:
    """Record every readable item in batches; a bad item is counted and never stops the rest."""
    summary = IngestSummary()

    def batches() -> Iterator[list[ExecutionRecord]]:
        batch: list[ExecutionRecord] = []
        for item in items:
            if item.skipped:
                summary.skipped += 1
                if len(summary.skipped_details) < MAX_LISTED:
                    summary.skipped_details.append((item.path, item.error or "not a record"))
            elif item.error is not None or item.record is None:
                summary.add_error(item.path, item.error or "unreadable")
            else:
                batch.append(item.record)
                if len(batch) >= ledger.batch_size:
                    yield batch
                    batch = []
            if on_item:
                on_item(item)
        if batch:
            yield batch

    # Reading the next batch overlaps writing the one before (ExecutionRecorder.record_batches).
    for results in ledger.recorder.record_batches(batches()):
        for result in results:
            summary.add(result)
    ledger.catch_up()
    summary.position = summary.position or ledger.events.max_position()
    return summary
