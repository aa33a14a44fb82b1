"""Reading the log in pages, the next page read on a helper thread while this one is applied
(the database's time overlaps the caller's)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from .log import EventLog, PositionedEvent


class PageReader:
    """Pages of the log, the next one read on a helper thread while this one is applied. The
    helper starts with the second page, so a one-batch catch-up (every CLI read) starts no
    thread. A page read ahead from elsewhere than where the next batch starts (another
    runner moved the positions) is dropped."""

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self._reader: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, int, Future[Sequence[PositionedEvent]]] | None = None

    def __enter__(self) -> PageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.shutdown(wait=True)

    def read(self, after: int, limit: int) -> Sequence[PositionedEvent]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (after, limit):
            return ahead[2].result()
        return self.events.read(after, limit)

    def read_ahead(self, after: int, limit: int) -> None:
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provledger-read")
        self._ahead = (after, limit, self._reader.submit(self.events.read, after, limit))


def read_ahead(
    events: EventLog, after: int, head: int, size: int
) -> Iterator[Sequence[PositionedEvent]]:
    """The log from `after` to `head` in pages; the next page is read on a helper thread
    while the caller works on this one (the database's time overlaps the caller's)."""
    with PageReader(events) as pages:
        while after < head:
            page = pages.read(after, min(size, head - after))
            if not page:
                return
            after = page[-1].position
            if after < head:
                pages.read_ahead(after, min(size, head - after))
            yield page
