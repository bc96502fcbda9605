"""A store given a ``redis+sentinel://`` URL works on the primary a real Sentinel names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.plugins.redis.conftest import REDIS_SERVER, RedisServer

from jamsession_redis import RedisSessions


@pytest.fixture(scope="module")
def sentinel(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    directory: Path = tmp_path_factory.mktemp("sentinel")
    config = directory / "sentinel.conf"
    config.write_text(f"sentinel monitor primary 127.0.0.1 {redis_server.port} 1\n")
    assert REDIS_SERVER is not None
    server = RedisServer(directory, "--sentinel")
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
