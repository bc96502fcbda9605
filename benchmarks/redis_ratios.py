"""The Redis backend's speed ratios, each measured side by side in one run on one server.

1. against raw ``redis.asyncio`` doing the same work in its fewest round trips
   (create: one ``MULTI`` of ``HSET``, ``PEXPIREAT``, ``ZADD``, ``PEXPIREAT``;
   get: one ``HMGET`` and the expiry checked in Python; update: one script that
   writes only if the session is live), one coroutine doing
   create/get/update/get and then 100 coroutines at once (target >= 0.9);
2. against the Jam library's Redis sessions on create, get and update, one
   coroutine (target >= 2.0), and the same at 100 coroutines at once (no
   target: what a busy web server sees). Both without expiry: Jam's expiry
   needs ``HEXPIRE``, which Redis before 7.4 lacks;
3. the floor under a sequential call: the time of one bare round trip of
   redis-py (one ``HGET`` sent on a connection held open, redis-py's least
   work per command; and through ``execute_command``, which Jam's calls use),
   beside Jam's and jamsession's ``get`` and ``create``. Jam's create is one
   ``HSET`` and its get one ``HGET``: one round trip each, as ours, so twice
   its speed needs a call that takes half of Jam's, round trip included.

A ``redis-server`` from the PATH is started on 127.0.0.1 on a free port,
without persistence. The sides take turns in short slices, and each ratio is
the median over neighbouring pairs of slices, so bursts of load from other
programs hurt both alike. The results are printed and written to
``redis.json`` and ``redis.md`` in ``--output`` (``benchmarks/results``).

    python -m benchmarks.redis_ratios            # a few minutes
    python -m benchmarks.redis_ratios --quick    # seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
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


async def concurrent_operation(
    store: Store, name: str, operations: int, ids: list[str], coroutines: int = 100
) -> int:
    """About ``operations`` calls of ``create``, ``get`` or ``update``, ``coroutines`` at a time."""
    per_coroutine = max(1, operations // coroutines)

    async def calls(worker: int) -> None:
        for number in range(per_coroutine):
            if name == "create":
                ids.append(await store.create(f"user{worker}", SAMPLE))
            elif name == "get":
                await store.get(ids[(worker * per_coroutine + number) % len(ids)])
            else:
                await store.update(ids[(worker * per_coroutine + number) % len(ids)], {**SAMPLE, "n": number})

    await asyncio.gather(*(calls(worker) for worker in range(coroutines)))
    return per_coroutine * coroutines


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


Row = dict[str, Any]


def _row(what: str, measured: tuple[float, float, float], target: float | None) -> Row:
    ours, theirs, ratio = measured
    return {"what": what, "ours_per_s": ours, "theirs_per_s": theirs, "ratio": ratio, "target": target}


async def measure(url: str, operations: int, slices: int) -> tuple[list[Row], dict[str, float]]:
    """The rows of ratios, and the floor: microseconds per sequential call of each subject."""
    from jamsession_redis import RedisSessions

    rows = []
    client = redis.Redis.from_url(url)
    async with RedisSessions(url=url, prefix="ours:", default_ttl=TTL) as ours:
        raw = RawRedis(client)
        rows.append(
            _row(
                "vs raw redis.asyncio, sequential",
                await side_by_side(ours, raw, slices, lambda store: sequential(store, operations)),
                0.9,
            )
        )
        rows.append(
            _row(
                "vs raw redis.asyncio, 100 concurrent",
                await side_by_side(ours, raw, slices, lambda store: concurrent(store, operations * 4)),
                0.9,
            )
        )
    await client.aclose()
    try:
        from jam.aio.sessions.redis import RedisSessions as JamRedisSessions
    except ImportError:
        print("jamlib is not installed (pip install -r benchmarks/requirements.txt): its ratios are left out")
        return rows, {}
    jam = JamRedisSessions(redis_uri=url, redis_sessions_key="jam", default_ttl=None)
    async with RedisSessions(url=url, prefix="ours-vs-jam:") as ours:
        ids: dict[int, list[str]] = {id(ours): [], id(jam): []}
        # Sequential (the target), then at 100 coroutines at once (no target).
        runs = (("", _one_of, operations, 2.0), (", 100 concurrent", _concurrent_of, operations * 4, None))
        for suffix, runner, count, target in runs:
            for name in ("create", "get", "update"):
                timed = functools.partial(runner, name=name, operations=count, ids=ids)
                measured = await side_by_side(ours, jam, slices, timed)
                rows.append(_row(f"vs Jam's RedisSessions, {name}{suffix}", measured, target))
        floor = await measure_floor(url, ours, jam, ids, calls=max(50, operations // 4), slices=slices)
    await jam.aclose()
    return rows, floor


async def _one_of(store: Store, *, name: str, operations: int, ids: dict[int, list[str]]) -> int:
    return await one_operation(store, name, operations, ids[id(store)])


async def _concurrent_of(store: Store, *, name: str, operations: int, ids: dict[int, list[str]]) -> int:
    return await concurrent_operation(store, name, operations, ids[id(store)])


#: The subjects of the floor, in the order they are shown.
FLOOR = (
    "HGET, the command of Jam's get: bare round trip on a held connection",
    "HGET through execute_command, as Jam sends it",
    "Jam get",
    "HMGET of data, expiry and format, the command of jamsession's get: bare round trip",
    "jamsession fetch_record (the one round trip of its get)",
    "jamsession get",
    "Jam create",
    "jamsession insert_record (the one round trip of its create)",
    "jamsession create",
)


async def measure_floor(
    url: str, ours: Any, jam: Store, ids: dict[int, list[str]], *, calls: int, slices: int
) -> dict[str, float]:
    """Median microseconds per sequential call of each subject of :data:`FLOOR`, taking turns."""
    from jamsession import StoredSession

    # Jam's own kind of client: answers decoded to str, redis-py's default timeouts.
    client = redis.Redis.from_url(url, decode_responses=True)
    await client.hset("floor", "x", json.dumps(SAMPLE))
    # redis-py's least work per command: a connection held open, the command packed once, no
    # socket timeout (jamsession's own client bounds each whole operation instead).
    bare = redis.Redis.from_url(url, socket_timeout=None)
    # redis-py leaves get_connection and execute_command unannotated.
    connection = await bare.connection_pool.get_connection()  # type: ignore[no-untyped-call]
    ours_ids, jam_ids = ids[id(ours)], ids[id(jam)]
    # A session's hash, named as the plugin's README documents (its raw ID ends with its tag).
    hash_name = f"{ours.prefix}{{{ours_ids[0][-4:]}}}s:{ours_ids[0]}"
    jam_command = connection.pack_command("HGET", "floor", "x")
    our_command = connection.pack_command("HMGET", hash_name, "d", "e", "f")
    blob = json.dumps(SAMPLE).encode()  # what the store keeps, crypt off

    def held(packed: list[bytes]) -> Callable[[int], Awaitable[Any]]:
        async def round_trip(number: int) -> None:
            await connection.send_packed_command(packed)
            await connection.read_response()

        return round_trip

    async def through_client(number: int) -> None:
        await client.execute_command("HGET", "floor", "x")  # type: ignore[no-untyped-call]

    async def insert(number: int) -> None:
        now = time.time()
        raw_id = ours.adopt_raw_id(str(uuid.uuid4()), "alice")
        await ours.insert_record(StoredSession(raw_id, "alice", blob, now, None, ours.data_format))

    subjects: dict[str, Callable[[int], Awaitable[Any]]] = dict(
        zip(
            FLOOR,
            (
                held(jam_command),
                through_client,
                lambda number: jam.get(jam_ids[number % len(jam_ids)]),
                held(our_command),
                lambda number: ours.fetch_record(ours_ids[number % len(ours_ids)], time.time(), None),
                lambda number: ours.get(ours_ids[number % len(ours_ids)]),
                lambda number: jam.create("alice", SAMPLE),
                insert,
                lambda number: ours.create("alice", SAMPLE),
            ),
            strict=True,
        )
    )
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for turn in range(slices + 1):
        for name, call in subjects.items():
            start = time.perf_counter()
            for number in range(calls):
                await call(number)
            if turn:  # the first turn warms up
                samples[name].append((time.perf_counter() - start) / calls * 1e6)
    await bare.connection_pool.release(connection)
    await bare.aclose()
    await client.aclose()
    return {name: statistics.median(values) for name, values in samples.items()}


def reach(floor: dict[str, float]) -> list[str]:
    """What twice Jam's speed on a sequential get and create would take, beside what they take."""
    get_budget, create_budget = floor["Jam get"] / 2, floor["Jam create"] / 2
    return [
        f"2x Jam's get needs a get of <= {get_budget:.0f} us. The command jamsession's get sends "
        f"takes {floor[FLOOR[3]]:.0f} us as a bare round trip (Jam's HGET: {floor[FLOOR[0]]:.0f} us): "
        "the expiry by the store's clock and the format check need the three fields. With the "
        f"store's timeout and connection handling it takes {floor[FLOOR[4]]:.0f} us, and the "
        f"whole get {floor[FLOOR[5]]:.0f} us",
        f"2x Jam's create needs a create of <= {create_budget:.0f} us. jamsession's one round "
        f"trip (a script writing the hash, its expiry and the user's index) takes "
        f"{floor[FLOOR[7]]:.0f} us, and the whole create {floor[FLOOR[8]]:.0f} us",
    ]


def report(results: dict[str, Any]) -> str:
    """The results as Markdown: the ratios against their targets, then the floor."""
    lines = [
        "# Redis",
        "",
        f"`python -m benchmarks.redis_ratios{' --quick' if results['mode'] == 'quick' else ''}`, "
        f"{results['date']}, {results['server']} on 127.0.0.1, {results['cpus']} CPUs, "
        f"load average {results['load_before']:.1f} before and {results['load_after']:.1f} after. "
        "Each ratio is jamsession's operations per second over the other's, the median over "
        "neighbouring pairs of slices.",
        "",
        "| Redis backend | jamsession ops/s | other ops/s | ratio | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        target = row["target"]
        verdict = (
            "none" if target is None else f">= {target}x {'met' if row['ratio'] >= target else 'NOT met'}"
        )
        lines.append(
            f"| {row['what']} | {row['ours_per_s']:,.0f} | {row['theirs_per_s']:,.0f} | "
            f"{row['ratio']:.2f}x | {verdict} |"
        )
    floor = results["floor"]
    if floor:
        lines += [
            "",
            "Microseconds per sequential call, each subject in turn, median of the turns:",
            "",
            "| sequential call | us per call |",
            "|---|---:|",
            *(f"| {name} | {floor[name]:.0f} |" for name in FLOOR),
            "",
            *(f"- {line}." for line in reach(floor)),
        ]
    return "\n".join(lines) + "\n"


def _load() -> float:
    return os.getloadavg()[0]


def _server_version() -> str:
    binary = shutil.which("redis-server")
    assert binary is not None  # checked by redis_server()
    found = subprocess.run(  # noqa: S603 - the server binary found on the PATH, fixed arguments
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout
    version = next((word for word in found.split() if word.startswith("v=")), "v=?")
    return f"redis-server {version[2:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_ratios", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small runs, seconds")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results",
        help="where redis.json and redis.md go (default: benchmarks/results)",
    )
    args = parser.parse_args(argv)
    operations, slices = (200, 5) if args.quick else (2000, 15)
    load_before = _load()
    with redis_server() as url:
        rows, floor = asyncio.run(measure(url, operations, slices))
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "server": _server_version(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": _load(),
        "operations_per_slice": operations,
        "slices": slices,
        "rows": rows,
        "floor": floor,
    }
    text = report(results)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "redis.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.output / "redis.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
