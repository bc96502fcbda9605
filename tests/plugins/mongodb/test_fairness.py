"""The event loop keeps turning whatever a caller does with a MongoDB store."""

from typing import Any

from jamsession.testing import FakeClock, check_event_loop_fairness
from jamsession_mongodb import MongoSessions


async def test_operations_and_whole_key_work_let_the_event_loop_run(
    client: Any, database: str, collection_name: str
) -> None:
    clock = FakeClock()
    async with MongoSessions(
        client=client, database=database, collection=collection_name, default_ttl=60, clock=clock
    ) as store:
        report = await check_event_loop_fairness(
            store, operations=10, concurrency=20, sessions_per_key=1000, slice_limit=500
        )
    assert [] == report.problems
    assert [] == report.not_checked
