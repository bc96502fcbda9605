"""How ``get`` cost grows with the number of stored sessions.

Two stores of one backend take turns: a *reference* holding the smallest
count and a *grown* one, filled up to each size in turn. Each repeat times
the same number of ``get`` calls on random stored sessions of each, so the
ratio grown/reference at each size is paired like every other ratio here.
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


@dataclass
class ScalingResult:
    backend: str
    reference_size: int
    #: Size -> seconds per get, one per repeat, for the reference and the grown store.
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
                self.store = jamsession.open("memory")
            self.ids += await fill_memory(self.store, missing, self.blob, first=len(self.ids))

    async def timed_gets(self, count: int, rng: random.Random) -> float:
        sample = rng.sample(self.ids, min(count, len(self.ids)))
        get = self.store.get
        gc.collect()
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
            # Warm both: file pages, connection, code paths.
            await reference.timed_gets(gets, rng)
            await grown.timed_gets(gets, rng)
            result.reference[size], result.grown[size] = [], []
            for repeat in range(repeats):
                for which in rotated(["reference", "grown"], repeat):
                    filled = reference if which == "reference" else grown
                    getattr(result, which)[size].append(await filled.timed_gets(gets, rng))
            advance(1)
    finally:
        for filled in (reference, grown):
            if filled.store is not None:
                await filled.store.aclose()
    return result
