"""The realistic SQLite run: two processes share one file, each request reads a random session.

Two worker processes (as two workers of a web server) open the same file of
``stored`` sessions. Each request reads a random one of them; one request in
ten then updates it. Reads spread over all sessions give per-process caches
the hit rate a real server sees, not that of re-reading what the process
wrote a moment ago. The subjects take turns, round after round, in rotated
order; each subject's requests per second (both processes together) is the
median over the rounds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jamsession
from benchmarks._fill import fill_sqlite
from benchmarks._measure import rotated
from benchmarks._subjects import open_raw_sqlite

PROCESSES = 2
#: Subjects by name: the store's options, or ``None`` for raw aiosqlite.
SUBJECTS: dict[str, dict[str, Any] | None] = {
    "jamsession": {},
    "jamsession crypt": {"is_session_crypt": True},
    "jamsession, every statement on the thread": {"inline_statements": False},
    "raw aiosqlite": None,
}


@dataclass
class RealisticResult:
    stored: int
    requests: int
    #: Subject -> requests per second of both processes, one per round.
    rates: dict[str, list[float]] = field(default_factory=dict)

    def rate(self, subject: str) -> float:
        return statistics.median(self.rates[subject])


async def _serve(  # noqa: PLR0917 - the worker process's arguments, passed on
    options: dict[str, Any] | None, path: str, tokens: list[str], requests: int, seed: int, start: Any
) -> float:
    data = {"visits": 0}
    store: Any = (
        await open_raw_sqlite(path) if options is None else jamsession.open("sqlite", path=path, **options)
    )
    if options is not None:
        await store.__aenter__()
    try:
        rng = random.Random(seed)  # noqa: S311 - picks sessions to read, nothing secret
        picks = [rng.choice(tokens) for _ in range(requests)]
        await asyncio.to_thread(start.wait)
        started = time.perf_counter()
        for i, token in enumerate(picks):
            found = await store.get(token)
            if found is None:
                raise RuntimeError("a stored session was not found")
            if i % 10 == 0:
                data["visits"] = i
                await store.update(token, data)
        return time.perf_counter() - started
    finally:
        await store.aclose()


def _worker(  # noqa: PLR0917 - multiprocessing passes arguments by position
    options: dict[str, Any] | None,
    path: str,
    tokens: list[str],
    requests: int,
    seed: int,
    start: Any,
    out: Any,
) -> None:
    out.put(asyncio.run(_serve(options, path, tokens, requests, seed, start)))


def _fill(path: str, stored: int, data: dict[str, Any], options: dict[str, Any]) -> list[str]:
    """The file of ``stored`` sessions as the store with ``options`` writes them; their tokens."""
    store: Any = jamsession.open("sqlite", path=path, **options)
    ids = fill_sqlite(path, stored, store._dump_data(data))
    return [store.__encode_session_id_if_needed__(raw_id) for raw_id in ids]


def run_realistic(
    workdir: Path, *, stored: int, requests: int, rounds: int, data: dict[str, Any]
) -> RealisticResult:
    """Every subject, ``rounds`` times, ``requests`` requests per process each time."""
    result = RealisticResult(stored, requests)
    key = jamsession.generate_key()
    files: dict[str, tuple[str, list[str]]] = {}
    plain = str(workdir / "realistic.db")
    files["plain"] = (plain, _fill(plain, stored, data, {}))
    crypt = str(workdir / "realistic-crypt.db")
    files["crypt"] = (
        crypt,
        _fill(crypt, stored, data, {"is_session_crypt": True, "session_aes_secret": key}),
    )
    context = multiprocessing.get_context("spawn")
    for round_ in range(rounds):
        for name in rotated(list(SUBJECTS), round_):
            options = SUBJECTS[name]
            if options is not None and options.get("is_session_crypt"):
                options = {**options, "session_aes_secret": key}
            path, tokens = files["crypt" if options and options.get("is_session_crypt") else "plain"]
            # Both workers open their store, then wait here with this process.
            start, out = context.Barrier(PROCESSES + 1), context.Queue()
            workers = [
                context.Process(
                    target=_worker, args=(options, path, tokens, requests, 1000 * round_ + n, start, out)
                )
                for n in range(PROCESSES)
            ]
            for worker in workers:
                worker.start()
            start.wait()
            elapsed = [out.get(timeout=600) for _ in workers]
            for worker in workers:
                worker.join()
                if worker.exitcode != 0:
                    raise RuntimeError(f"{name}: a worker process failed (exit code {worker.exitcode})")
            result.rates.setdefault(name, []).append(PROCESSES * requests / max(elapsed))
    return result
