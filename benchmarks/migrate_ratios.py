"""``jamsession migrate``'s speed against the target's own bulk inserts, and its memory as counts grow.

For each target (SQLite, Redis) the same count of sessions is written twice
into a fresh target, side by side in one run:

1. **bulk insert**: the target's own ``insert_record`` of records built in
   memory, in batches of ``scan_batch_size``, ``concurrency`` in flight: the
   fastest the target takes sessions through the storage API;
2. **migrate**: ``jamsession.operations.migrate`` from an SQLite file holding
   them (scan, check, write in the same batches and concurrency), without the
   final verification, which is timed apart (two more passes, read-only).

The ratio is migrate's rate over bulk insert's (target: >= 0.5). Memory: the
peak of Python allocations (tracemalloc) during a migrate of ``n`` and of
``4n`` sessions, SQLite to SQLite; flat means the second is about the first.

    python -m benchmarks.migrate_ratios --count 1000000
    python -m benchmarks.migrate_ratios --quick     # 20,000 sessions
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jamsession
from benchmarks._payloads import PAYLOADS
from benchmarks._raw import SQL_INSERT
from jamsession import RecordSessionModule, StoredSession
from jamsession._scanning import run_bounded
from jamsession.operations import migrate

TARGET_RATIO = 0.5
CONCURRENCY = 64
SIZES = {"smoke": 2_000, "quick": 20_000, "full": 1_000_000}
#: The memory check's smaller count, by size (the larger is four times it).
MEMORY_SIZES = {"smoke": 2_000, "quick": 5_000, "full": 25_000}


def _blob() -> bytes:
    return json.dumps(PAYLOADS["typical"], separators=(",", ":")).encode()


def fill_source(path: Path, count: int) -> None:
    """An SQLite file of ``count`` live sessions, written directly (the fill is not measured)."""
    store = jamsession.open("sqlite", path=path)  # creates the file and its schema
    del store
    now = time.time()
    blob = _blob()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        for start in range(0, count, 10_000):
            rows = [
                (str(uuid.uuid4()), f"user-{n % 50_000}".encode(), blob, now, now, now + 86_400)
                for n in range(start, min(start + 10_000, count))
            ]
            connection.executemany(SQL_INSERT, rows)
            connection.commit()


async def bulk_insert(target: RecordSessionModule, count: int) -> float:
    """Seconds for the target's own inserts of ``count`` records, batched as migrate writes them."""
    blob = _blob()
    batch = target.scan_batch_size
    started = time.perf_counter()
    for start in range(0, count, batch):
        now = time.time()
        records = []
        for n in range(start, min(start + batch, count)):
            key = f"user-{n % 50_000}"
            raw_id = target.adopt_raw_id(str(uuid.uuid4()), key)
            records.append(StoredSession(raw_id, key, blob, now, now + 86_400))
        await run_bounded(target.insert_record, records, CONCURRENCY)
    return time.perf_counter() - started


async def timed_migrate(source: RecordSessionModule, target: RecordSessionModule, count: int) -> float:
    started = time.perf_counter()
    report = await migrate(source, target, verify=False, concurrency=CONCURRENCY)
    took = time.perf_counter() - started
    if report.copied != count:
        raise SystemExit(f"migrate copied {report.copied:,} of {count:,}: the benchmark is void")
    return took


@contextlib.asynccontextmanager
async def fresh_target(kind: str, workdir: Path, redis_url: str | None) -> AsyncIterator[RecordSessionModule]:
    if kind == "sqlite":
        path = workdir / f"target-{uuid.uuid4().hex}.db"
        store = jamsession.open("sqlite", path=path)
    else:
        store = jamsession.open("redis", url=redis_url, prefix=f"bench-{uuid.uuid4().hex}:")
    assert isinstance(store, RecordSessionModule)
    try:
        async with store:
            yield store
    finally:
        if kind == "sqlite":
            _remove_database(path)
        else:
            import redis.asyncio as redis

            # ASYNC: the server frees a million keys in the background, answering at once.
            client = redis.Redis.from_url(str(redis_url), socket_timeout=60)
            await client.flushdb(asynchronous=True)
            await client.aclose()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def measure_target(
    kind: str,
    source: RecordSessionModule,
    count: int,
    *,
    workdir: Path,
    redis_url: str | None,
    rounds: int,
    rerun: bool,
) -> dict[str, Any]:
    insert_rates, migrate_rates, ratios = [], [], []
    rerun_seconds: float | None = None
    for _ in range(rounds):
        async with fresh_target(kind, workdir, redis_url) as target:
            insert_rate = count / await bulk_insert(target, count)
        print(f"{kind}: bulk insert of {count:,}: {insert_rate:,.0f}/s", file=sys.stderr)
        async with fresh_target(kind, workdir, redis_url) as target:
            migrate_rate = count / await timed_migrate(source, target, count)
            if rerun:
                started = time.perf_counter()
                verified = await migrate(source, target, verify=True, concurrency=CONCURRENCY)
                rerun_seconds = time.perf_counter() - started
                if verified.verification is None or not verified.verification.ok:
                    raise SystemExit("the verification failed: the benchmark is void")
        # As it goes, so a long run that fails later still told what it measured.
        print(f"{kind}: migrate of {count:,}: {migrate_rate:,.0f}/s", file=sys.stderr)
        insert_rates.append(insert_rate)
        migrate_rates.append(migrate_rate)
        ratios.append(migrate_rate / insert_rate)
    return {
        "target": kind,
        "sessions": count,
        "bulk_insert_per_s": statistics.median(insert_rates),
        "migrate_per_s": statistics.median(migrate_rates),
        "ratio": statistics.median(ratios),
        "rerun_with_verification_s": rerun_seconds,
    }


async def peak_memory(workdir: Path, count: int) -> int:
    """Peak bytes Python allocated during a migrate of ``count`` sessions, SQLite to SQLite."""
    path = workdir / f"memory-source-{count}.db"
    fill_source(path, count)
    async with (
        jamsession.open("sqlite", path=path) as source,
        fresh_target("sqlite", workdir, None) as target,
    ):
        assert isinstance(source, RecordSessionModule)
        tracemalloc.start()
        try:
            await timed_migrate(source, target, count)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@contextlib.contextmanager
def _redis() -> Iterator[str | None]:
    if shutil.which("redis-server") is None:
        yield None
        return
    from benchmarks.redis_ratios import redis_server

    with redis_server() as url:
        yield url


async def run(
    count: int,
    memory_count: int,
    rounds: int,
    workdir: Path,
    redis_url: str | None,
    *,
    targets: list[str],
    rerun: bool,
) -> dict[str, Any]:
    source_path = workdir / "source.db"
    fill_source(source_path, count)
    rows = []
    async with jamsession.open("sqlite", path=source_path) as source:
        assert isinstance(source, RecordSessionModule)
        for kind in targets:
            if kind == "redis" and redis_url is None:
                continue
            rows.append(
                await measure_target(
                    kind, source, count, workdir=workdir, redis_url=redis_url, rounds=rounds, rerun=rerun
                )
            )
    small = await peak_memory(workdir, memory_count)
    large = await peak_memory(workdir, 4 * memory_count)
    return {
        "rows": rows,
        "memory": {"sessions": [memory_count, 4 * memory_count], "peak_bytes": [small, large]},
        "skipped": [] if redis_url else ["redis: redis-server is not installed"],
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        "| migrate SQLite → | sessions | bulk insert /s | migrate /s | ratio | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        verdict = "met" if row["ratio"] >= TARGET_RATIO else "NOT met"
        lines.append(
            f"| {row['target']} | {row['sessions']:,} | {row['bulk_insert_per_s']:,.0f} | "
            f"{row['migrate_per_s']:,.0f} | {row['ratio']:.2f}x | >= {TARGET_RATIO}x {verdict} |"
        )
    for row in results["rows"]:
        if row["rerun_with_verification_s"] is None:
            continue
        lines.append(
            f"{row['target']}: a second run with verification (all present, both stores counted, "
            f"64 read back): {row['rerun_with_verification_s']:.1f} s"
        )
    memory = results["memory"]
    small, large = memory["peak_bytes"]
    lines.append(
        f"peak Python memory of a migrate: {small / 1024:,.0f} KiB at {memory['sessions'][0]:,} sessions, "
        f"{large / 1024:,.0f} KiB at {memory['sessions'][1]:,} ({large / small:.2f}x for 4x the sessions)"
    )
    lines += [f"skipped: {item}" for item in results["skipped"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.migrate_ratios", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--count", type=int, help="sessions to migrate (default: by --size)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="side-by-side rounds (default 3, 1 at full size)"
    )
    parser.add_argument("--output", type=Path, help="also write the results here as JSON")
    parser.add_argument("--targets", default="sqlite,redis", help="comma-separated, of sqlite, redis")
    parser.add_argument("--no-rerun", action="store_true", help="skip the second, verified run")
    args = parser.parse_args(argv)
    count = args.count or SIZES[args.size]
    # Side by side, alternating; one round at the smoke size (does it run?) and at large counts.
    rounds = args.rounds or (1 if args.size == "smoke" or count >= 200_000 else 3)
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-migrate-") as workdir, _redis() as url:
        targets = [name.strip() for name in args.targets.split(",") if name.strip()]
        results = asyncio.run(
            run(
                count,
                MEMORY_SIZES[args.size],
                rounds,
                Path(workdir),
                url,
                targets=targets,
                rerun=not args.no_rerun,
            )
        )
    print(report(results))
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
