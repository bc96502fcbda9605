"""Memory per stored session: every backend, serializer and crypt setting.

``python -m benchmarks.memory_per_session [--sessions N] [--output DIR]`` (also a
section of ``python -m benchmarks``). Each setting runs in a fresh process,
which stores N sessions of the typical payload (about 700 bytes of JSON) under
100 session keys, and reports what one session costs where its backend keeps
it:

- memory: the process's resident memory (``/proc/self/statm``) added per session;
- sqlite: the bytes the database file (with its WAL) grew per session, after the
  store closed;
- mongodb: the bytes of documents and indexes per session, as the server's
  ``collStats`` counts them (``size`` + ``totalIndexSize``), the server running in
  a process of its own;
- redis: the server's ``used_memory`` added per session (hashes, index entries,
  expiries), a ``redis-server`` from the PATH running in a process of its own.

It also reports the stored data's own size (serialized, and encrypted with crypt
on), so the overhead of each backend shows. Results go to ``memory.json`` and
``memory.md`` in the output directory; ``--docs docs/reliability.md`` also puts
the table between that page's ``memory`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks._mongo_server import mongo_server
from benchmarks._payloads import PAYLOADS

BACKENDS = ("memory", "sqlite", "mongodb", "redis")
SERIALIZERS = ("json", "cbor")
#: Sessions per setting, by the size of the run.
SESSIONS = {"full": 20_000, "quick": 5_000, "smoke": 500}
DEFAULT_OUTPUT = Path(__file__).parent / "results"


def _resident() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _files_size(path: Path) -> int:
    return sum(candidate.stat().st_size for candidate in path.parent.glob(path.name + "*"))


async def _measure_one(
    backend: str, serializer: str, crypt: bool, sessions: int, where: str
) -> dict[str, Any]:
    """Store ``sessions`` sessions with one setting; what they cost. Runs in a process of its own."""
    import jamsession

    options: dict[str, Any] = {"serializer": serializer, "is_session_crypt": crypt}
    if crypt:
        options["session_aes_secret"] = jamsession.generate_key()
    if backend == "sqlite":
        options["path"] = Path(where) / f"{uuid.uuid4().hex}.db"
    elif backend == "mongodb":
        options.update(url=where, database="jamsession_bench_memory", collection=f"s_{uuid.uuid4().hex}")
    elif backend == "redis":
        options.update(url=where, prefix=f"bench-{uuid.uuid4().hex}:")
    elif backend == "memory":
        options["max_sessions"] = None
    data = PAYLOADS["typical"]
    store: Any = jamsession.open(backend, **options)
    blob = len(store._dump_data(data))
    result: dict[str, Any] = {
        "backend": backend,
        "serializer": serializer,
        "crypt": crypt,
        "sessions": sessions,
        "stored_data_bytes": blob,
    }
    async with store:
        # Imports, connections, file and collection made before counting.
        await store.delete(await store.create("warm-up", data))
        gc.collect()
        before = _resident()
        server_before = (await store._client.info("memory"))["used_memory"] if backend == "redis" else 0
        for n in range(sessions):
            await store.create(f"user-{n % 100}", data)
        gc.collect()
        result["resident_bytes_per_session"] = round((_resident() - before) / sessions)
        if backend == "redis":
            server_after = (await store._client.info("memory"))["used_memory"]
            result["stored_bytes_per_session"] = round((server_after - server_before) / sessions)
            await store._client.flushdb()
        if backend == "mongodb":
            stats = await store.collection.database.command("collStats", store.collection.name)
            result["stored_bytes_per_session"] = round((stats["size"] + stats["totalIndexSize"]) / sessions)
            await store.collection.drop()
    if backend == "sqlite":
        result["stored_bytes_per_session"] = round(_files_size(options["path"]) / sessions)
    elif backend == "memory":
        result["stored_bytes_per_session"] = result["resident_bytes_per_session"]
    return result


def _run_one(backend: str, serializer: str, crypt: bool, sessions: int, where: str) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - this interpreter, running this module
        [
            *(sys.executable, "-m", "benchmarks.memory_per_session"),
            *("--one", backend, serializer, str(int(crypt))),
            *("--sessions", str(sessions), "--where", where),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


@contextlib.contextmanager
def _mongodb(workdir: Path, skipped: list[str]) -> Iterator[str | None]:
    configured = os.environ.get("JAMSESSION_BENCH_MONGODB_URL")
    if configured:
        yield configured
    elif (
        importlib.util.find_spec("secantus") is None or importlib.util.find_spec("jamsession_mongodb") is None
    ):
        skipped.append("mongodb: no server or no jamsession-mongodb")
        yield None
    else:
        with mongo_server(workdir / "mongodb") as url:
            yield url


@contextlib.contextmanager
def _redis(skipped: list[str]) -> Iterator[str | None]:
    if shutil.which("redis-server") is None or importlib.util.find_spec("jamsession_redis") is None:
        skipped.append("redis: no redis-server on the PATH or no jamsession-redis")
        yield None
    else:
        from benchmarks.redis_ratios import redis_server

        with redis_server() as url:
            yield url


def measure_all(sessions: int, backends: Sequence[str] = BACKENDS) -> dict[str, Any]:
    """Every backend, serializer and crypt setting, each in a fresh process."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-memory-") as workdir:
        mongodb = _mongodb(Path(workdir), skipped) if "mongodb" in backends else contextlib.nullcontext(None)
        redis = _redis(skipped) if "redis" in backends else contextlib.nullcontext(None)
        with mongodb as url, redis as redis_url:
            for backend in backends:
                where = {"sqlite": workdir, "mongodb": url, "redis": redis_url}.get(backend) or ""
                if backend in {"mongodb", "redis"} and not where:
                    continue
                for serializer in SERIALIZERS:
                    for crypt in (False, True):
                        rows.append(_run_one(backend, serializer, crypt, sessions, where))
    return {"sessions": sessions, "payload": "typical", "rows": rows, "skipped": skipped}


def render(results: dict[str, Any]) -> str:
    lines = [
        f"{results['sessions']:,} sessions of the typical payload per setting, each in a fresh process.",
        "",
        "| backend | serializer | crypt | stored data (bytes) | per session where it is kept (bytes) "
        "| process resident memory per session (bytes) |",
        "|---|---|---|---|---|---|",
    ]
    where = {"memory": "resident", "sqlite": "file", "mongodb": "collStats", "redis": "used_memory"}
    for row in results["rows"]:
        lines.append(
            f"| {row['backend']} | {row['serializer']} | {'on' if row['crypt'] else 'off'} "
            f"| {row['stored_data_bytes']:,} | {row['stored_bytes_per_session']:,} ({where[row['backend']]}) "
            f"| {row['resident_bytes_per_session']:,} |"
        )
    lines.extend(f"\nSkipped: {reason}" for reason in results["skipped"])
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], output: Path) -> str:
    output.mkdir(parents=True, exist_ok=True)
    (output / "memory.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = render(results)
    (output / "memory.md").write_text("# Memory per stored session\n\n" + text, encoding="utf-8")
    return text


def write_docs(table: str, page: Path) -> None:
    """Put ``table`` between the ``memory`` markers of ``page``."""
    start, end = "<!-- memory:start -->", "<!-- memory:end -->"
    text = page.read_text(encoding="utf-8")
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    page.write_text(f"{before}{start}\n{table}{end}{after}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_per_session", description=__doc__)
    parser.add_argument("--sessions", type=int, default=SESSIONS["full"])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}"
    )
    parser.add_argument("--docs", type=Path, help="a page whose memory markers get the table")
    parser.add_argument("--one", nargs=3, metavar=("BACKEND", "SERIALIZER", "CRYPT"), help=argparse.SUPPRESS)
    parser.add_argument("--where", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        backend, serializer, crypt = args.one
        print(
            json.dumps(
                asyncio.run(_measure_one(backend, serializer, crypt == "1", args.sessions, args.where))
            )
        )
        return 0
    backends = [name for name in BACKENDS if name in args.backends.split(",")]
    text = write(measure_all(args.sessions, backends), args.output)
    if args.docs is not None:
        write_docs(text, args.docs)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
