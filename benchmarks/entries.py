"""What a web layer's calls cost next to the seed's: ``load`` against ``get``, ``patch`` against ``update``.

For the memory and SQLite backends, crypt off and on, over 10,000 stored
sessions: ``load`` (the data with its metadata) against ``get`` of the same
sessions, and ``patch`` of one key from the entry ``load`` gave against
``update`` with the whole data, which is what a web layer writes instead of
a patch when it does not care about concurrent requests. The two sides take
turns in short slices and each ratio is the median over neighbouring pairs
of slices, so bursts of load from other programs hurt both alike.

    python -m benchmarks.entries            # a minute or two
    python -m benchmarks.entries --quick    # seconds
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jamsession import RecordSessionModule, generate_key
from jamsession_memory import MemorySessions
from jamsession_sqlite import SqliteSessions

SAMPLE = {"user_id": 42, "name": "Alice", "roles": ["member"], "csrf": "x" * 32, "cart": [1, 2, 3]}

Pass = Callable[[list[str]], Awaitable[None]]


async def side_by_side(ours: Pass, theirs: Pass, tokens: list[str], slices: int, size: int) -> float:
    """Median over slices of (time of ``theirs``) / (time of ``ours``): above 1, ours is faster."""
    await ours(tokens[:size])  # warm-up
    await theirs(tokens[:size])
    ratios = []
    for number in range(slices):
        chunk = tokens[(number * size) % len(tokens) :][:size]
        took = {}
        order = ((ours, "ours"), (theirs, "theirs"))
        for run, side in order if number % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            await run(chunk)
            took[side] = time.perf_counter() - start
        ratios.append(took["theirs"] / took["ours"])
    return statistics.median(ratios)


async def measure(store: RecordSessionModule, sessions: int, slices: int, size: int) -> dict[str, float]:
    tokens = [await store.create(f"user{i % 1000}", SAMPLE) for i in range(sessions)]

    async def gets(chunk: list[str]) -> None:
        for token in chunk:
            await store.get(token)

    async def loads(chunk: list[str]) -> None:
        for token in chunk:
            await store.load(token)

    async def updates(chunk: list[str]) -> None:
        # A web layer without patch: read, change one key, write the whole data back.
        for token in chunk:
            data = await store.get(token)
            assert data is not None
            data["seen"] = time.time()
            await store.update(token, data)

    async def patches(chunk: list[str]) -> None:
        for token in chunk:
            entry = await store.load(token)
            await store.patch(token, {"seen": time.time()}, expected=entry)

    return {
        "get / load": await side_by_side(loads, gets, tokens, slices, size),
        "get+update / load+patch": await side_by_side(patches, updates, tokens, slices, size),
    }


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.entries", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, seconds")
    quick = parser.parse_args(argv).quick
    sessions, slices, size = (2_000, 6, 200) if quick else (10_000, 30, 500)
    key = generate_key()
    print("time of the seed's calls / time of the web layer's; above 1.00, the web layer's are faster")
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-") as scratch:
        for crypt in (False, True):
            options: dict[str, Any] = {"is_session_crypt": crypt}
            if crypt:
                options["session_aes_secret"] = key
            stores: list[tuple[str, RecordSessionModule]] = [
                ("memory", MemorySessions(default_ttl=3600, **options)),
                ("sqlite", SqliteSessions(path=Path(scratch) / f"{crypt}.db", default_ttl=3600, **options)),
            ]
            for name, store in stores:
                async with store:
                    ratios = await measure(store, sessions, slices, size)
                label = f"{name}, crypt {'on' if crypt else 'off'}"
                print(f"{label:<18}" + "   ".join(f"{what}: {ratio:.2f}" for what, ratio in ratios.items()))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
