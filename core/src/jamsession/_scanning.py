"""Walking a whole store in batches, and the progress the operations report as they go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import UnsupportedOperationError
from jamsession._record import RecordSessionModule, StoredSession

_T = TypeVar("_T")
_I = TypeVar("_I")


class Progress(Protocol):
    """What an operation reports its progress to; ``jamsession``'s progress bar is one.

    An operation calls :meth:`start` at each pass over the store (with the
    number of records it expects, ``None`` when unknown), :meth:`advance`
    after each batch, and :meth:`finish` when the pass is over.

    .. versionadded:: 0.3
    """

    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """Reports nothing: the default of every operation."""

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


def scanning_store(store: BaseAsyncSessionModule, operation: str) -> RecordSessionModule:
    """``store``, when it can be walked with ``scan_records``; a typed error naming what is missing."""
    if not isinstance(store, RecordSessionModule) or not store.supports_scan:
        raise UnsupportedOperationError(
            f"{operation} needs a store that declares supports_scan; {type(store).__name__} does not"
        )
    return store


async def batches(
    store: RecordSessionModule, progress: Progress, label: str, batch_size: int | None = None
) -> AsyncIterator[list[StoredSession]]:
    """Every stored record, a batch at a time, reporting each batch to ``progress``.

    Only one batch is held at a time, so memory stays flat however many
    records the store holds.
    """
    limit = batch_size or store.scan_batch_size
    progress.start(label, await store.estimate_record_count())
    after: str | None = None
    while True:
        batch = await store.scan_records(after, limit)
        if batch.records:
            yield batch.records
            progress.advance(len(batch.records))
        if batch.cursor is None:
            break
        after = batch.cursor
    progress.finish()


async def run_bounded(
    function: Callable[[_I], Awaitable[_T]], items: Sequence[_I], concurrency: int
) -> list[_T]:
    """``function`` of each item, at most ``concurrency`` at a time; all finish before an error is raised.

    So when one fails, no other write is left half-way: each call is one
    atomic storage primitive or a few, run to its end.
    """
    results: list[_T] = []
    for start in range(0, len(items), concurrency):
        outcomes = await asyncio.gather(
            *(function(item) for item in items[start : start + concurrency]), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        results += outcomes  # type: ignore[arg-type]  # no exception is left among them
    return results
