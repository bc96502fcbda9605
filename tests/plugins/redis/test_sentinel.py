"""A store given a ``redis+sentinel://`` URL works on the primary a real Sentinel names."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.plugins.redis.conftest import Flavour, RedisServer

from jamsession import BackendUnavailableError
from jamsession_redis import RedisSessions


@pytest.fixture(scope="module")
def sentinel(
    flavour: Flavour, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    directory: Path = tmp_path_factory.mktemp("sentinel")
    config = directory / "sentinel.conf"
    config.write_text(f"sentinel monitor primary 127.0.0.1 {redis_server.port} 1\n")
    server = RedisServer(flavour, directory, "--sentinel")
    server.config_file = config
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_sessions_through_sentinel(sentinel: RedisServer, prefix: str) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/primary/0"
    async with RedisSessions(url=url, prefix=prefix, default_ttl=60) as store:
        token = await store.create("alice", {"n": 1})
        assert {"n": 1} == await store.get(token)
        await store.clear("alice")
        assert await store.get(token) is None


async def test_a_failover_gives_typed_errors_then_the_store_follows_the_new_primary(
    flavour: Flavour, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> None:
    primary = RedisServer(flavour, tmp_path_factory.mktemp("failover-primary"))
    primary.start()
    replica = RedisServer(
        flavour, tmp_path_factory.mktemp("failover-replica"), "--replicaof", "127.0.0.1", str(primary.port)
    )
    replica.start()
    directory = tmp_path_factory.mktemp("failover-sentinel")
    config = directory / "sentinel.conf"
    config.write_text(
        f"sentinel monitor primary 127.0.0.1 {primary.port} 1\n"
        "sentinel down-after-milliseconds primary 300\n"
        "sentinel failover-timeout primary 2000\n"
    )
    watcher = RedisServer(flavour, directory, "--sentinel")
    watcher.config_file = config
    watcher.start()
    try:
        url = f"redis+sentinel://127.0.0.1:{watcher.port}/primary"
        async with RedisSessions(url=url, prefix=prefix, timeout=0.5) as store:
            token = await store.create("alice", {"n": 1})
            # The replica has what the primary acknowledged before the primary goes.
            await asyncio.to_thread(_until_replicated, primary, replica)
            primary.stop()
            failures = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    after = await store.create("alice", {"n": 2})
                except BackendUnavailableError:
                    failures += 1
                    await asyncio.sleep(0.1)
                else:
                    break
            else:
                pytest.fail("the store did not follow the new primary")
            assert failures > 0
            assert {"n": 2} == await store.get(after)
            assert {"n": 1} == await store.get(token)
            assert b"role:master" in replica.command(b"INFO replication")
    finally:
        watcher.stop()
        replica.stop()
        primary.stop()


def _until_replicated(primary: RedisServer, replica: RedisServer) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        offset = primary.command(b"INFO replication").split(b"master_repl_offset:")[1].split(b"\r\n")[0]
        if b"master_link_status:up" in replica.command(b"INFO replication") and offset in replica.command(
            b"INFO replication"
        ):
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up")
