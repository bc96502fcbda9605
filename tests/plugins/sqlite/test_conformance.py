from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from jamsession.testing import BackendConformance, StoreVariant, store_variants
from jamsession_sqlite import SqliteSessions


class TestSqliteConformance(BackendConformance):
    """Lone statements on the event loop, concurrent ones batched on aiosqlite's thread (the default)."""

    routing: ClassVar[dict[str, Any]] = {}

    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteSessions]:
        variant: StoreVariant = request.param
        options = {**variant.options, **self.routing}
        async with SqliteSessions(path=tmp_path / "sessions.db", **options) as store:
            yield store


class TestSqliteConformanceOnTheThread(TestSqliteConformance):
    """Every statement on aiosqlite's thread: alone in one hop, or batched."""

    routing: ClassVar[dict[str, Any]] = {"inline_statements": False}


class TestSqliteConformanceWithWritesOnTheThread(TestSqliteConformance):
    """Reads on the event loop, writes on aiosqlite's thread, as with a commit that waits for the disk."""

    routing: ClassVar[dict[str, Any]] = {"synchronous": "full"}
