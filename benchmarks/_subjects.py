"""Who is timed in each group: jamsession's variants, the raw driver, and the peers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jamsession
from benchmarks import _peers
from benchmarks._fill import fill_sqlite
from benchmarks._measure import Group, Subject, SubjectFactory
from benchmarks._payloads import PAYLOADS
from benchmarks._raw import LockedDict, RawAiosqlite, RawPyMongo
from benchmarks._settings import Settings

#: One key for the whole run.
AES_KEY = jamsession.generate_key()

BACKENDS = ("memory", "sqlite", "mongodb")
RAW = {"memory": "raw dict+lock", "sqlite": "raw aiosqlite", "mongodb": "raw pymongo"}
STARSESSIONS = "starsessions memory"
LITESTAR = "litestar memory"
MONGO_DATABASE = "jamsession_bench"
#: Connections of the one client every MongoDB subject shares. A pool per
#: subject would put hundreds of connections on a 2-core test server and
#: time its thread scheduling instead of the client libraries.
MONGO_POOL = 10


def label(serializer: str, crypt: bool) -> str:
    """The name of a jamsession variant in results: ``jamsession json``, ``jamsession cbor+crypt``."""
    return f"jamsession {serializer}{'+crypt' if crypt else ''}"


def serializers() -> list[str]:
    """JSON, and CBOR when its plugin is installed."""
    names = ["json"]
    try:
        jamsession.load_serializer("cbor")
    except jamsession.PluginError:
        return names
    return [*names, "cbor"]


@dataclass
class Context:
    """Where this run keeps its files, and the MongoDB server, if any."""

    workdir: Path
    mongodb_url: str | None
    _counter: itertools.count[int]
    _mongo_client: Any = None
    _mongo_collections: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, workdir: Path, mongodb_url: str | None) -> Context:
        return cls(workdir, mongodb_url, itertools.count())

    def mongo_client(self) -> Any:
        """The PyMongo async client all MongoDB subjects share, made on first use (in the event loop)."""
        if self._mongo_client is None:
            from pymongo import AsyncMongoClient

            self._mongo_client = AsyncMongoClient(self.mongodb_url, maxPoolSize=MONGO_POOL)
        return self._mongo_client

    async def drop_collections(self) -> None:
        """Drop the collections made so far, so the server carries no data from group to group."""
        names, self._mongo_collections = self._mongo_collections, []
        if self._mongo_client is not None:
            for name in names:
                await self._mongo_client[MONGO_DATABASE].drop_collection(name)

    async def aclose(self) -> None:
        await self.drop_collections()
        client, self._mongo_client = self._mongo_client, None
        if client is not None:
            await client.close()

    def new_name(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def store_options(self, backend: str) -> dict[str, Any]:
        """Options placing a new store in a file or collection of its own."""
        if backend == "sqlite":
            return {"path": str(self.workdir / f"{self.new_name('sessions-')}.db")}
        if backend == "mongodb":
            return {
                "client": self.mongo_client(),
                "database": MONGO_DATABASE,
                "collection": self.new_name("s"),
            }
        return {}


def jamsession_factory(
    context: Context, backend: str, serializer: str, crypt: bool, stored: Callable[[Any], Any] | None = None
) -> SubjectFactory:
    """A factory of a connected jamsession store; ``stored(store)`` fills it before it connects."""

    async def build() -> Subject:
        options: dict[str, Any] = {"serializer": serializer, "is_session_crypt": crypt}
        if crypt:
            options["session_aes_secret"] = AES_KEY
        store: Any = jamsession.open(backend, **options, **context.store_options(backend))
        if stored is not None:
            await stored(store)
        await store.__aenter__()
        subject: Subject = store
        return subject

    return build


def raw_factory(context: Context, backend: str) -> SubjectFactory:
    async def build() -> Subject:
        if backend == "memory":
            return LockedDict()
        if backend == "sqlite":
            return await open_raw_sqlite(context.store_options("sqlite")["path"])
        options = context.store_options("mongodb")
        return await RawPyMongo.open(options["client"], options["database"], options["collection"])

    return build


async def open_raw_sqlite(path: str) -> RawAiosqlite:
    """aiosqlite on a file made by jamsession-sqlite, with the PRAGMAs the store sets."""
    store: Any = jamsession.open("sqlite", path=path)
    pragmas = {
        "synchronous": store.synchronous.upper(),
        "mmap_size": store.mmap_size,
        "cache_size": -store.cache_size,
    }
    await store.aclose()
    return await RawAiosqlite.open(path, pragmas)


def _peer_factory(peer: type[Any]) -> SubjectFactory:
    async def build() -> Subject:
        subject: Subject = peer()
        return subject

    return build


def lifecycle_groups(settings: Settings, context: Context, backends: list[str]) -> list[Group]:
    """Every backend x payload x concurrency, with all its subjects."""
    groups = []
    variants = [(serializer, crypt) for serializer in serializers() for crypt in (False, True)]
    for backend, payload, concurrency in itertools.product(backends, settings.payloads, settings.concurrency):
        data = PAYLOADS[payload]
        subjects = {
            label(serializer, crypt): jamsession_factory(context, backend, serializer, crypt)
            for serializer, crypt in variants
        }
        subjects[RAW[backend]] = raw_factory(context, backend)
        if backend == "memory":
            if _peers.available("starsessions"):
                subjects[STARSESSIONS] = _peer_factory(_peers.StarsessionsMemory)
            if _peers.available("litestar"):
                subjects[LITESTAR] = _peer_factory(_peers.LitestarMemory)
        groups.append(
            Group(
                backend=backend,
                payload=payload,
                concurrency=concurrency,
                sessions=settings.sessions_for(backend, concurrency),
                chunk=settings.chunk_for(backend, concurrency),
                data=data,
                subjects=subjects,
                repeats=settings.repeats[backend],
            )
        )
    return groups


JAMLIB = "jamlib json-file"
JAMSESSION_SQLITE = label("json", False)
#: At most this many times the Jam library's operations per turn for jamsession-sqlite,
#: whose operations are thousands of times shorter (see :mod:`benchmarks._measure`).
JAMLIB_MULTIPLE = 50


def jamlib_multiple(stored: int, sessions: int) -> int:
    """jamsession-sqlite's multiple of the Jam library's chunk.

    Its extra sessions during a phase stay within 10% of ``stored``.
    """
    return max(1, min(JAMLIB_MULTIPLE, stored // (10 * sessions)))


def jamlib_groups(settings: Settings, context: Context) -> list[Group]:
    """jamsession-sqlite against the Jam library's JSON-file sessions, both holding as many sessions."""
    if not _peers.available("jamlib"):
        return []
    data = PAYLOADS["typical"]
    groups = []
    for stored, sessions in settings.jamlib_sessions.items():

        async def fill(store: Any, stored: int = stored) -> None:
            fill_sqlite(store.path, stored, store.serializer.dumps(data))

        async def open_peer(stored: int = stored) -> Subject:
            path = context.workdir / f"{context.new_name('jamlib-')}.json"
            subject: Subject = await _peers.open_jamlib(path, stored, data)
            return subject

        groups.append(
            Group(
                backend="sqlite vs jamlib",
                payload="typical",
                concurrency=1,
                sessions=sessions,
                chunk=1,
                data=data,
                subjects={
                    JAMSESSION_SQLITE: jamsession_factory(context, "sqlite", "json", False, stored=fill),
                    JAMLIB: open_peer,
                },
                repeats=settings.jamlib_repeats,
                stored=stored,
                multiple={JAMSESSION_SQLITE: jamlib_multiple(stored, sessions)},
            )
        )
    return groups
