"""An unreachable or lost server: a typed error within the store's timeout, then recovery.

These tests stop servers, so they run on SecantusDB servers of their own,
on disk, even when the other tests point at a real mongod.
"""

import asyncio
import gc
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jamsession import BackendUnavailableError, JamSessionNotFound
from jamsession_mongodb import MongoSessions

PASSWORD = "pa55word"

# Closing an AsyncMongoClient while its monitor is still connecting to a dead
# server leaks that socket to the garbage collector (a PyMongo issue, not
# ours); the tests collect it themselves, so the warning lands here.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")


async def _close(store: MongoSessions) -> None:
    await store.aclose()
    gc.collect()


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _assert_safe(error: BaseException) -> None:
    assert isinstance(error, BackendUnavailableError)
    assert isinstance(error, ConnectionError)
    for text in (str(error), repr(error), str(error.__cause__), repr(error.__cause__)):
        assert PASSWORD not in text


def _store(kind: str, url: str, make_client: Callable[..., Any], **options: Any) -> MongoSessions:
    if kind == "url":
        return MongoSessions(url=url, **options)
    # The app's own client would wait 30 s to select a server; the store's timeout bounds it.
    return MongoSessions(client=make_client(kind, url, serverSelectionTimeoutMS=30_000), **options)


async def test_every_operation_on_an_unreachable_server_is_a_typed_error() -> None:
    url = f"mongodb://admin:{PASSWORD}@127.0.0.1:{_unused_port()}/"
    operations: list[Callable[[MongoSessions], Awaitable[object]]] = [
        lambda store: store.create("alice", {}),
        lambda store: store.get("some-id"),
        lambda store: store.update("some-id", {}),
        lambda store: store.rework("some-id"),
        lambda store: store.delete("some-id"),
        lambda store: store.clear("alice"),
        lambda store: store.list_sessions("alice"),
        lambda store: store.purge_expired(),
        lambda store: store.ensure_indexes(),
    ]
    store = MongoSessions(url=url, timeout=0.2, create_indexes=False)
    for operation in operations:
        with pytest.raises(BackendUnavailableError) as caught:
            await operation(store)
        _assert_safe(caught.value)
        assert str(caught.value).startswith("MongoDB ")
    await _close(store)


@pytest.mark.parametrize("kind", ["url", "pymongo", "motor"])
async def test_an_unreachable_server_fails_within_the_store_timeout(
    kind: str, make_client: Callable[..., Any]
) -> None:
    url = f"mongodb://admin:{PASSWORD}@127.0.0.1:{_unused_port()}/"
    store = _store(kind, url, make_client, timeout=0.5)
    with pytest.raises(BackendUnavailableError) as caught:
        await store.create("alice", {})
    _assert_safe(caught.value)
    assert "timed out" in str(caught.value)
    await _close(store)


async def test_concurrent_first_operations_share_one_index_attempt_and_name_their_operation() -> None:
    url = f"mongodb://admin:{PASSWORD}@127.0.0.1:{_unused_port()}/"
    store = MongoSessions(url=url, timeout=0.3)
    attempts = 0
    create_indexes = store._create_indexes

    async def counted() -> list[str]:
        nonlocal attempts
        attempts += 1
        return await create_indexes()

    store._create_indexes = counted  # type: ignore[method-assign]
    results = await asyncio.gather(*(store.get(f"id-{i}") for i in range(10)), return_exceptions=True)
    assert 1 == attempts
    for error in results:
        assert isinstance(error, BackendUnavailableError)
        _assert_safe(error)
        assert "MongoDB get (index creation) failed: timed out" == str(error)
    # Once the attempt has failed (its own deadline may end just after the
    # waiters'), it is not reused: the next operation tries again.
    assert store._index_task is not None
    await asyncio.wait([store._index_task])
    with pytest.raises(BackendUnavailableError, match=r"^MongoDB create \(index creation\) failed"):
        await store.create("alice", {})
    assert 2 == attempts
    await _close(store)


@pytest.mark.parametrize("kind", ["url", "pymongo", "motor"])
async def test_a_server_lost_mid_load_gives_typed_errors_then_recovers(
    kind: str, secantus: Any, make_client: Callable[..., Any]
) -> None:
    store = _store(kind, secantus.url, make_client, timeout=0.5, database="outage", collection="sessions")
    acknowledged: dict[str, dict[str, Any]] = {}
    in_doubt: dict[str, dict[str, Any]] = {}  # updates that raised: applied or not
    errors: list[BackendUnavailableError] = []
    done = asyncio.Event()

    async def worker(number: int) -> None:
        step = 0
        while not done.is_set():
            step += 1
            try:
                session_id = await store.create(f"user{number}", {"w": number, "step": step})
                acknowledged[session_id] = {"w": number, "step": step}
                updated = {"w": number, "step": step, "updated": True}
                in_doubt[session_id] = updated
                await store.update(session_id, updated)
                acknowledged[session_id] = in_doubt.pop(session_id)
            except BackendUnavailableError as exc:
                errors.append(exc)
                await asyncio.sleep(0.05)

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():  # noqa: ASYNC110 - polls counters the workers update
            await asyncio.sleep(0.02)

    workers = [asyncio.create_task(worker(number)) for number in range(4)]
    await asyncio.wait_for(until(lambda: len(acknowledged) >= 40), 60)
    await asyncio.to_thread(secantus.stop)
    await asyncio.wait_for(until(lambda: len(errors) >= 4), 60)
    secantus.start()
    recovered_from = len(acknowledged)
    await asyncio.wait_for(until(lambda: len(acknowledged) >= recovered_from + 40), 60)
    done.set()
    await asyncio.gather(*workers)

    for error in errors:
        _assert_safe(error)
    # No acknowledged write was lost, and the same store serves all of them again.
    for session_id, data in acknowledged.items():
        assert await store.get(session_id) in (data, in_doubt.get(session_id))
    with pytest.raises(JamSessionNotFound):
        await store.update("no-such-session", {})
    await _close(store)
