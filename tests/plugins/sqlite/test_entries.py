"""The SQLite backend's entries beyond the shared suite: concurrent loads on either route."""

import asyncio
from pathlib import Path

import pytest

from jamsession.testing import FakeClock
from jamsession_sqlite import SqliteSessions


@pytest.mark.parametrize("inline_statements", [True, False], ids=["on-the-event-loop", "on-the-thread"])
async def test_concurrent_loads_each_get_their_own_entry(tmp_path: Path, inline_statements: bool) -> None:
    clock = FakeClock(4_000_000_000.0)
    async with SqliteSessions(
        path=tmp_path / "s.db", default_ttl=10, clock=clock, inline_statements=inline_statements
    ) as store:
        old = await store.create("alice", {"old": True})
        clock.advance(5)
        fresh = await store.create("bob", {"fresh": True})
        other = await store.create("carol", {"other": True})
        clock.advance(6)
        ids = [fresh, old, other, "unknown", old, fresh, "unknown", other, fresh]
        found = await asyncio.gather(*(store.load(session_id) for session_id in ids))
        expected = {
            fresh: ("bob", {"fresh": True}, 4_000_000_005.0, 4_000_000_015.0),
            other: ("carol", {"other": True}, 4_000_000_005.0, 4_000_000_015.0),
        }
        assert [expected.get(session_id) for session_id in ids] == [
            None if entry is None else (entry.session_key, entry.data, entry.created_at, entry.expires_at)
            for entry in found
        ]
