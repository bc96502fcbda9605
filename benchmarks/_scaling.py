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

For SQLite, raw ``sqlite3`` then runs the store's ``SELECT`` on the same two
files, turn by turn in the same way, on the same thread and with the store's
memory map and page cache: how much of the growth is SQLite's own walk down a
bigger B-tree, which no store over it can avoid. It runs after the store's
turns, not between them: reading the same file, it would keep that B-tree's
pages in the CPU's caches for the store (in runs that interleaved them, the
store's ratio at 1M fell from 1.34 to 1.16-1.26).
"""

from __future__ import annotations

import gc
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jamsession
from benchmarks._fill import fill_memory, fill_sqlite
from benchmarks._measure import BenchmarkError, paired_ratios, rotated
from benchmarks._raw import SQL_FETCH, loads

#: ``get`` calls per chunk.
CHUNK = 20


@dataclass
class ScalingResult:
    backend: str
    reference_size: int
    #: Size -> seconds per get, one per chunk, for the reference and the grown store.
    reference: dict[int, list[float]] = field(default_factory=dict)
    grown: dict[int, list[float]] = field(default_factory=dict)
    #: The same for raw ``sqlite3`` on the same files (SQLite only).
    raw_reference: dict[int, list[float]] = field(default_factory=dict)
    raw_grown: dict[int, list[float]] = field(default_factory=dict)

    def ratio(self, size: int) -> float:
        """Median of the paired (grown / reference) cost of a ``get``."""
        return statistics.median(paired_ratios(self.grown[size], self.reference[size]))

    def raw_ratio(self, size: int) -> float:
        """The same for raw ``sqlite3`` (SQLite only)."""
        return statistics.median(paired_ratios(self.raw_grown[size], self.raw_reference[size]))


class _Filled:
    """A store, its stored IDs, and how to add more."""

    def __init__(self, backend: str, workdir: Path, name: str, blob: bytes) -> None:
        self.backend = backend
        self.path = str(workdir / f"{name}.db")
        self.blob = blob
        self.ids: list[str] = []
        self.store: Any = None
        self.raw: sqlite3.Connection | None = None

    async def grow_to(self, size: int) -> None:
        missing = size - len(self.ids)
        if self.backend == "sqlite":
            # The store creates the file and schema; bulk inserts go through
            # a connection of their own, and the store's reopens after them.
            if self.store is None:
                self.store = jamsession.open("sqlite", path=self.path)
            await self.store.aclose()
            self.close_raw()
            self.ids += fill_sqlite(self.path, missing, self.blob, first=len(self.ids))
            self.store = jamsession.open("sqlite", path=self.path)
            await self.store.__aenter__()
            self.raw = sqlite3.connect(self.path, isolation_level=None)
            # PRAGMA takes no parameters; the values are the store's own, validated by it.
            self.raw.execute(f"PRAGMA mmap_size = {self.store.mmap_size}")
            self.raw.execute(f"PRAGMA cache_size = {-self.store.cache_size}")
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

    def timed_raw_gets(self, sample: list[str]) -> float:
        if self.raw is None:
            raise BenchmarkError(f"no raw reader on a {self.backend} store")
        execute = self.raw.execute
        started = time.perf_counter()
        for session_id in sample:
            rows = execute(SQL_FETCH, (session_id, time.time())).fetchall()
            if not rows:
                raise BenchmarkError("raw sqlite3 lost a stored session")
            loads(rows[0][0])
        return (time.perf_counter() - started) / len(sample)

    def close_raw(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None


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
    """Time ``get`` at each of ``sizes`` stored sessions against a store holding ``sizes[0]``.

    For SQLite, raw ``sqlite3``'s ``SELECT`` on the same files is timed the same way after them.
    """
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
            await _take_turns(
                result, reference, grown, size=size, repeats=repeats, gets=gets, rng=rng, raw=False
            )
            if backend == "sqlite":
                # After the store's turns, not between them (see the module's docstring).
                reference.timed_raw_gets(reference.ids)
                grown.timed_raw_gets(grown.ids)
                await _take_turns(
                    result, reference, grown, size=size, repeats=repeats, gets=gets, rng=rng, raw=True
                )
            advance(1)
    finally:
        for filled in (reference, grown):
            filled.close_raw()
            if filled.store is not None:
                await filled.store.aclose()
    return result


async def _take_turns(
    result: ScalingResult,
    reference: _Filled,
    grown: _Filled,
    *,
    size: int,
    repeats: int,
    gets: int,
    rng: random.Random,
    raw: bool,
) -> None:
    """``repeats`` samples of ``gets`` random reads from each store, chunk by chunk in turn."""
    timings = {
        reference: result.raw_reference if raw else result.reference,
        grown: result.raw_grown if raw else result.grown,
    }
    for timing in timings.values():
        timing[size] = []
    turn = 0
    for _ in range(repeats):
        samples = {filled: filled.sample(gets, rng) for filled in timings}
        gc.collect()
        for start in range(0, gets, CHUNK):
            turn += 1
            for filled in rotated(list(timings), turn):
                chunk = samples[filled][start : start + CHUNK]
                elapsed = filled.timed_raw_gets(chunk) if raw else await filled.timed_gets(chunk)
                timings[filled][size].append(elapsed)
