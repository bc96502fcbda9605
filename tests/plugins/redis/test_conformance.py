"""The shared contract, for every serializer and crypt setting, on one server and on a cluster."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tests.plugins.redis.conftest import RedisCluster

from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_redis import RedisSessions


class TestRedisConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, redis_url: str, prefix: str
    ) -> AsyncIterator[RedisSessions]:
        variant: StoreVariant = request.param
        async with RedisSessions(url=redis_url, prefix=prefix, **variant.options) as store:
            yield store


class TestRedisClusterConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, redis_cluster: RedisCluster, prefix: str
    ) -> AsyncIterator[RedisSessions]:
        variant: StoreVariant = request.param
        async with RedisSessions(url=redis_cluster.url, prefix=prefix, **variant.options) as store:
            yield store
