from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_sqlite import SqliteSessions


class TestSqliteConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteSessions]:
        variant: StoreVariant = request.param
        async with SqliteSessions(path=tmp_path / "sessions.db", **variant.options) as store:
            yield store
