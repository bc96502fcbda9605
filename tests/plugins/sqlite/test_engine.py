"""Per-session statements on the event loop, whole-key and locked ones queued; failures stay alone."""

import asyncio
import itertools
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import pytest_asyncio

from jamsession import BackendUnavailableError, ConfigError, JamSessionNotFound
from jamsession.testing import FakeClock
from jamsession_sqlite import SqliteSessions, _engine
from jamsession_sqlite._checkpoint import Checkpointer
from jamsession_sqlite._engine import Engine, Returns, Statement


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteSessions]:
    async with SqliteSessions(path=tmp_path / "sessions.db", default_ttl=3600) as store:
        yield store


#: The statements every_operation runs: one per operation (each row holds its data's format, so
#: update and rework check this store can decode the session in the same statement).
STATEMENTS = 7


async def every_operation(store: SqliteSessions) -> None:
    session_id = await store.create("alice", {"n": 1})
    await store.get(session_id)
    await store.update(session_id, {"n": 2})
    session_id = await store.rework(session_id)
    await store.list_sessions("alice")
    await store.delete(session_id)
    await store.clear("alice")


async def test_per_session_operations_run_on_the_event_loop_and_whole_key_ones_on_the_thread(
    store: SqliteSessions,
) -> None:
    hops, inline_runs = store._engine.hops, store._engine.inline_runs
    await every_operation(store)
    # list_sessions and clear may touch any number of rows: never on the event loop.
    assert (2, STATEMENTS - 2) == (store._engine.hops - hops, store._engine.inline_runs - inline_runs)


@pytest.mark.parametrize(
    ("options", "expected_hops"),
    [
        pytest.param({"inline_statements": False}, STATEMENTS, id="everything-on-the-thread"),
        # A commit that waits for the disk stays off the event loop; the read does not.
        pytest.param({"synchronous": "full"}, STATEMENTS - 1, id="writes-on-the-thread"),
    ],
)
async def test_off_the_event_loop_each_sequential_operation_is_one_hop(
    tmp_path: Path, options: dict[str, Any], expected_hops: int
) -> None:
    async with SqliteSessions(path=tmp_path / "s.db", **options) as store:
        hops, inline_runs = store._engine.hops, store._engine.inline_runs
        await every_operation(store)
        assert (expected_hops, STATEMENTS - expected_hops) == (
            store._engine.hops - hops,
            store._engine.inline_runs - inline_runs,
        )


async def test_sliding_expiry_reads_with_no_hop_too(store: SqliteSessions) -> None:
    store.sliding_expiry = True
    session_id = await store.create("alice", {"n": 1})
    hops = store._engine.hops
    assert {"n": 1} == await store.get(session_id)
    assert 0 == store._engine.hops - hops


async def test_inline_writes_of_one_turn_share_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path) as store:
        engine = store._engine
        commits, hops = engine.commits, engine.hops
        count = 2 * _engine.MAX_SHARED
        ids = await asyncio.gather(*(store.create(f"user{i}", {"i": i}) for i in range(count)))
        # Made in one turn: two transactions of MAX_SHARED writes each, on the event loop.
        assert (2, 0) == (engine.commits - commits, engine.hops - hops)
        # Committed when the callers got their IDs: another connection reads every one.
        reader = sqlite3.connect(path)
        try:
            assert count == reader.execute("SELECT count(*) FROM sessions").fetchone()[0]
        finally:
            reader.close()
        commits = engine.commits
        for session_id in ids[:3]:
            await store.delete(session_id)
        # One after the other: a commit each.
        assert 3 == engine.commits - commits


async def test_the_writes_of_a_turn_that_find_the_file_locked_wait_on_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=10) as store:
        kept = await store.create("alice", {"n": 1})
        holder = LockHolder(path, "BEGIN IMMEDIATE", seconds=0.3)
        hops = store._engine.hops
        # Their transaction cannot begin: every write waits for the lock on the thread.
        await asyncio.gather(store.update(kept, {"n": 2}), *(store.create("bob", {"i": i}) for i in range(5)))
        holder.join()
        assert store._engine.hops - hops >= 1
        assert {"n": 2} == await store.get(kept)
        assert 5 == len(await store.list_sessions("bob"))


async def test_queued_writes_go_to_the_thread_together(tmp_path: Path) -> None:
    async with SqliteSessions(path=tmp_path / "s.db", synchronous="full") as store:
        hops = store._engine.hops
        ids = await asyncio.gather(*(store.create(f"user{i}", {"i": i}) for i in range(200)))
        # The creates go to the thread together, in one batch or a few.
        assert 1 <= store._engine.hops - hops <= 4
        found = await asyncio.gather(*(store.get(session_id) for session_id in ids))
        assert [{"i": i} for i in range(200)] == found


async def test_a_failing_statement_fails_only_its_caller(tmp_path: Path) -> None:
    counter = itertools.count()
    # Every third ID repeats the one before: those inserts hit the primary key.
    ids = (f"id-{n - (n % 3 == 2)}" for n in counter)
    async with SqliteSessions(path=tmp_path / "s.db", id_factory=lambda: next(ids)) as store:
        results = await asyncio.gather(
            *(store.create("alice", {"i": i}) for i in range(30)), return_exceptions=True
        )
        failed = [result for result in results if isinstance(result, BaseException)]
        created = [result for result in results if isinstance(result, str)]
        assert 10 == len(failed)
        assert all(isinstance(error, ConfigError) for error in failed)
        assert 20 == len(created) == len(await store.list_sessions("alice"))


async def test_a_lock_held_briefly_by_another_connection_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=10) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        pending = asyncio.gather(*(store.create("alice", {"i": i}) for i in range(20)))
        await asyncio.sleep(0.2)  # the writes are now waiting for the lock
        blocker.execute("COMMIT")
        blocker.close()
        assert 20 == len(set(await pending))
        assert 20 == len(await store.list_sessions("alice"))


async def test_a_lock_held_past_busy_timeout_is_a_typed_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=0.2) as store:
        kept = await store.create("alice", {"kept": True})
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            results = await asyncio.gather(
                store.update(kept, {"kept": False}),
                *(store.create("alice", {"i": i}) for i in range(10)),
                return_exceptions=True,
            )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert all(isinstance(result, BackendUnavailableError) for result in results), results
        assert "busy_timeout" in str(results[0])
        assert "database is locked" not in str(results[0])
        assert [{"kept": True}] == [info.data for info in await store.list_sessions("alice")]


async def test_cancelled_callers_do_not_stall_the_others(store: SqliteSessions) -> None:
    session_id = await store.create("alice", {"n": 0})
    tasks = [asyncio.create_task(store.update(session_id, {"n": i})) for i in range(1, 101)]
    await asyncio.sleep(0)
    for task in tasks[::2]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(result is None for result in results[1::2])
    assert await store.get(session_id) is not None
    # The line is still served: a new burst completes.
    ids = await asyncio.gather(*(store.create("bob", {"i": i}) for i in range(20)))
    assert 20 == len(await store.list_sessions("bob"))
    assert {"i": 0} == await store.get(ids[0])


async def test_concurrent_reworks_of_many_sessions_each_have_one_winner(store: SqliteSessions) -> None:
    ids = [await store.create("alice", {"i": i}) for i in range(20)]
    results = await asyncio.gather(
        *(store.rework(session_id) for session_id in ids for _ in range(5)), return_exceptions=True
    )
    for i, session_id in enumerate(ids):
        attempts = results[5 * i : 5 * i + 5]
        winners = [result for result in attempts if isinstance(result, str)]
        assert 1 == len(winners)
        assert 4 == sum(isinstance(result, JamSessionNotFound) for result in attempts)
        assert {"i": i} == await store.get(winners[0])
        assert await store.get(session_id) is None


async def test_aclose_lets_queued_operations_finish(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SqliteSessions(path=path)
    pending = asyncio.gather(*(store.create("alice", {"i": i}) for i in range(50)))
    await asyncio.sleep(0)
    await store.aclose()
    assert 50 == len(await pending)
    async with SqliteSessions(path=path) as reopened:
        assert 50 == len(await reopened.list_sessions("alice"))


@pytest.mark.parametrize("synchronous", ["normal", "full"])
async def test_many_concurrent_writers_lose_nothing(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, synchronous=synchronous) as store:  # type: ignore[arg-type]

        async def worker(n: int) -> list[str]:
            ids = []
            for i in range(10):
                session_id = await store.create(f"user{n}", {"n": n, "i": i})
                await store.update(session_id, {"n": n, "i": i, "seen": True})
                ids.append(session_id)
            return ids

        everything = await asyncio.gather(*(worker(n) for n in range(50)))
    async with SqliteSessions(path=path) as reopened:
        for n, ids in enumerate(everything):
            assert [{"n": n, "i": i, "seen": True} for i in range(10)] == [
                await reopened.get(session_id) for session_id in ids
            ]


@pytest.mark.parametrize(
    ("inline_statements", "expected_hops"),
    [
        pytest.param(True, 0, id="each-on-the-event-loop"),
        pytest.param(False, 1, id="batched-on-the-thread"),
    ],
)
async def test_concurrent_reads_each_get_their_own_answer(
    tmp_path: Path, inline_statements: bool, expected_hops: int
) -> None:
    clock = FakeClock()
    async with SqliteSessions(
        path=tmp_path / "s.db", default_ttl=10, clock=clock, inline_statements=inline_statements
    ) as store:
        old = await store.create("alice", {"old": True})
        clock.advance(5)
        fresh = await store.create("alice", {"fresh": True})
        clock.advance(6)
        hops = store._engine.hops
        ids = [fresh, old, fresh, "unknown", old, fresh, "unknown", fresh]
        found = await asyncio.gather(*(store.get(session_id) for session_id in ids))
        assert expected_hops == store._engine.hops - hops
        expected = [{"fresh": True} if session_id == fresh else None for session_id in ids]
        assert expected == found


class LockHolder:
    """Another connection holding a lock on the file, given up from a thread of its own after ``seconds``."""

    def __init__(self, path: Path, begin: str, seconds: float) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute(begin)
        self.released = threading.Event()
        self._timer = threading.Timer(seconds, self.release)
        self._timer.start()

    def release(self) -> None:
        if not self.released.is_set():
            self._connection.execute("COMMIT")
            self._connection.close()
            self.released.set()

    def join(self) -> None:
        self._timer.join()


async def turns_while_locked(holder: LockHolder, pending: asyncio.Future[Any]) -> int:
    """Turns the event loop took while ``holder`` held its lock and ``pending`` waited for it.

    Zero if the event loop itself waited for the lock: a statement blocking
    it until the lock is given up leaves no turn to count.
    """
    turns = 0
    while not pending.done():
        turns += not holder.released.is_set()
        await asyncio.sleep(0.01)
    holder.join()
    return turns


async def test_a_lone_write_that_finds_the_file_locked_waits_on_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=10) as store:
        kept = await store.create("alice", {"n": 1})
        hops = store._engine.hops
        holder = LockHolder(path, "BEGIN IMMEDIATE", seconds=0.5)
        pending = asyncio.ensure_future(store.update(kept, {"n": 2}))
        assert 0 < await turns_while_locked(holder, pending)
        await pending
        assert 1 == store._engine.hops - hops
        assert {"n": 2} == await store.get(kept)


async def test_a_lone_write_locked_past_busy_timeout_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, busy_timeout=0.2) as store:
        kept = await store.create("alice", {"n": 1})
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(BackendUnavailableError, match="busy_timeout"):
                await store.update(kept, {"n": 2})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert {"n": 1} == await store.get(kept)


async def test_a_read_that_finds_the_file_locked_waits_on_the_thread(tmp_path: Path) -> None:
    # A WAL file never locks readers out for long, so this runs on a rollback-journal file,
    # where a writer's exclusive lock does.
    path = tmp_path / "plain.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (x)")
    setup.execute("INSERT INTO t VALUES (1)")
    setup.close()

    def connector(timeout: float) -> Callable[[], sqlite3.Connection]:
        return lambda: sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)

    async def connect() -> aiosqlite.Connection:
        return await aiosqlite.connect(path, timeout=10, isolation_level=None)

    commit = Engine(
        connect,
        connector(0),
        lambda exc: BackendUnavailableError(str(exc)),
        Checkpointer(connector(10)),
        inline_writes=True,
    )
    await commit.connect()
    holder = LockHolder(path, "BEGIN EXCLUSIVE", seconds=0.5)
    pending = asyncio.ensure_future(
        commit.run(Statement("SELECT x FROM t", writes=False, returns=Returns.ROWS))
    )
    assert 0 < await turns_while_locked(holder, pending)
    assert [(1,)] == await pending
    assert (1, 0) == (commit.hops, commit.inline_runs)
    await commit.aclose()


async def test_a_slow_attempt_that_waited_for_the_disk_sends_the_next_statements_to_the_thread(
    store: SqliteSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await store.create("alice", {"n": 1})
    waits = itertools.count()
    # Every attempt counts as slow, and the thread's disk-wait count grows on every look.
    monkeypatch.setattr(_engine, "COLD_AFTER", -1.0)
    monkeypatch.setattr(_engine, "_disk_waits", lambda: next(waits))
    hops, inline_runs = store._engine.hops, store._engine.inline_runs
    assert {"n": 1} == await store.get(session_id)  # inline, then found cold
    assert {"n": 1} == await store.get(session_id)  # on the thread while the file warms
    assert (1, 1) == (store._engine.hops - hops, store._engine.inline_runs - inline_runs)


async def test_a_slow_attempt_without_disk_waits_keeps_the_inline_route(
    store: SqliteSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await store.create("alice", {"n": 1})
    # Slow only because the OS ran something else: no page came from the disk.
    monkeypatch.setattr(_engine, "COLD_AFTER", -1.0)
    monkeypatch.setattr(_engine, "_disk_waits", lambda: 0)
    store._engine._disk_waits = 0
    hops, inline_runs = store._engine.hops, store._engine.inline_runs
    for _ in range(3):
        assert {"n": 1} == await store.get(session_id)
    assert (0, 3) == (store._engine.hops - hops, store._engine.inline_runs - inline_runs)


async def engine_on(path: Path, *schema: str, foreign_keys: bool = False) -> Engine:
    """A connected engine, writing inline, over a new WAL file at ``path`` made by ``schema``."""
    setup = sqlite3.connect(path, isolation_level=None)
    try:
        setup.execute("PRAGMA journal_mode = WAL")
        for statement in schema:
            setup.execute(statement)
    finally:
        setup.close()

    def connect_inline() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        if foreign_keys:
            connection.execute("PRAGMA foreign_keys = ON")
        return connection

    async def connect() -> aiosqlite.Connection:
        return await aiosqlite.connect(path, timeout=10, isolation_level=None)

    engine = Engine(
        connect,
        connect_inline,
        lambda exc: BackendUnavailableError(str(exc)),
        Checkpointer(lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False)),
        inline_writes=True,
    )
    await engine.connect()
    return engine


async def test_a_commit_that_fails_fails_every_write_of_its_transaction_and_keeps_none(
    tmp_path: Path,
) -> None:
    # A deferred foreign key is checked at COMMIT: a turn's writes that include one
    # pointing nowhere cannot be committed, whichever statement it was.
    path = tmp_path / "keys.db"
    engine = await engine_on(
        path,
        "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY,"
        " parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO parent VALUES (1)",
        foreign_keys=True,
    )
    insert = Statement("INSERT INTO child VALUES (?, ?)", writes=True, returns=Returns.NOTHING)
    try:
        results = await asyncio.gather(
            engine.run(insert, 1, 1),
            engine.run(insert, 2, 99),
            engine.run(insert, 3, 1),
            return_exceptions=True,
        )
        assert [BackendUnavailableError] * 3 == [type(result) for result in results]
        assert all("FOREIGN KEY" in str(result) for result in results)
        # The next turn's writes are a transaction of their own, and commit.
        assert [None, None] == await asyncio.gather(engine.run(insert, 4, 1), engine.run(insert, 5, 1))
        assert (0, 1) == (engine.hops, engine.commits)
    finally:
        await engine.aclose()
    reader = sqlite3.connect(path)
    try:
        assert [(4,), (5,)] == reader.execute("SELECT id FROM child ORDER BY id").fetchall()
    finally:
        reader.close()


async def test_a_statement_that_rolls_back_the_transaction_fails_what_ran_and_queues_the_rest(
    tmp_path: Path,
) -> None:
    # RAISE(ROLLBACK) in a trigger undoes the whole transaction, not just its statement:
    # the writes that ran before it in the turn are lost, those after it have not run yet.
    path = tmp_path / "rollback.db"
    engine = await engine_on(
        path,
        "CREATE TABLE item (id INTEGER PRIMARY KEY, n INTEGER)",
        "CREATE TRIGGER refuse BEFORE INSERT ON item WHEN NEW.n < 0"
        " BEGIN SELECT RAISE(ROLLBACK, 'negative n'); END",
    )
    insert = Statement("INSERT INTO item VALUES (?, ?)", writes=True, returns=Returns.NOTHING)
    try:
        results = await asyncio.gather(
            engine.run(insert, 1, 1),
            engine.run(insert, 2, -1),
            engine.run(insert, 3, 1),
            engine.run(insert, 4, 1),
            return_exceptions=True,
        )
        assert [BackendUnavailableError, BackendUnavailableError, type(None), type(None)] == [
            type(result) for result in results
        ]
        assert all("negative n" in str(result) for result in results[:2])
        # The two writes that had not run went to the thread, in one batch.
        assert (1, 0) == (engine.hops, engine.commits)
    finally:
        await engine.aclose()
    reader = sqlite3.connect(path)
    try:
        assert [(3,), (4,)] == reader.execute("SELECT id FROM item ORDER BY id").fetchall()
    finally:
        reader.close()
