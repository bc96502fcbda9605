"""The event loop keeps turning whatever a caller does with an SQLite store."""

import asyncio
import gc
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from jamsession.testing import FakeClock, Ticker, check_event_loop_fairness
from jamsession_sqlite import SqliteSessions


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="default"),
        pytest.param({"inline_statements": False}, id="on-the-thread"),
        pytest.param({"synchronous": "full"}, id="writes-on-the-thread"),
        pytest.param({"is_session_crypt": True, "session_aes_secret": b"k" * 32}, id="crypt"),
    ],
)
async def test_operations_and_whole_key_work_let_the_event_loop_run(
    tmp_path: Path, options: dict[str, object]
) -> None:
    clock = FakeClock()
    async with SqliteSessions(path=tmp_path / "s.db", default_ttl=60, clock=clock, **options) as store:
        report = await check_event_loop_fairness(store)
    assert [] == report.problems
    assert [] == report.not_checked
    assert {"list_sessions", "purge_expired", "clear"} == set(report.whole_key)


async def test_operations_waiting_for_another_process_lock_let_the_event_loop_run(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=10) as store:
        session_id = await store.create("alice", {"n": 0})
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        async with Ticker() as ticker:
            pending = [store.update(session_id, {"n": n}) for n in range(5)]
            waiting = asyncio.gather(*pending)
            before = ticker.ticks
            for _ in range(100):
                await asyncio.sleep(0)
            # The writes wait for the lock on aiosqlite's thread, not here.
            assert 100 <= ticker.ticks - before
            assert not waiting.done()
            blocker.execute("COMMIT")
            blocker.close()
            await waiting
        assert await store.get(session_id) is not None


async def test_listing_a_key_of_many_sessions_runs_no_full_garbage_collection_on_the_event_loop(
    tmp_path: Path,
) -> None:
    sessions = 3000
    async with SqliteSessions(path=tmp_path / "s.db") as store:
        for n in range(sessions):
            await store.create("bot", {"n": n, "roles": ["a", "b"], "cart": [{"qty": n}]})
        loop_thread = threading.current_thread()
        full: list[int] = []

        def watch(phase: str, info: dict[str, Any]) -> None:
            if phase == "start" and info["generation"] == 2 and threading.current_thread() is loop_thread:
                full.append(info["generation"])

        # A process whose old generation the collector counts as nearly empty,
        # on a tight schedule: every few hundred surviving objects would start
        # a full collection, which walks every object of the process.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.collect()
        gc.unfreeze()
        gc.set_threshold(100, 2, 2)
        gc.callbacks.append(watch)
        try:
            listed = await store.list_sessions("bot")
        finally:
            gc.callbacks.remove(watch)
            gc.set_threshold(*thresholds)
        assert sessions == len(listed)
        assert [] == full
        assert gc.isenabled()
