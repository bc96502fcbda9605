"""Stores of other serializers or keys on one Redis: the data format is stored and checked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as redis
from tests.plugins.redis.conftest import RedisCluster

from jamsession import generate_key
from jamsession.testing import check_shared_storage
from jamsession_redis import RedisSessions


def session_name(prefix: str, raw_id: str) -> str:
    return f"{prefix}{{{raw_id[-4:]}}}s:{raw_id}"


def _opener(url: str, prefix: str) -> Callable[..., AbstractAsyncContextManager[RedisSessions]]:
    @contextlib.asynccontextmanager
    async def open_shared(**options: Any) -> AsyncIterator[RedisSessions]:
        async with RedisSessions(url=url, prefix=prefix, **options) as store:
            yield store

    return open_shared


@pytest_asyncio.fixture
async def server(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_update_and_rework_fail_exactly_when_get_finds_nothing(redis_url: str, prefix: str) -> None:
    report = await check_shared_storage(_opener(redis_url, prefix))
    assert [] == report.problems
    assert report.pairs > 50


async def test_on_a_cluster_too_moves_to_keys_in_other_slots_included(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    # Its rework to another key ("mallory") crosses slots: the take-then-put path.
    report = await check_shared_storage(_opener(redis_cluster.url, prefix))
    assert [] == report.problems


async def test_every_write_stores_the_format_of_its_data(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    async with RedisSessions(url=redis_url, prefix=prefix) as plain:
        created = await plain.create("alice", {"n": 1})
    crypt_on = {"is_session_crypt": True, "session_aes_secret": generate_key()}
    async with RedisSessions(url=redis_url, prefix=prefix, **crypt_on) as crypt:
        token = await crypt.create("alice", {"n": 1})
        raw_id = crypt.__decode_session_id_if_needed__(token)
        formats = [await server.hget(session_name(prefix, raw_id), "f")]
        await crypt.patch(token, {"m": 2})
        formats.append(await server.hget(session_name(prefix, raw_id), "f"))
        token = await crypt.rework(token, session_key="bob", data={"x": 1})
        raw_id = crypt.__decode_session_id_if_needed__(token)
        formats.append(await server.hget(session_name(prefix, raw_id), "f"))
    assert [crypt.data_format.encode()] * 3 == formats
    assert plain.data_format.encode() == await server.hget(session_name(prefix, created), "f")
    assert plain.data_format != crypt.data_format


async def test_a_session_stored_before_formats_were_is_still_read_and_patched(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    async with RedisSessions(url=redis_url, prefix=prefix) as store:
        token = await store.create("alice", {"n": 1})
        await server.hdel(session_name(prefix, token), "f")
        entry = await store.load(token)
        assert entry is not None
        assert {"n": 1} == entry.data
        assert {"n": 1, "m": 2} == (await store.patch(token, {"m": 2}, expected=entry)).data
        assert store.data_format.encode() == await server.hget(session_name(prefix, token), "f")
        await server.hdel(session_name(prefix, token), "f")
        assert 1 == len(await store.list_sessions("alice"))
        moved = await store.rework(token, session_key="bob")
        assert {"n": 1, "m": 2} == await store.get(moved)


@pytest.mark.parametrize("via", ["get", "load", "list_sessions"])
async def test_a_session_in_a_format_the_store_cannot_read_is_not_there(
    redis_url: str, prefix: str, server: redis.Redis, via: str
) -> None:
    async with RedisSessions(url=redis_url, prefix=prefix) as store:
        token = await store.create("alice", {"n": 1})
        # As a store of another serializer would have tagged it (the bytes are still readable JSON).
        await server.hset(session_name(prefix, token), "f", "other.Serializer")
        if via == "list_sessions":
            assert [] == await store.list_sessions("alice")
        else:
            assert await getattr(store, via)(token) is None
