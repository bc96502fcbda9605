"""A real MongoDB-wire server for the MongoDB backend's tests.

By default a SecantusDB server (WiredTiger storage, real unique and TTL
indexes, a single-node replica set) runs in this process on 127.0.0.1 with
an OS-assigned port. ``JAMSESSION_TEST_MONGODB_URL=mongodb://...`` points the
same tests at a real ``mongod`` instead. Every test gets a collection of its
own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient
from secantus import SecantusDBServer  # type: ignore[import-untyped]  # ships no type information

URL_VARIABLE = "JAMSESSION_TEST_MONGODB_URL"
DATABASE = "jamsession_test"
CLIENT_KINDS = ["pymongo", "motor"]


class Secantus:
    """An in-process SecantusDB server that can be stopped and started again on its port and files."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = 0
        self._server: SecantusDBServer | None = None

    def start(self) -> None:
        server = SecantusDBServer(
            host="127.0.0.1", port=self.port, storage_path=str(self.storage), ttl_sweep_seconds=1
        )
        server.start()
        self.port = server.address[1]
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            # Wakes the accept thread, which closing the socket does not on
            # Linux: stop() would otherwise wait 2 s for it to time out.
            listener = self._server._socket
            if listener is not None:
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server every test but the outage tests uses."""
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        yield configured
        return
    server = Secantus(tmp_path_factory.mktemp("secantus"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def secantus(tmp_path: Path) -> Iterator[Secantus]:
    """A server of the test's own, on disk, for tests that stop it."""
    server = Secantus(tmp_path / "secantus")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _new_client(kind: str, url: str, **options: Any) -> Any:
    # Give up quickly when the server is gone; the tests that stop it wait on this.
    options.setdefault("serverSelectionTimeoutMS", 3000)
    # The in-process server runs a thread per connection under this process's
    # GIL: ten connections still race every write, at a fraction of the CPU.
    options.setdefault("maxPoolSize", 10)
    if kind == "motor":
        return AsyncIOMotorClient(url, **options)
    return AsyncMongoClient(url, **options)


async def _close(client: Any) -> None:
    closing = client.close()
    if closing is not None:  # AsyncMongoClient.close is a coroutine, Motor's is not
        await closing


@pytest.fixture
def database() -> str:
    return DATABASE


@pytest.fixture
def collection_name() -> str:
    return f"sessions_{uuid.uuid4().hex}"


@pytest_asyncio.fixture
async def make_client() -> AsyncIterator[Callable[..., Any]]:
    """``make_client(kind, url, **options)``: an app's own client, closed after the test."""
    clients: list[Any] = []

    def make(kind: str, url: str, **options: Any) -> Any:
        clients.append(_new_client(kind, url, **options))
        return clients[-1]

    yield make
    for client in clients:
        await _close(client)
    # Collect what closing left behind now, inside the test, where its
    # warning filters apply (see test_errors.py).
    gc.collect()


async def _app_client(kind: str, url: str, collection_name: str) -> AsyncIterator[Any]:
    client = _new_client(kind, url)
    try:
        yield client
        await client[DATABASE].drop_collection(collection_name)
    finally:
        await _close(client)


@pytest_asyncio.fixture(params=CLIENT_KINDS)
async def client(
    request: pytest.FixtureRequest, mongodb_url: str, collection_name: str
) -> AsyncIterator[Any]:
    """An app's own client, of each kind; drops the test's collection afterwards."""
    async for client in _app_client(request.param, mongodb_url, collection_name):
        yield client


@pytest_asyncio.fixture
async def pymongo_client(mongodb_url: str, collection_name: str) -> AsyncIterator[Any]:
    """An app's own ``AsyncMongoClient``; drops the test's collection afterwards."""
    async for client in _app_client("pymongo", mongodb_url, collection_name):
        yield client
