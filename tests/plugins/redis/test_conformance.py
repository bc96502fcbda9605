"""The shared contract, for every serializer and crypt setting, on one server and on a cluster."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tests.plugins.redis.conftest import RedisCluster

from jamsession import DuplicateSessionIdError, StoredSession
from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_redis import RedisSessions


class RedisIdsConformance(BackendConformance):
    async def test_an_id_in_use_is_refused_with_one_typed_error_and_loses_nothing(  # type: ignore[override]
        self, store: RedisSessions
    ) -> None:
        # A Redis raw ID ends in the hash tag of its session key, so an ID factory repeating
        # itself cannot reach another key's session: the primitives are given a taken ID directly.
        taken = await store.create("alice", {"owner": "alice"})
        other = await store.create("alice", {"owner": "other"})
        raw_id = store.__decode_session_id_if_needed__(taken)
        now = store.clock()
        with pytest.raises(DuplicateSessionIdError) as inserted:
            await store.insert_record(StoredSession(raw_id, "alice", b"{}", now, None))
        with pytest.raises(DuplicateSessionIdError) as moved:
            await store.move_record(store.__decode_session_id_if_needed__(other), raw_id, now)
        assert [{"owner": "alice"}, {"owner": "other"}] == [await store.get(taken), await store.get(other)]
        assert [False, False] == [raw_id in str(caught.value) for caught in (inserted, moved)]


class TestRedisConformance(RedisIdsConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, redis_url: str, prefix: str
    ) -> AsyncIterator[RedisSessions]:
        variant: StoreVariant = request.param
        async with RedisSessions(url=redis_url, prefix=prefix, **variant.options) as store:
            yield store


class TestRedisClusterConformance(RedisIdsConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, redis_cluster: RedisCluster, prefix: str
    ) -> AsyncIterator[RedisSessions]:
        variant: StoreVariant = request.param
        async with RedisSessions(url=redis_cluster.url, prefix=prefix, **variant.options) as store:
            yield store
