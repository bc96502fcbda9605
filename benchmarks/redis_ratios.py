"""Print the Redis backend's speed ratios, each measured side by side in one run on one server.

1. against raw ``redis.asyncio`` doing the same work in its fewest round trips
   (create: one ``MULTI`` of ``HSET``, ``PEXPIREAT``, ``ZADD``, ``PEXPIREAT``;
   get: one ``HMGET`` and the expiry checked in Python; update: one script that
   writes only if the session is live), one coroutine doing
   create/get/update/get and then 100 coroutines at once (target >= 0.9);
2. against the Jam library's Redis sessions on create, get and update
   (target >= 2.0). Both without expiry: Jam's expiry needs ``HEXPIRE``,
   which Redis before 7.4 lacks.

A ``redis-server`` from the PATH is started on 127.0.0.1 on a free port,
without persistence. The sides take turns in short slices, and each ratio is
the median over neighbouring pairs of slices, so bursts of load from other
programs hurt both alike.

    python -m benchmarks.redis_ratios            # about a minute
    python -m benchmarks.redis_ratios --quick    # seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import redis.asyncio as redis

from jamsession import JamSessionNotFound

SAMPLE = {"user_id": 42, "name": "Alice", "roles": ["member"], "csrf": "x" * 32}
TTL = 3600

_UPDATE = """
local expires = redis.call('HGET', KEYS[1], 'e')
if not expires or (expires ~= '' and tonumber(expires) <= tonumber(ARGV[1])) then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
return 1
"""


class RawRedis:
    """What an application would write on redis.asyncio directly, one round trip per call."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.update_script = client.register_script(_UPDATE)

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        session_id = str(uuid.uuid4())
        now = time.time()
        expires_at = now + TTL
        at_ms = math.ceil(expires_at * 1000)
        key = f"raw:s:{session_id}"
        index = f"raw:k:{session_key}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"d": json.dumps(data), "k": session_key, "c": now, "e": expires_at})
            pipe.pexpireat(key, at_ms)
            pipe.zadd(index, {session_id: at_ms})
            pipe.pexpireat(index, at_ms)
            await pipe.execute()
        return session_id

    async def get(self, session_id: str) -> dict[str, Any] | None:
        data, expires = await self.client.hmget(f"raw:s:{session_id}", ["d", "e"])
        if data is None or expires is None or float(expires) <= time.time():
            return None
        loaded: dict[str, Any] = json.loads(data)
        return loaded

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        if not await self.update_script(keys=[f"raw:s:{session_id}"], args=[time.time(), json.dumps(data)]):
            raise JamSessionNotFound("no such session")


Store = Any  # RedisSessions, RawRedis or Jam's RedisSessions: the same calls


async def cycle(store: Store, key: str, iterations: int) -> int:
    """A request's worth of work, ``iterations`` times: log in, read, change, read."""
    for _ in range(iterations):
        session_id = await store.create(key, SAMPLE)
        await store.get(session_id)
        await store.update(session_id, {**SAMPLE, "seen": True})
        await store.get(session_id)
    return 4 * iterations


async def sequential(store: Store, operations: int) -> int:
    return await cycle(store, "alice", max(1, operations // 4))


async def concurrent(store: Store, operations: int, coroutines: int = 100) -> int:
    per_coroutine = max(1, operations // (4 * coroutines))
    done = await asyncio.gather(*(cycle(store, f"user{i}", per_coroutine) for i in range(coroutines)))
    return sum(done)


async def one_operation(store: Store, name: str, operations: int, ids: list[str]) -> int:
    """``operations`` calls of ``create``, ``get`` or ``update`` alone."""
    for number in range(operations):
        if name == "create":
            ids.append(await store.create("alice", SAMPLE))
        elif name == "get":
            await store.get(ids[number % len(ids)])
        else:
            await store.update(ids[number % len(ids)], {**SAMPLE, "n": number})
    return operations


async def side_by_side(
    ours: Store, theirs: Store, slices: int, run: Callable[[Store], Awaitable[int]]
) -> tuple[float, float, float]:
    """Throughputs of both sides and the median of their ratio per pair of neighbouring slices."""
    await run(ours)  # warm-up: connections, script caches
    await run(theirs)
    elapsed = {"ours": 0.0, "theirs": 0.0}
    done = {"ours": 0, "theirs": 0}
    ratios = []
    for number in range(slices):
        rate = {}
        for side in ("ours", "theirs") if number % 2 == 0 else ("theirs", "ours"):
            start = time.perf_counter()
            count = await run(ours if side == "ours" else theirs)
            took = time.perf_counter() - start
            done[side] += count
            elapsed[side] += took
            rate[side] = count / took
        ratios.append(rate["ours"] / rate["theirs"])
    return done["ours"] / elapsed["ours"], done["theirs"] / elapsed["theirs"], statistics.median(ratios)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away ``redis-server`` on 127.0.0.1; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (Debian/Ubuntu: apt-get install -y redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-redis-") as directory:
        process = subprocess.Popen(  # noqa: S603 - the server binary found on the PATH, fixed arguments
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait()


async def measure(url: str, operations: int, slices: int) -> list[tuple[str, float, float, float, float]]:
    """Rows of (what, ours per second, theirs per second, ratio, target)."""
    from jamsession_redis import RedisSessions

    rows = []
    client = redis.Redis.from_url(url)
    async with RedisSessions(url=url, prefix="ours:", default_ttl=TTL) as ours:
        raw = RawRedis(client)
        rows.append(
            (
                "vs raw redis.asyncio, sequential",
                *await side_by_side(ours, raw, slices, lambda store: sequential(store, operations)),
                0.9,
            )
        )
        rows.append(
            (
                "vs raw redis.asyncio, 100 concurrent",
                *await side_by_side(ours, raw, slices, lambda store: concurrent(store, operations * 4)),
                0.9,
            )
        )
    await client.aclose()
    try:
        from jam.aio.sessions.redis import RedisSessions as JamRedisSessions
    except ImportError:
        print("jamlib is not installed (pip install -r benchmarks/requirements.txt): its ratios are left out")
        return rows
    jam = JamRedisSessions(redis_uri=url, redis_sessions_key="jam", default_ttl=None)
    async with RedisSessions(url=url, prefix="ours-vs-jam:") as ours:
        ids: dict[int, list[str]] = {id(ours): [], id(jam): []}
        for name in ("create", "get", "update"):
            rows.append(
                (
                    f"vs Jam's RedisSessions, {name}",
                    *await side_by_side(
                        ours,
                        jam,
                        slices,
                        functools.partial(_one_of, name=name, operations=operations, ids=ids),
                    ),
                    2.0,
                )
            )
    await jam._redis.aclose()
    return rows


async def _one_of(store: Store, *, name: str, operations: int, ids: dict[int, list[str]]) -> int:
    return await one_operation(store, name, operations, ids[id(store)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_ratios", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small runs, seconds")
    args = parser.parse_args(argv)
    operations, slices = (200, 5) if args.quick else (2000, 15)
    with redis_server() as url:
        rows = asyncio.run(measure(url, operations, slices))
    print("| Redis backend | jamsession ops/s | other ops/s | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    for what, ours, theirs, ratio, target in rows:
        verdict = "met" if ratio >= target else "NOT met"
        print(f"| {what} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}x | >= {target}x {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
