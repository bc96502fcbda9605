"""Every installed backend, every serializer, crypt off and on, opened on fresh storage.

The checks themselves live in :mod:`jamsession.testing`, so third-party
backends run the same ones; this file only knows how to open each backend
of this repository. Each run writes what it tried and what held to
``build/reliability.json`` (see ``render_figures.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from tests.reliability.support import BACKENDS, QUICK, STRESS, VARIANTS, Figures, Opener, OpenStore, Scale

from jamsession import BaseAsyncSessionModule, load_backend
from jamsession.testing import StoreVariant

try:
    # The MongoDB backend's tests know how to start the test server (or find a real one).
    from tests.plugins.mongodb.conftest import URL_VARIABLE, Secantus
except ImportError:  # pragma: no cover - the MongoDB backend or its test server is not installed
    HAVE_MONGODB_SERVER = False
else:
    HAVE_MONGODB_SERVER = True


@pytest.fixture(
    params=[pytest.param(QUICK, id="quick"), pytest.param(STRESS, id="stress", marks=pytest.mark.slow)]
)
def scale(request: pytest.FixtureRequest) -> Scale:
    return request.param  # type: ignore[no-any-return]


# -- opening each backend ---------------------------------------------------------------

_memory_storages: dict[str, tuple[Any, Any, Any]] = {}


@contextlib.asynccontextmanager
async def _open_memory(storage: str, **options: Any) -> AsyncIterator[BaseAsyncSessionModule]:
    from jamsession_memory import MemorySessions

    async with MemorySessions(**options) as store:
        # A memory store keeps its sessions to itself; sharing its tables is what
        # lets a second store (with other keys, say) see the same sessions.
        tables = (store._records, store._slots, store._by_key, store._cleared)
        shared = _memory_storages.setdefault(storage, tables)
        store._records, store._slots, store._by_key, store._cleared = shared
        yield store


def _sqlite_opener(directory: Path) -> Opener:
    @contextlib.asynccontextmanager
    async def open_sqlite(storage: str, **options: Any) -> AsyncIterator[BaseAsyncSessionModule]:
        backend: Any = load_backend("sqlite")
        async with backend(path=directory / f"{storage}.db", **options) as store:
            yield store

    return open_sqlite


MONGODB_DATABASE = "jamsession_reliability"


def _mongodb_opener(url: str) -> Opener:
    # A few connections, not a hundred: the test server shares this process, and each of its
    # connections costs it a thread; calls beyond them wait their turn in the driver.
    url += ("&" if "?" in url else "?") + "maxPoolSize=8"

    @contextlib.asynccontextmanager
    async def open_mongodb(storage: str, **options: Any) -> AsyncIterator[BaseAsyncSessionModule]:
        backend: Any = load_backend("mongodb")
        # A thousand calls at once queue up for those connections, longer than the default
        # limit on one call; correctness is under test here, not speed.
        async with backend(
            url=url, database=MONGODB_DATABASE, collection=storage, timeout=300, **options
        ) as store:
            yield store

    return open_mongodb


def _mongodb_server(tmp_path: Path) -> Iterator[Opener]:
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        yield _mongodb_opener(configured)
        # Stores of one test may share a collection (key rotation reopens one), so the
        # collections go when the test is over, not when a store closes.
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]]
        with MongoClient(configured) as client:
            client.drop_database(MONGODB_DATABASE)
        return
    # A server of the test's own (it starts in milliseconds): the in-process test server
    # slows down as it ages under heavy load, and one test's load must not weigh on the next.
    server = Secantus(tmp_path / "secantus")
    server.start()
    try:
        yield _mongodb_opener(server.url)
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of an installed backend."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def opener(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores of one installed backend; ``opener(storage, **options)``."""
    name = backend
    if name == "memory":
        yield _open_memory
        _memory_storages.clear()
    elif name == "sqlite":
        yield _sqlite_opener(tmp_path)
    elif name == "mongodb":
        if not HAVE_MONGODB_SERVER:
            pytest.skip("no MongoDB test server: install the test requirements (secantusdb)")
        yield from _mongodb_server(tmp_path)
    else:
        raise AssertionError(f"no opener for shipped backend {name!r}")


@pytest.fixture(params=VARIANTS, ids=lambda variant: variant.id)
def variant(request: pytest.FixtureRequest) -> StoreVariant:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def open_store(opener: Opener, variant: StoreVariant) -> OpenStore:
    """Opens an empty store of this backend and variant, on storage of its own, each time it is called."""

    def open_empty() -> AbstractAsyncContextManager[Any]:
        return opener(f"sessions_{uuid.uuid4().hex}", **variant.options)

    return open_empty


# -- the figures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> Iterator[Figures]:
    """Collects this run's figures; at the end, merges them into ``build/reliability.json``.

    Rows of the checks, backends, variants and scales this run did replace those of earlier
    runs, so ``make test`` and ``make stress`` each refresh their own.
    """
    collected = Figures()
    yield collected
    if not collected.rows:
        return
    path = pytestconfig.rootpath / "build" / "reliability.json"
    path.parent.mkdir(exist_ok=True)
    earlier = json.loads(path.read_text()) if path.exists() else []
    fresh = {Figures.key(row) for row in collected.rows}
    rows = [row for row in earlier if Figures.key(row) not in fresh] + collected.rows
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
