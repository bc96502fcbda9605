"""What-if runs: how a missed ratio moves when one known cost is taken away.

``python -m benchmarks.whatif {json-check,id-cache,mongo-timeout}`` times, side by side
with the usual chunked pairing, a store as shipped, the same store with one cost
removed by a subclass or an option, and the baseline the target names:

- ``json-check``: the JSON serializer's check that refuses non-JSON values, against
  bare orjson (memory vs starsessions/Litestar; sqlite vs raw aiosqlite);
- ``id-cache``: the store's token cache, against decrypting the session ID on every
  call (``token_cache_size = 0``) (sqlite, crypt on vs off);
- ``mongo-timeout``: the per-operation deadline (``timeout=10``), against ``timeout=None``.

These variants are diagnostics, not proposals to ship as they are.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import jamsession
from benchmarks._measure import OPS, Group, GroupResult, Subject, SubjectFactory, run_group
from benchmarks._mongo_server import mongo_server
from benchmarks._payloads import PAYLOADS
from benchmarks._peers import LitestarMemory, StarsessionsMemory
from benchmarks._raw import RawPyMongo
from benchmarks._results import cost, speedup
from benchmarks._subjects import AES_KEY, open_raw_sqlite
from jamsession import JsonEncoder

DATA = PAYLOADS["typical"]
CRYPT = {"is_session_crypt": True, "session_aes_secret": AES_KEY}


class OrjsonOnly(JsonEncoder):
    """The JSON serializer without its type-checking walk."""

    @classmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        return orjson.dumps(data)


def _forgetful(store: Any) -> Any:
    """Make ``store`` decrypt every token, as it did before it remembered them."""
    store.token_cache_size = 0
    return store


def _factory(build: Callable[[], Any]) -> SubjectFactory:
    async def factory() -> Subject:
        subject = build()
        if hasattr(subject, "__aenter__"):
            await subject.__aenter__()
        built: Subject = subject
        return built

    return factory


def _group(backend: str, concurrency: int, sessions: int, chunk: int, subjects: dict[str, Any]) -> Group:
    return Group(backend, "typical", concurrency, sessions, chunk, DATA, subjects, repeats=5)


def _print(result: GroupResult, pairs: list[tuple[str, str]], how: Callable[..., Any] = speedup) -> None:
    print(result.group.title)
    for candidate, baseline in pairs:
        ratios = ", ".join(f"{op} {how(result, candidate, baseline, op).median:.2f}" for op in OPS)
        print(f"  {candidate} / {baseline}: {ratios}")


async def json_check(workdir: Path) -> None:
    names = (f"{i}.db" for i in itertools.count())
    memory = _group(
        "memory",
        1,
        1000,
        50,
        {
            "json": _factory(lambda: jamsession.open("memory")),
            "orjson only": _factory(lambda: jamsession.open("memory", serializer=OrjsonOnly)),
            "orjson only, hex ids": _factory(
                lambda: jamsession.open(
                    "memory", serializer=OrjsonOnly, id_factory=lambda: secrets.token_hex(16)
                )
            ),
            "starsessions": _factory(StarsessionsMemory),
            "litestar": _factory(LitestarMemory),
        },
    )
    result = await run_group(memory, lambda _: None)
    variants = ("json", "orjson only", "orjson only, hex ids")
    _print(result, [(v, peer) for v in variants for peer in ("starsessions", "litestar")])

    async def raw() -> Subject:
        return await open_raw_sqlite(str(workdir / next(names)))

    for concurrency, sessions, chunk in ((1, 200, 10), (100, 400, 200)):
        sqlite = _group(
            "sqlite",
            concurrency,
            sessions,
            chunk,
            {
                "json": _factory(lambda: jamsession.open("sqlite", path=str(workdir / next(names)))),
                "orjson only": _factory(
                    lambda: jamsession.open("sqlite", path=str(workdir / next(names)), serializer=OrjsonOnly)
                ),
                "raw": raw,
            },
        )
        _print(await run_group(sqlite, lambda _: None), [("json", "raw"), ("orjson only", "raw")])


async def id_cache(workdir: Path) -> None:
    names = (str(workdir / f"{i}.db") for i in itertools.count())
    group = _group(
        "sqlite",
        1,
        200,
        10,
        {
            "crypt off": _factory(lambda: jamsession.open("sqlite", path=next(names))),
            "crypt on": _factory(lambda: jamsession.open("sqlite", path=next(names), **CRYPT)),
            "crypt on, no token cache": _factory(
                lambda: _forgetful(jamsession.open("sqlite", path=next(names), **CRYPT))
            ),
        },
    )
    result = await run_group(group, lambda _: None)
    _print(result, [("crypt on", "crypt off"), ("crypt on, no token cache", "crypt off")], how=cost)


async def mongo_timeout(workdir: Path) -> None:
    from pymongo import AsyncMongoClient

    with mongo_server(workdir / "mongodb") as url:
        client: Any = AsyncMongoClient(url, maxPoolSize=10)
        names = (f"c{i}" for i in itertools.count())
        try:
            for concurrency, sessions, chunk in ((1, 60, 4), (100, 100, 100)):

                def store(timeout: float | None) -> Any:
                    return jamsession.open(
                        "mongodb", client=client, database="whatif", collection=next(names), timeout=timeout
                    )

                async def raw() -> Subject:
                    return await RawPyMongo.open(client, "whatif", next(names))

                group = _group(
                    "mongodb",
                    concurrency,
                    sessions,
                    chunk,
                    {
                        "timeout=10": _factory(lambda: store(10.0)),
                        "timeout=None": _factory(lambda: store(None)),
                        "raw": raw,
                    },
                )
                _print(
                    await run_group(group, lambda _: None), [("timeout=10", "raw"), ("timeout=None", "raw")]
                )
        finally:
            await client.drop_database("whatif")
            await client.close()


RUNS = {"json-check": json_check, "id-cache": id_cache, "mongo-timeout": mongo_timeout}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in RUNS:
        raise SystemExit(f"usage: python -m benchmarks.whatif {{{','.join(RUNS)}}}")
    with tempfile.TemporaryDirectory(prefix="jamsession-whatif-") as directory:
        asyncio.run(RUNS[sys.argv[1]](Path(directory)))
