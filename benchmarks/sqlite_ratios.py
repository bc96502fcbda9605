"""Print the SQLite backend's three speed ratios, each measured side by side in one run.

1. sequential: one coroutine doing create/get/update/get, against raw
   aiosqlite running the same statements, one hop each (target >= 1.0);
2. concurrent: the same work from 100 coroutines at once, against raw
   aiosqlite at 100 coroutines (target >= 2.0);
3. scale: the cost of ``get`` with 1,000,000 sessions stored, against
   1,000 stored (target <= 1.3).

Both sides use the same file settings (WAL, ``synchronous=NORMAL``, page
cache and memory map), the same schema, the same statements and the same
serializer. The two sides take turns in short slices, and each ratio is the
median over neighbouring pairs of slices, so bursts of load from other
programs on the machine hurt both alike; the overall throughputs are
printed too.

    python benchmarks/sqlite_ratios.py            # one to two minutes
    python benchmarks/sqlite_ratios.py --quick    # smaller runs, seconds
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

from jamsession import JamSessionNotFound, JsonEncoder
from jamsession_sqlite import SqliteSessions, _statements

SAMPLE = {"user_id": 42, "name": "Alice", "roles": ["member"], "csrf": "x" * 32}

# The backend's own statements, word for word.
INSERT = _statements.INSERT.sql
FETCH = _statements.FETCH.sql
REPLACE = _statements.REPLACE.sql


# -- the two sides ----------------------------------------------------------------------


class RawAiosqlite:
    """What an application would write on aiosqlite directly: one hop per statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, path: Path, store: SqliteSessions) -> RawAiosqlite:
        # Autocommit: each statement commits itself, in its one hop.
        connection = await aiosqlite.connect(path, isolation_level=None, timeout=store.busy_timeout)
        await connection.execute(f"PRAGMA synchronous = {store.synchronous.upper()}")
        await connection.execute(f"PRAGMA mmap_size = {store.mmap_size}")
        await connection.execute(f"PRAGMA cache_size = {-store.cache_size}")
        return cls(connection)

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        session_id = str(uuid.uuid4())
        now = time.time()
        blob = JsonEncoder.dumps(data)
        await self.connection.execute_fetchall(
            INSERT, (session_id, session_key.encode(), blob, now, now, None)
        )
        return session_id

    async def get(self, session_id: str) -> dict[str, Any] | None:
        rows = await self.connection.execute_fetchall(FETCH, (session_id, time.time()))
        return JsonEncoder.loads(rows[0][0]) if rows else None  # type: ignore[index]

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        now = time.time()
        cursor = await self.connection.execute(REPLACE, (JsonEncoder.dumps(data), now, None, session_id, now))
        if cursor.rowcount != 1:
            raise JamSessionNotFound("no such session")

    async def aclose(self) -> None:
        await self.connection.close()


Store = Any  # SqliteSessions or RawAiosqlite: the same four calls


async def cycle(store: Store, key: str, iterations: int) -> int:
    """A request's worth of work, ``iterations`` times: log in, read, change, read."""
    for _ in range(iterations):
        session_id = await store.create(key, SAMPLE)
        await store.get(session_id)
        await store.update(session_id, {**SAMPLE, "seen": True})
        await store.get(session_id)
    return 4 * iterations


async def sequential(store: Store, operations: int) -> int:
    """``operations`` operations, one after another; returns how many were done."""
    return await cycle(store, "alice", max(1, operations // 4))


async def concurrent(store: Store, operations: int, coroutines: int) -> int:
    """``operations`` operations spread over ``coroutines`` running at once."""
    per_coroutine = max(1, operations // (4 * coroutines))
    done = await asyncio.gather(*(cycle(store, f"user{i}", per_coroutine) for i in range(coroutines)))
    return sum(done)


async def side_by_side(
    directory: Path, slices: int, run: Callable[[Store], Awaitable[int]], name: str
) -> tuple[float, float, float]:
    """Throughput of jamsession and of raw aiosqlite, and the median of their ratio per slice.

    Both are open at once and take turns in short slices, the side going
    first alternating; each pair of neighbouring slices gives one ratio, and
    the median of those is robust to the bursts of load of a shared machine.
    """
    ours = SqliteSessions(path=directory / f"{name}-jamsession.db")
    raw = await RawAiosqlite.open(
        directory / f"{name}-raw.db", SqliteSessions(path=directory / f"{name}-raw.db")
    )
    elapsed = {"ours": 0.0, "raw": 0.0}
    done = {"ours": 0, "raw": 0}
    ratios = []
    try:
        async with ours:
            await run(ours)  # warm-up: connection, statement cache, file growth
            await run(raw)
            for number in range(slices):
                rate = {}
                for side in ("ours", "raw") if number % 2 == 0 else ("raw", "ours"):
                    start = time.perf_counter()
                    count = await run(ours if side == "ours" else raw)
                    took = time.perf_counter() - start
                    done[side] += count
                    elapsed[side] += took
                    rate[side] = count / took
                ratios.append(rate["ours"] / rate["raw"])
    finally:
        await raw.aclose()
    return done["ours"] / elapsed["ours"], done["raw"] / elapsed["raw"], statistics.median(ratios)


# -- scale: get with many sessions stored ----------------------------------------------


def fill(path: Path, count: int) -> list[str]:
    """Store ``count`` sessions fast (one transaction, in key order); return their IDs."""
    SqliteSessions(path=path)  # creates the file with its schema
    ids = sorted(str(uuid.uuid4()) for _ in range(count))
    now = time.time()
    blob = JsonEncoder.dumps(SAMPLE)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -512000")
        connection.execute("BEGIN")
        # Building the key index once at the end is faster than keeping it up.
        connection.execute("DROP INDEX sessions_by_key")
        connection.executemany(
            INSERT,
            ((sid, f"user{i % 50_000}".encode(), blob, now, now, None) for i, sid in enumerate(ids)),
        )
        connection.execute("CREATE INDEX sessions_by_key ON sessions (session_key)")
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return ids


async def time_gets(store: SqliteSessions, ids: list[str], gets: int) -> float:
    """Seconds per ``get`` of a session picked at random among all stored."""
    chosen = [random.choice(ids) for _ in range(gets)]  # noqa: S311 - sampling, not security
    start = time.perf_counter()
    for session_id in chosen:
        if await store.get(session_id) is None:
            raise AssertionError("a stored session was not found")
    return (time.perf_counter() - start) / gets


async def scale(directory: Path, small: int, large: int, gets: int, rounds: int) -> tuple[float, float]:
    """Median seconds per ``get`` with ``small`` and with ``large`` sessions stored.

    Both stores stay open, as in a server, and take turns; each is warmed up
    first. Every ``get`` picks among all the stored sessions, not a few.
    """
    started = time.perf_counter()
    ids = {small: fill(directory / "small.db", small), large: fill(directory / "large.db", large)}
    print(f"  filled {small:,} and {large:,} sessions in {time.perf_counter() - started:.1f} s")
    timings: dict[int, list[float]] = {small: [], large: []}
    async with (
        SqliteSessions(path=directory / "small.db") as at_small,
        SqliteSessions(path=directory / "large.db") as at_large,
    ):
        stores = {small: at_small, large: at_large}
        for count, store in stores.items():
            await time_gets(store, ids[count], gets)
        for number in range(rounds):
            for count in (small, large) if number % 2 == 0 else (large, small):
                timings[count].append(await time_gets(stores[count], ids[count], gets))
    return statistics.median(timings[small]), statistics.median(timings[large])


# -- report ----------------------------------------------------------------------------


def report(ours: float, raw: float) -> None:
    print(f"  jamsession {ours:9,.0f} ops/s   raw aiosqlite {raw:9,.0f} ops/s   (overall {ours / raw:.2f}x)")


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=40, help="alternating slices per side")
    parser.add_argument("--slice-operations", type=int, default=800, help="operations per sequential slice")
    parser.add_argument("--coroutines", type=int, default=100)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--gets", type=int, default=2000, help="gets timed per scale round")
    parser.add_argument("--rounds", type=int, default=10, help="scale rounds per size (median kept)")
    parser.add_argument("--quick", action="store_true", help="small runs: checks the script, not the speed")
    args = parser.parse_args()
    if args.quick:
        args.slices, args.large, args.gets, args.rounds = 4, 20_000, 500, 2
    sequential_ops = args.slice_operations
    concurrent_ops = 8 * args.coroutines * 4  # eight cycles per coroutine and slice

    results = []
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-") as scratch:
        directory = Path(scratch)

        print(f"sequential: 1 coroutine, {args.slices} slices of {sequential_ops:,} operations per side")
        ours, raw, ratio = await side_by_side(
            directory, args.slices, lambda s: sequential(s, sequential_ops), "sequential"
        )
        report(ours, raw)
        results.append(("sequential, jamsession / raw aiosqlite", ratio, ">=", 1.0))

        print(
            f"concurrent: {args.coroutines} coroutines, {args.slices} slices of "
            f"{concurrent_ops:,} operations per side"
        )
        ours, raw, ratio = await side_by_side(
            directory, args.slices, lambda s: concurrent(s, concurrent_ops, args.coroutines), "concurrent"
        )
        report(ours, raw)
        results.append((f"{args.coroutines} concurrent, jamsession / raw aiosqlite", ratio, ">=", 2.0))

        print(f"scale: get with {args.small:,} and with {args.large:,} sessions stored")
        small, large = await scale(directory, args.small, args.large, args.gets, args.rounds)
        print(f"  get at {args.small:,}: {small * 1e6:6.1f} us   at {args.large:,}: {large * 1e6:6.1f} us")
        results.append((f"get at {args.large:,} / get at {args.small:,}", large / small, "<=", 1.3))

    print()
    met = True
    for name, ratio, direction, target in results:
        ok = ratio >= target if direction == ">=" else ratio <= target
        met = met and ok
        print(f"{name:48} {ratio:5.2f}x  (target {direction} {target})  {'ok' if ok else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
