"""How ``get`` cost grows with the number of stored sessions.

Two stores of one backend take turns: a *reference* holding the smallest
count and a *grown* one, filled up to each size in turn. They read random
stored sessions in alternating chunks of :data:`CHUNK` calls, so the ratio
grown/reference at each size is a median of paired chunk ratios, like every
other ratio here.

Before timing, each store reads every session it holds once, as a server
that has served each of its sessions has. SQLite reads through a memory map
that a fresh connection has not yet touched: the first read of each page
takes a page fault, a few microseconds. Random reads of a sample would leave
most of a million sessions' pages untouched, timing a store just opened, not
a store that has been serving them.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jamsession
from benchmarks._fill import fill_memory, fill_sqlite
from benchmarks._measure import BenchmarkError, paired_ratios, rotated

#: ``get`` calls per chunk.
CHUNK = 20


@dataclass
class ScalingResult:
    backend: str
    reference_size: int
    #: Size -> seconds per get, one per chunk, for the reference and the grown store.
    reference: dict[int, list[float]] = field(default_factory=dict)
    grown: dict[int, list[float]] = field(default_factory=dict)

    def ratio(self, size: int) -> float:
        """Median of the paired (grown / reference) cost of a ``get``."""
        return statistics.median(paired_ratios(self.grown[size], self.reference[size]))


class _Filled:
    """A store, its stored IDs, and how to add more."""

    def __init__(self, backend: str, workdir: Path, name: str, blob: bytes) -> None:
        self.backend = backend
        self.path = str(workdir / f"{name}.db")
        self.blob = blob
        self.ids: list[str] = []
        self.store: Any = None

    async def grow_to(self, size: int) -> None:
        missing = size - len(self.ids)
        if self.backend == "sqlite":
            # The store creates the file and schema; bulk inserts go through
            # a connection of their own, and the store's reopens after them.
            if self.store is None:
                self.store = jamsession.open("sqlite", path=self.path)
            await self.store.aclose()
            self.ids += fill_sqlite(self.path, missing, self.blob, first=len(self.ids))
            self.store = jamsession.open("sqlite", path=self.path)
            await self.store.__aenter__()
        else:
            if self.store is None:
                # Unbounded: by default a memory store keeps at most 100,000 sessions.
                self.store = jamsession.open("memory", max_sessions=None)
            self.ids += await fill_memory(self.store, missing, self.blob, first=len(self.ids))

    def sample(self, count: int, rng: random.Random) -> list[str]:
        return [rng.choice(self.ids) for _ in range(count)]

    async def timed_gets(self, sample: list[str]) -> float:
        get = self.store.get
        started = time.perf_counter()
        for session_id in sample:
            if await get(session_id) is None:
                raise BenchmarkError(f"{self.backend} lost a stored session")
        return (time.perf_counter() - started) / len(sample)


async def run_scaling(
    backend: str,
    *,
    sizes: tuple[int, ...],
    gets: int,
    repeats: int,
    data: dict[str, Any],
    workdir: Path,
    advance: Callable[[int], None],
) -> ScalingResult:
    """Time ``get`` at each of ``sizes`` stored sessions against a store holding ``sizes[0]``."""
    blob = jamsession.JsonEncoder.dumps(data)
    rng = random.Random(3)  # noqa: S311 - which sessions to read, not security
    reference = _Filled(backend, workdir, f"{backend}-reference", blob)
    grown = _Filled(backend, workdir, f"{backend}-grown", blob)
    result = ScalingResult(backend, sizes[0])
    try:
        await reference.grow_to(sizes[0])
        for size in sizes:
            await grown.grow_to(size)
            # Warm both: every file page, connection, code paths.
            await reference.timed_gets(reference.ids)
            await grown.timed_gets(grown.ids)
            result.reference[size], result.grown[size] = [], []
            turn = 0
            for _ in range(repeats):
                samples = {"reference": reference.sample(gets, rng), "grown": grown.sample(gets, rng)}
                gc.collect()
                for start in range(0, gets, CHUNK):
                    turn += 1
                    for which in rotated(["reference", "grown"], turn):
                        filled = reference if which == "reference" else grown
                        elapsed = await filled.timed_gets(samples[which][start : start + CHUNK])
                        getattr(result, which)[size].append(elapsed)
            advance(1)
    finally:
        for filled in (reference, grown):
            if filled.store is not None:
                await filled.store.aclose()
    return result
