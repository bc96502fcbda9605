"""What-if runs: how a missed ratio moves when one known cost is taken away.

``python -m benchmarks.whatif {json-check,id-cache,crypt-call,mongo-timeout}`` times, side by side
with the usual chunked pairing, a store as shipped, the same store with one cost
removed by a subclass or an option, and the baseline the target names:

- ``json-check``: the JSON serializer's check that refuses non-JSON values, against
  bare orjson (memory vs starsessions/Litestar; sqlite vs raw aiosqlite);
- ``id-cache``: the store's token cache, against decrypting the session ID on every
  call (``token_cache_size = 0``) (sqlite, crypt on vs off);
- ``crypt-call``: where a write's crypt cost lies (sqlite, against crypt off): crypt on with
  a stand-in cipher that makes ciphertexts of the same size without AES; crypt off plus one
  AES-GCM encryption of a single byte per serialized write; and, to compare, crypt off plus
  one SHA-256 of a single byte;
- ``mongo-timeout``: the per-operation deadline (``timeout=10``), against ``timeout=None``.

These variants are diagnostics, not proposals to ship as they are.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import jamsession
from benchmarks._measure import OPS, Group, GroupResult, Subject, SubjectFactory, run_group
from benchmarks._mongo_server import mongo_server
from benchmarks._payloads import PAYLOADS
from benchmarks._peers import LitestarMemory, StarsessionsMemory
from benchmarks._raw import RawPyMongo
from benchmarks._results import cost, speedup
from benchmarks._subjects import AES_KEY, open_raw_sqlite
from jamsession._crypto import KeyRing
from jamsession_json import JsonEncoder

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


class NoCipher(KeyRing):
    """Ciphertexts of AES-GCM's size and layout, made without AES: the crypt path minus the cipher."""

    def encrypt(self, plaintext: bytes, purpose: bytes) -> bytes:
        return b"".join((b"\x01", bytes(12), plaintext, bytes(16)))

    def decrypt(self, blob: bytes, purpose: bytes) -> bytes:
        return blob[13:-16]


def _without_cipher(store: Any) -> Any:
    store._keyring = NoCipher(AES_KEY)
    return store


def _calling_first(store: Any, call: Callable[[], object]) -> Any:
    """Make every serialized write of ``store`` (crypt off) make one more call, ``call()``, first."""
    dump = store._dump_data

    def call_and_dump(data: dict[str, Any]) -> bytes:
        call()
        blob: bytes = dump(data)
        return blob

    store._dump_data = call_and_dump
    return store


def _one_byte_aes_gcm() -> Callable[[], object]:
    cipher = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = bytes(12)  # nothing secret is sealed: only the call's cost is wanted
    return lambda: cipher.encrypt(nonce, b"x", None)


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


def _on_next_path(build: Callable[[str], Any], paths: Iterator[str]) -> Any:
    return build(next(paths))


async def _against_crypt_off(workdir: Path, variants: dict[str, Callable[[str], Any]]) -> None:
    """Time SQLite stores with crypt off, crypt on and ``variants`` (each built on a file path)."""
    names = (str(workdir / f"{i}.db") for i in itertools.count())
    builds: dict[str, Callable[[str], Any]] = {
        "crypt off": lambda path: jamsession.open("sqlite", path=path),
        "crypt on": lambda path: jamsession.open("sqlite", path=path, **CRYPT),
        **variants,
    }
    subjects = {
        name: _factory(functools.partial(_on_next_path, build, names)) for name, build in builds.items()
    }
    result = await run_group(_group("sqlite", 1, 200, 10, subjects), lambda _: None)
    _print(result, [(name, "crypt off") for name in builds if name != "crypt off"], how=cost)


async def id_cache(workdir: Path) -> None:
    await _against_crypt_off(
        workdir,
        {
            "crypt on, no token cache": lambda path: _forgetful(
                jamsession.open("sqlite", path=path, **CRYPT)
            ),
        },
    )


async def crypt_call(workdir: Path) -> None:
    await _against_crypt_off(
        workdir,
        {
            "crypt on, no cipher": lambda path: _without_cipher(
                jamsession.open("sqlite", path=path, **CRYPT)
            ),
            "crypt off, one-byte AES-GCM": lambda path: _calling_first(
                jamsession.open("sqlite", path=path), _one_byte_aes_gcm()
            ),
            "crypt off, one-byte SHA-256": lambda path: _calling_first(
                jamsession.open("sqlite", path=path), lambda: hashlib.sha256(b"x").digest()
            ),
        },
    )


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


RUNS = {
    "json-check": json_check,
    "id-cache": id_cache,
    "crypt-call": crypt_call,
    "mongo-timeout": mongo_timeout,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in RUNS:
        raise SystemExit(f"usage: python -m benchmarks.whatif {{{','.join(RUNS)}}}")
    with tempfile.TemporaryDirectory(prefix="jamsession-whatif-") as directory:
        asyncio.run(RUNS[sys.argv[1]](Path(directory)))
