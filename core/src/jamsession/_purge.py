"""``purge``: remove expired sessions in batches, reporting each batch (``jamsession gc``)."""

from __future__ import annotations

import asyncio

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import UnsupportedOperationError
from jamsession._record import RecordSessionModule
from jamsession._scanning import NoProgress, Progress


async def purge(store: BaseAsyncSessionModule, *, progress: Progress | None = None) -> int:
    """Remove expired sessions, a batch of :attr:`~jamsession.RecordSessionModule.purge_batch_size` at a time.

    Like :meth:`~jamsession.RecordSessionModule.purge_expired`, and tells
    ``progress`` of each batch. Each batch is one short write, so other
    processes keep writing, and an interruption leaves the store whole.
    Returns how many were removed.

    Raises:
        UnsupportedOperationError: the store does not declare ``supports_purge``.

    .. versionadded:: 0.3
    """
    if not isinstance(store, RecordSessionModule) or not store.supports_purge:
        raise UnsupportedOperationError(f"{type(store).__name__} does not support purging expired sessions")
    progress = progress or NoProgress()
    # How many expired ones there are is not known cheaply: the bar shows count and rate.
    progress.start("gc", None)
    removed = 0
    while True:
        batch = await store.purge_records(store.clock(), store.purge_batch_size)
        removed += batch
        progress.advance(batch)
        if batch < store.purge_batch_size:
            break
        await asyncio.sleep(0)
    progress.finish()
    return removed
