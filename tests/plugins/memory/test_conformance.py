from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_memory import MemorySessions


class TestMemoryConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(self, request: pytest.FixtureRequest) -> AsyncIterator[MemorySessions]:
        variant: StoreVariant = request.param
        async with MemorySessions(**variant.options) as store:
            yield store
