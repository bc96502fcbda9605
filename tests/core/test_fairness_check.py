"""check_event_loop_fairness finds a store that never lets the event loop turn."""

import asyncio

from jamsession.testing import FakeClock, Ticker, check_event_loop_fairness
from jamsession_memory import MemorySessions


class NeverSuspends(MemorySessions):
    """The memory store, but clearing a key all at once, as it once did."""

    async def remove_key_records(self, session_key: str) -> None:
        for raw_id in list(self._by_key.get(session_key, ())):
            self._drop(raw_id)


async def test_a_store_that_never_suspends_is_reported() -> None:
    # The memory store does no I/O: its operations complete without suspending.
    async with NeverSuspends(default_ttl=60, clock=FakeClock()) as store:
        report = await check_event_loop_fairness(store, operations=3, concurrency=3, sessions_per_key=2000)
    assert "create completed without letting the event loop run another task" in report.problems
    assert any(problem.startswith("clear over one key's 2000 sessions") for problem in report.problems)


async def test_the_ticker_counts_turns_of_the_event_loop() -> None:
    async with Ticker() as ticker:
        before = ticker.ticks
        for _ in range(3):
            await asyncio.sleep(0)
        assert 3 == ticker.ticks - before
