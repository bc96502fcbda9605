"""A running MongoDB store finds its indexes gone and makes them again, without being rebuilt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("jamsession_mongodb")
secantus_conftest = pytest.importorskip("tests.plugins.mongodb.conftest")

from pymongo import AsyncMongoClient  # noqa: E402 - after the skips: the backend may be absent

from jamsession import BackendUnavailableError  # noqa: E402
from jamsession_mongodb import MongoSessions  # noqa: E402

DATABASE = "jamsession_reliability"
INDEXES = ["_id_", "jamsession_expires", "jamsession_key", "jamsession_sid"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A test server of this test's own, which the test may stop and wipe."""
    server = secantus_conftest.Secantus(tmp_path / "secantus")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def raw(server: Any) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(server.url, serverSelectionTimeoutMS=3000)
    try:
        yield client[DATABASE]
    finally:
        await client.close()


async def _until_indexes_return(store: MongoSessions, raw: Any, name: str) -> dict[str, Any]:
    """Keep the app using the store, as an app would, until the indexes are back (or give up)."""
    for _ in range(200):
        # The server may still be coming back: a typed error, and the next call tries again.
        with contextlib.suppress(BackendUnavailableError):
            await store.create("alice", {"n": 1})
        indexes: dict[str, Any] = await raw[name].index_information()
        if sorted(indexes) == INDEXES:
            return indexes
        await asyncio.sleep(0.05)
    return await raw[name].index_information()  # type: ignore[no-any-return]


def _check(indexes: dict[str, Any]) -> None:
    assert INDEXES == sorted(indexes)
    assert indexes["jamsession_sid"]["unique"] is True
    assert [("key", 1)] == indexes["jamsession_key"]["key"]
    # The TTL index: sessions expire on the server again.
    assert [("expires", 1)] == indexes["jamsession_expires"]["key"]
    assert 0 == indexes["jamsession_expires"]["expireAfterSeconds"]


async def test_indexes_come_back_after_the_collection_is_dropped_under_a_running_store(
    server: Any, raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"sessions_{uuid.uuid4().hex}"
    async with MongoSessions(
        url=server.url, database=DATABASE, collection=name, default_ttl=1, index_check_interval=0.1
    ) as store:
        await store.create("alice", {"n": 0})
        assert INDEXES == sorted(await raw[name].index_information())
        await raw.drop_collection(name)
        with caplog.at_level(logging.WARNING, logger="jamsession"):
            _check(await _until_indexes_return(store, raw, name))
        messages = [record.getMessage() for record in caplog.records]
        assert any(f"{DATABASE}.{name} has lost the indexes" in message for message in messages), messages
        assert any(f"{DATABASE}.{name}: indexes" in message and "restored" in message for message in messages)
        # And the server removes expired sessions by itself again.
        for _ in range(200):
            if 0 == await raw[name].count_documents({}):
                break
            await asyncio.sleep(0.05)
        assert 0 == await raw[name].count_documents({})


async def test_indexes_come_back_after_the_server_restarts_on_empty_storage(
    server: Any, raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"sessions_{uuid.uuid4().hex}"
    # The periodic check is far off: what brings the indexes back is the reconnect.
    async with MongoSessions(url=server.url, database=DATABASE, collection=name, timeout=3) as store:
        await store.create("alice", {"n": 0})
        server.stop()
        shutil.rmtree(server.storage)
        server.start()
        with caplog.at_level(logging.WARNING, logger="jamsession"):
            _check(await _until_indexes_return(store, raw, name))
        assert any("has lost the indexes" in record.getMessage() for record in caplog.records)
