from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from jamsession_redis import RedisSessions

from jamsession.testing import BackendConformance, StoreVariant, store_variants


class TestRedisConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, redis_url: str, prefix: str
    ) -> AsyncIterator[RedisSessions]:
        variant: StoreVariant = request.param
        store = RedisSessions(url=redis_url, prefix=prefix, **variant.options)
        async with store:
            yield store
