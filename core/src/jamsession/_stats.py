"""``store_stats``: what a store holds, counted in one pass (two when many keys compete for the top)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from jamsession._base import BaseAsyncSessionModule
from jamsession._record import StoredSession
from jamsession._scanning import NoProgress, Progress, batches, scanning_store

#: Upper bounds, in seconds, of the buckets of both histograms; the last bucket is open.
BUCKETS: Sequence[tuple[str, float]] = (
    ("< 1 min", 60),
    ("< 1 h", 3600),
    ("< 1 day", 86400),
    ("< 7 days", 7 * 86400),
    ("< 30 days", 30 * 86400),
    (">= 30 days", float("inf")),
)
NEVER = "never"

#: Session keys counted at once in the first pass: the heavy hitters among any number of keys.
CANDIDATES = 1024


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What :func:`store_stats` found: counts only, no ID, token or data.

    Attributes:
        scanned: Records read.
        live: Sessions not expired.
        expired: Expired records not yet removed (``jamsession gc`` removes them).
        keys: Distinct session keys with a live session, or ``None`` when there were
            too many to count in constant memory.
        top_keys: The session keys with the most live sessions, most first, with
            their exact counts.
        ages: Live sessions by time since creation, per bucket of :data:`BUCKETS`.
        expiries: Live sessions by time left, per bucket, and ``"never"``.
        data_bytes: Total stored bytes of the live sessions' data.

    .. versionadded:: 0.3
    """

    scanned: int
    live: int
    expired: int
    keys: int | None
    top_keys: list[tuple[str, int]]
    ages: dict[str, int]
    expiries: dict[str, int]
    data_bytes: int


class _HeavyHitters:
    """Misra-Gries: every key holding more than ``n / (capacity + 1)`` of ``n`` sessions stays a candidate."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.exact = True

    def add(self, key: str) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < self.capacity:
            counts[key] = 1
        else:
            self.exact = False
            for other in list(counts):
                counts[other] -= 1
                if not counts[other]:
                    del counts[other]


def _bucket(seconds: float) -> str:
    for name, bound in BUCKETS:
        if seconds < bound:
            return name
    return BUCKETS[-1][0]


async def store_stats(
    store: BaseAsyncSessionModule,
    *,
    top: int = 10,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> StoreStats:
    """Count what ``store`` holds, in batches, in constant memory; read-only.

    Live and expired sessions, the ``top`` session keys with the most live
    sessions (a bot, a leaked credential), and how old the live sessions
    are and how long they have left::

        stats = await store_stats(store)
        print(stats.live, stats.top_keys[:3])

    Session keys are counted exactly when there are at most
    :data:`CANDIDATES` of them; beyond, a first pass finds the candidates
    (every key holding more than 1/1024 of the sessions is among them) and
    a second pass counts those exactly.

    Raises:
        UnsupportedOperationError: the store lacks ``supports_scan``.

    .. versionadded:: 0.3
    """
    scanning = scanning_store(store, "stats")
    progress = progress or NoProgress()
    hitters = _HeavyHitters(CANDIDATES)
    ages = {name: 0 for name, _ in BUCKETS}
    expiries = {NEVER: 0, **ages}
    scanned = live = data_bytes = 0
    async for batch in batches(scanning, progress, "stats", batch_size):
        now = scanning.clock()
        scanned += len(batch)
        for record in batch:
            if record.expires_at is not None and record.expires_at <= now:
                continue
            live += 1
            data_bytes += len(record.blob)
            hitters.add(record.session_key)
            ages[_bucket(now - record.created_at)] += 1
            expiries[NEVER if record.expires_at is None else _bucket(record.expires_at - now)] += 1
    candidates = list(hitters.counts.items())
    if not hitters.exact:
        # The first pass's counts are lower bounds: every candidate is counted again, exactly.
        candidates = await _exact_counts(scanning, list(hitters.counts), progress, batch_size)
    # Most sessions first; among equals, by key, so the listing is stable.
    top_keys = heapq.nsmallest(top, candidates, key=lambda item: (-item[1], item[0]))
    return StoreStats(
        scanned=scanned,
        live=live,
        expired=scanned - live,
        keys=len(hitters.counts) if hitters.exact else None,
        top_keys=top_keys,
        ages=ages,
        expiries=expiries,
        data_bytes=data_bytes,
    )


async def _exact_counts(
    store: BaseAsyncSessionModule, keys: list[str], progress: Progress, batch_size: int | None
) -> list[tuple[str, int]]:
    counts = dict.fromkeys(keys, 0)
    scanning = scanning_store(store, "stats")
    async for batch in batches(scanning, progress, "stats (top keys)", batch_size):
        now = scanning.clock()
        for record in batch:
            if record.session_key in counts and _live(record, now):
                counts[record.session_key] += 1
    return list(counts.items())


def _live(record: StoredSession, now: float) -> bool:
    return record.expires_at is None or record.expires_at > now
