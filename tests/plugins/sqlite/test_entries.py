"""The SQLite backend's entries beyond the shared suite: concurrent loads and swaps on either route."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from jamsession import StoredSession
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


def rows(path: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT * FROM sessions").fetchall()
    finally:
        connection.close()


def changes(store: SqliteSessions) -> int:
    """Rows inserted, updated or deleted so far by the store's connections, on either route."""
    engine = store._engine
    connections = [engine._inline, engine._connection]
    return sum(connection.total_changes for connection in connections if connection is not None)


@pytest.mark.parametrize("inline_statements", [True, False], ids=["on-the-event-loop", "on-the-thread"])
async def test_a_swap_from_bytes_no_longer_stored_writes_nothing(
    tmp_path: Path, inline_statements: bool
) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, inline_statements=inline_statements) as store:
        await store.insert_record(StoredSession("raw-1", "alice", b"stored", 100.0, None))
        stored, written = rows(path), changes(store)

        assert False is await store.swap_record("raw-1", b"read earlier", b"new", 200.0, 300.0)
        assert written == changes(store)
        assert stored == rows(path)
        assert None is await store.swap_record("raw-2", b"stored", b"new", 200.0, None)
        assert written == changes(store)

        assert True is await store.swap_record("raw-1", b"stored", b"new", 200.0, 300.0)
        assert written + 1 == changes(store)
        assert [("raw-1", b"alice", b"new", 100.0, 200.0, 300.0, store.data_format)] == rows(path)
