"""One server that goes away, or hangs: typed errors in bounded time, and recovery on its own."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator

import pytest
from tests.plugins.redis.conftest import Flavour, RedisServer

from jamsession import BackendUnavailableError
from jamsession_redis import RedisSessions

TIMEOUT = 0.5


@pytest.fixture
def own_server(flavour: Flavour, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of this test's own, which it may stop, pause and start again."""
    server = RedisServer(flavour, tmp_path_factory.mktemp(f"{flavour.name}-own"))
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.process.send_signal(signal.SIGCONT)
        server.stop()


@contextlib.contextmanager
def paused(server: RedisServer) -> Iterator[None]:
    """The server hangs (SIGSTOP) inside the block, and goes on after it, however the block ends."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


async def _timed_failure(store: RedisSessions, token: str) -> float:
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as caught:
        await store.get(token)
    assert token not in str(caught.value)
    return time.monotonic() - started


async def test_a_server_that_stops_gives_typed_errors_and_the_store_recovers_when_it_is_back(
    own_server: RedisServer,
) -> None:
    async with RedisSessions(url=own_server.url, timeout=TIMEOUT) as store:
        token = await store.create("alice", {"n": 1})
        own_server.stop()
        assert await _timed_failure(store, token) < TIMEOUT + 1.0
        with pytest.raises(BackendUnavailableError):
            await store.create("alice", {"n": 2})
        await asyncio.to_thread(own_server.start)
        # The restarted server kept nothing (no persistence) and knows none of the scripts.
        assert await store.get(token) is None
        again = await store.create("alice", {"n": 3})
        assert {"n": 3} == await store.get(again)


async def test_a_server_that_hangs_gives_a_typed_error_within_the_timeout(own_server: RedisServer) -> None:
    async with RedisSessions(url=own_server.url, timeout=TIMEOUT) as store:
        token = await store.create("alice", {"n": 1})
        with paused(own_server):
            assert await _timed_failure(store, token) < TIMEOUT + 1.0
        assert {"n": 1} == await store.get(token)


async def test_a_call_the_application_cancels_is_cancelled_not_timed_out(own_server: RedisServer) -> None:
    async with RedisSessions(url=own_server.url, timeout=TIMEOUT) as store:
        token = await store.create("alice", {"n": 1})
        with paused(own_server):
            waiting = asyncio.ensure_future(store.get(token))
            await asyncio.sleep(TIMEOUT / 5)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            # The store's own deadlines go on: the next call still times out in bounded time.
            assert await _timed_failure(store, token) < TIMEOUT + 1.0
        assert {"n": 1} == await store.get(token)


async def test_many_calls_on_a_server_that_hangs_each_time_out_within_the_timeout(
    own_server: RedisServer,
) -> None:
    async with RedisSessions(url=own_server.url, timeout=TIMEOUT) as store:
        token = await store.create("alice", {"n": 1})
        with paused(own_server):
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(store.get(token) for _ in range(20)),
                *(store.create("bob", {}) for _ in range(20)),
                return_exceptions=True,
            )
            took = time.monotonic() - started
        assert [BackendUnavailableError] * 40 == [type(outcome) for outcome in outcomes]
        assert took < TIMEOUT + 1.0
        assert {"n": 1} == await store.get(token)
