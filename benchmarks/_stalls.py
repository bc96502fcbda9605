"""Event-loop stalls: the longest the event loop waited, jamsession-sqlite beside raw aiosqlite.

A *ticker* coroutine sleeps 1 ms in a loop and records how late each wake-up
came: the worst lateness is the longest any other task of the application
would have waited. On a machine whose CPUs are all busy that lateness is
mostly the OS scheduler's: a thread that runs code on the event loop can be
preempted for tens of milliseconds. So the ticker also records the CPU time
the event loop's thread spent between two ticks, which is what the code
running there held the loop for; the targets are judged on it, and both are
reported, with the longest pause of Python's garbage collector in the
scenario (a full collection, triggered by whatever allocates, walks every
object of the process). Each scenario runs once with jamsession-sqlite and once
with raw aiosqlite (one statement, one thread hop per operation) on the same
file, and reports both worst stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import multiprocessing
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import jamsession
from benchmarks._fill import fill_sqlite
from benchmarks._measure import BenchmarkError
from benchmarks._raw import RawAiosqlite
from benchmarks._subjects import open_raw_sqlite

#: The ticker's sleep, in seconds.
TICK = 0.001

SCENARIOS = (
    "sequential gets",
    "100-concurrent bursts",
    "tight loops (100 coroutines)",
    "cold file",
    "write lock held by another process",
    "list_sessions of one key",
    "clear of one key",
)

_LIST_KEY = "SELECT id, data, created_at, expires_at FROM sessions WHERE session_key = ?"


@dataclass
class StallResult:
    #: Sessions of the one big key, and stored in all.
    key_sessions: int
    stored: int
    #: Scenario -> subject ("jamsession", "raw aiosqlite") -> worst lateness of the ticker, in seconds.
    worst: dict[str, dict[str, float]] = field(default_factory=dict)
    #: The same, as CPU time of the event loop's thread between two ticks.
    worst_cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    #: The longest garbage collection during the scenario, in seconds.
    worst_gc: dict[str, dict[str, float]] = field(default_factory=dict)

    def record(self, scenario: str, subject: str, worst: tuple[float, float, float]) -> None:
        self.worst.setdefault(scenario, {})[subject] = worst[0]
        self.worst_cpu.setdefault(scenario, {})[subject] = worst[1]
        self.worst_gc.setdefault(scenario, {})[subject] = worst[2]


class _Ticker:
    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_cpu = 0.0
        self.worst_gc = 0.0
        self._gc_started = 0.0
        self._since = self._cpu_since = 0.0
        self._task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.worst_gc = max(self.worst_gc, time.perf_counter() - self._gc_started)

    async def __aenter__(self) -> _Ticker:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        # The tick in progress: the work's last stretch ran in it, and
        # cancelling the ticker would lose it.
        self._observe()
        gc.callbacks.remove(self._on_gc)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            self._since, self._cpu_since = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK)
            self._observe()

    def _observe(self) -> None:
        self.worst = max(self.worst, time.perf_counter() - self._since - TICK)
        self.worst_cpu = max(self.worst_cpu, time.thread_time() - self._cpu_since)


async def _worst(work: Callable[[], Awaitable[Any]]) -> tuple[float, float, float]:
    async with _Ticker() as ticker:
        # Held until the ticker stops: freeing a result is the caller's cost, not the operation's.
        result = await work()
    del result
    return ticker.worst, ticker.worst_cpu, ticker.worst_gc


#: Drops the pages of the files named in its arguments from the OS page cache.
_DROP_PAGES = """
import contextlib, os, sys
for name in sys.argv[1:]:
    with contextlib.suppress(FileNotFoundError), open(name, "rb") as file:
        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
"""


def _evict(path: str) -> None:
    """Drop the file's pages from the OS page cache, as after a restart or under memory pressure.

    Done in a process of its own: closing any descriptor of the file in a
    process cancels every POSIX lock that process holds on it, SQLite's
    included. The next process to close its connection would then find
    itself alone with the file and delete the ``-wal`` and ``-shm`` files
    the store still uses, and the processes would go on writing to two
    different logs (a damaged file: "file is not a database").
    """
    subprocess.run(  # noqa: S603 - this interpreter, running fixed code on files this run made
        [sys.executable, "-c", _DROP_PAGES, path, path + "-wal"], check=True
    )


def _hold_write_lock(path: str, seconds: float, ready: Any) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


class _Subjects:
    """Both subjects on one file: jamsession's operations and raw aiosqlite's, by the same names."""

    def __init__(self, store: Any, raw: RawAiosqlite) -> None:
        self.store, self.raw = store, raw

    def ops(self, name: str) -> dict[str, Callable[..., Awaitable[Any]]]:
        if name == "jamsession":
            store = self.store
            return {
                "get": store.get,
                "update": store.update,
                "list": store.list_sessions,
                "clear": store.clear,
            }
        raw = self.raw
        return {"get": raw.get, "update": raw.update, "list": self._raw_list, "clear": self._raw_clear}

    async def _raw_list(self, key: str) -> list[Any]:
        rows = await self.raw._db.execute_fetchall(_LIST_KEY, (key.encode(),))
        return [orjson.loads(row[1]) for row in rows]

    async def _raw_clear(self, key: str) -> None:
        await self.raw._db.execute("DELETE FROM sessions WHERE session_key = ?", (key.encode(),))


async def run_stalls(
    workdir: Path, *, stored: int, key_sessions: int, gets: int, data: dict[str, Any]
) -> StallResult:
    """Every scenario, jamsession then raw aiosqlite, on one file of ``stored`` sessions."""
    result = StallResult(key_sessions, stored)
    path = str(workdir / "stalls.db")
    blob = orjson.dumps(data)
    jamsession.open("sqlite", path=path)  # creates the file and its schema
    ids = fill_sqlite(path, stored, blob)
    for name in ("jamsession", "raw aiosqlite"):
        fill_sqlite(path, key_sessions, blob, key=f"big-key-{name}")
    store: Any = jamsession.open("sqlite", path=path)
    await store.__aenter__()
    raw = await open_raw_sqlite(path)
    subjects = _Subjects(store, raw)
    rng = random.Random(21)  # noqa: S311 - picks sessions to read, nothing secret
    try:
        for name in ("jamsession", "raw aiosqlite"):
            ops = subjects.ops(name)
            get, update = ops["get"], ops["update"]
            sample = rng.sample(ids, min(gets, len(ids)))

            async def sequential(get: Any = get, sample: list[str] = sample) -> None:
                for session_id in sample:
                    await get(session_id)

            async def bursts(get: Any = get, sample: list[str] = sample) -> None:
                for start in range(0, len(sample), 100):
                    await asyncio.gather(*(get(session_id) for session_id in sample[start : start + 100]))

            async def tight(get: Any = get, update: Any = update, sample: list[str] = sample) -> None:
                async def loop(share: list[str]) -> None:
                    for i, session_id in enumerate(share):
                        await (update(session_id, data) if i % 10 == 0 else get(session_id))

                await asyncio.gather(*(loop(sample[i::100]) for i in range(100)))

            async def cold(get: Any = get, sample: list[str] = sample) -> None:
                for session_id in sample:
                    await get(session_id)

            async def updates(update: Any = update, sample: list[str] = sample) -> None:
                for session_id in sample[:50]:
                    await update(session_id, data)

            result.record("sequential gets", name, await _worst(sequential))
            result.record("100-concurrent bursts", name, await _worst(bursts))
            result.record("tight loops (100 coroutines)", name, await _worst(tight))
            _evict(path)  # outside the measurement: dropping the pages takes the kernel a while
            result.record("cold file", name, await _worst(cold))
            context = multiprocessing.get_context("spawn")
            ready = context.Event()
            holder = context.Process(target=_hold_write_lock, args=(path, 0.3, ready))
            holder.start()
            await asyncio.to_thread(ready.wait)
            result.record("write lock held by another process", name, await _worst(updates))
            await asyncio.to_thread(holder.join)
            key = f"big-key-{name}"
            for scenario, op in (("list_sessions of one key", "list"), ("clear of one key", "clear")):
                whole_key = functools.partial(ops[op], key)
                result.record(scenario, name, await _worst(whole_key))
                if op == "list" and len(await ops["list"](key)) != key_sessions:
                    raise BenchmarkError(f"{name} did not list the {key_sessions} sessions of the key")
    finally:
        await store.aclose()
        await raw.aclose()
    return result
