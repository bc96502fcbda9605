from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_mongodb import MongoSessions


class TestMongoConformance(BackendConformance):
    """The shared contract, for every serializer and crypt setting, on both client kinds."""

    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, client: Any, database: str, collection_name: str
    ) -> AsyncIterator[MongoSessions]:
        variant: StoreVariant = request.param
        async with MongoSessions(
            client=client, database=database, collection=collection_name, **variant.options
        ) as store:
            yield store
