"""What the SQLite backend offers beyond the shared contract: the file, its schema, its options."""

import asyncio
import ctypes
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import jamsession
from jamsession import BackendUnavailableError, ConfigError, generate_key
from jamsession.testing import FakeClock
from jamsession_sqlite import SqliteSessions, _schema, _statements
from jamsession_sqlite._checkpoint import Checkpointer
from jamsession_sqlite._engine import Returns, Statement


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteSessions]:
    async with SqliteSessions(path=tmp_path / "sessions.db") as store:
        yield store


def read(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Query the file through a connection of the test's own."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def wal_exists(path: Path) -> bool:
    return Path(f"{path}-wal").exists()


# -- the file and its schema --------------------------------------------------------------


def test_building_the_store_creates_the_file_with_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SqliteSessions(path=path)
    assert [(_schema.SCHEMA_VERSION,)] == read(path, "PRAGMA user_version")
    assert [(_schema.APPLICATION_ID,)] == read(path, "PRAGMA application_id")
    assert [("wal",)] == read(path, "PRAGMA journal_mode")
    columns = [row[1] for row in read(path, "PRAGMA table_info(sessions)")]
    assert ["id", "session_key", "data", "created_at", "updated_at", "expires_at", "data_format"] == columns
    indexes = {row[1] for row in read(path, "PRAGMA index_list(sessions)")}
    assert {"sessions_by_key", "sessions_by_expiry"} <= indexes


def test_jamsession_open_finds_the_backend_by_name(tmp_path: Path) -> None:
    store = jamsession.open("sqlite", path=str(tmp_path / "s.db"), default_ttl=60)
    assert isinstance(store, SqliteSessions)
    assert 60 == store.default_ttl


async def test_a_second_store_on_the_same_file_sees_the_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    async with SqliteSessions(path=path) as first:
        session_id = await first.create("alice", {"n": 1})
    async with SqliteSessions(path=path) as second:
        assert {"n": 1} == await second.get(session_id)


async def test_a_token_from_before_a_key_rotation_is_due_for_reissue(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    old_key, new_key = jamsession.generate_key(), jamsession.generate_key()
    async with SqliteSessions(path=path, is_session_crypt=True, session_aes_secret=old_key) as before:
        token = await before.create("alice", {"n": 1})
        entry = await before.load(token)
        assert entry is not None
        assert entry.needs_reissue is False
    # A restart with the new key appended, newest last.
    rotated = SqliteSessions(path=path, is_session_crypt=True, session_aes_secret=[old_key, new_key])
    async with rotated:
        entry = await rotated.load(token)
        assert entry is not None
        assert (True, {"n": 1}) == (entry.needs_reissue, entry.data)
        # Passing the data back has it encrypted under the newest key too, in the same step.
        reissued = await rotated.rework(token, data=entry.data)
        entry = await rotated.load(reissued)
        assert entry is not None
        assert (False, {"n": 1}) == (entry.needs_reissue, entry.data)
    # Once the old key is retired, the re-issued token still works; the old one never will.
    async with SqliteSessions(path=path, is_session_crypt=True, session_aes_secret=new_key) as after:
        assert await after.load(token) is None
        assert {"n": 1} == await after.get(reissued)


async def test_a_file_of_an_older_schema_version_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sessions.db"
    async with SqliteSessions(path=path) as store:
        session_id = await store.create("alice", {"n": 1})
    # A later release adds a step and bumps the version.
    later = _schema.SCHEMA_VERSION + 1
    monkeypatch.setitem(_schema.MIGRATIONS, later, ("ALTER TABLE sessions ADD COLUMN user_agent TEXT",))
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", later)
    async with SqliteSessions(path=path) as store:
        assert {"n": 1} == await store.get(session_id)
    assert [(later,)] == read(path, "PRAGMA user_version")
    assert "user_agent" in [row[1] for row in read(path, "PRAGMA table_info(sessions)")]


async def test_a_file_of_schema_version_1_gains_data_formats_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    for statement in _schema.MIGRATIONS[1]:
        connection.execute(statement)
    connection.execute(f"PRAGMA application_id = {_schema.APPLICATION_ID}")
    connection.execute("PRAGMA user_version = 1")
    connection.execute("INSERT INTO sessions VALUES ('old-id', x'616c696365', x'7b226e223a317d', 0, 0, NULL)")
    connection.close()
    async with SqliteSessions(path=path) as store:
        assert [(_schema.SCHEMA_VERSION,)] == read(path, "PRAGMA user_version")
        # A row from before formats were kept is read, updated and reworked as before.
        assert [(None,)] == read(path, "SELECT data_format FROM sessions")
        assert {"n": 1} == await store.get("old-id")
        await store.update("old-id", {"n": 2})
        assert [(store.data_format,)] == read(path, "SELECT data_format FROM sessions")
        moved = await store.rework("old-id")
        assert {"n": 2} == await store.get(moved)
        assert ["alice"] == [info.session_key for info in await store.list_sessions("alice")]


async def test_a_row_in_a_format_the_store_cannot_read_is_absent_and_never_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.db"
    async with SqliteSessions(path=path) as store:
        session_id = await store.create("alice", {"n": 1})
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("UPDATE sessions SET data_format = 'another.Serializer'")
        connection.close()
        stored = read(path, "SELECT * FROM sessions")
        assert await store.get(session_id) is None
        assert await store.load(session_id) is None
        with pytest.raises(jamsession.JamSessionNotFound):
            await store.update(session_id, {"n": 2})
        with pytest.raises(jamsession.JamSessionNotFound):
            await store.rework(session_id)
        assert [] == await store.list_sessions("alice")
        assert stored == read(path, "SELECT * FROM sessions")


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SqliteSessions(path=path)
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {_schema.SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(ConfigError, match="newer jamsession-sqlite"):
        SqliteSessions(path=path)
    assert [(_schema.SCHEMA_VERSION + 1,)] == read(path, "PRAGMA user_version")


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(ConfigError, match="another application"):
        SqliteSessions(path=path)
    assert [("users",)] == read(path, "SELECT name FROM sqlite_schema")


def test_another_applications_database_keeps_its_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(ConfigError, match="another application"):
        SqliteSessions(path=path)
    assert [("delete",)] == read(path, "PRAGMA journal_mode")


# -- bad paths fail when the store is built, typed, with the fix ----------------------------


def test_a_file_that_is_not_sqlite_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the pages you are looking for\n" * 200)
    with pytest.raises(ConfigError, match="not an SQLite database"):
        jamsession.open("sqlite", path=str(path))
    assert path.read_bytes().startswith(b"these are not")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        SqliteSessions(path=tmp_path)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SqliteSessions(path=tmp_path / "nowhere" / "sessions.db")


def test_a_path_with_a_nul_character_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NUL character"):
        SqliteSessions(path=f"{tmp_path}/a\x00b.db")


def test_a_read_only_location_is_refused() -> None:
    # /proc takes no new files, whoever runs the test (root included).
    with pytest.raises(ConfigError, match="cannot open or create"):
        SqliteSessions(path="/proc/sessions.db")


def _without_permission_overrides() -> None:
    """Runs in the child before exec: root keeps its uid but obeys file permissions.

    Dropping the capabilities from the bounding set makes the exec'd
    process start without them, so a mode of 0444 binds root too.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2

_BUILD_AND_REPORT = """
import sys
from jamsession import ConfigError
from jamsession_sqlite import SqliteSessions
try:
    SqliteSessions(path=sys.argv[1])
except ConfigError as exc:
    print("ConfigError:", exc)
else:
    print("built")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops Linux capabilities when root")
def test_a_read_only_file_is_refused_when_the_store_is_built(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SqliteSessions(path=path)  # schema current: opening needs no migration, only a write would fail
    # The directory stays writable, so SQLite can create the -wal and -shm
    # files, and opens the file itself read-only without complaint.
    path.chmod(0o444)
    # In a process of its own, so that root, too, can be refused the write.
    built = subprocess.run(
        [sys.executable, "-c", _BUILD_AND_REPORT, str(path)],
        preexec_fn=_without_permission_overrides if os.geteuid() == 0 else None,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = (
        f"ConfigError: SQLite file {str(path)!r} is read-only for this process: "
        f"give it (and its directory) write permission\n"
    )
    assert expected == built.stdout


@pytest.mark.parametrize("path", [None, "", "   ", ":memory:", "file:sessions.db?mode=memory", 42])
def test_path_must_be_a_file_path(path: object) -> None:
    with pytest.raises(ConfigError, match="path"):
        SqliteSessions(path=path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("synchronous", "sometimes"),
        ("synchronous", 1),
        ("busy_timeout", -1),
        ("busy_timeout", "5"),
        ("busy_timeout", float("nan")),
        ("busy_timeout", float("inf")),
        ("busy_timeout", True),
        ("mmap_size", -1),
        ("mmap_size", 1.5),
        ("cache_size", -5),
        ("inline_statements", "false"),
        ("inline_statements", 0),
    ],
)
def test_options_are_checked(tmp_path: Path, option: str, value: object) -> None:
    with pytest.raises(ConfigError, match=option):
        SqliteSessions(path=tmp_path / "s.db", **{option: value})  # type: ignore[arg-type]
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("inline_statements", [True, False])
@pytest.mark.parametrize(("synchronous", "level"), [("off", 0), ("normal", 1), ("FULL", 2), ("extra", 3)])
async def test_synchronous_is_applied_to_the_connection(
    tmp_path: Path, synchronous: str, level: int, inline_statements: bool
) -> None:
    async with SqliteSessions(
        path=tmp_path / "s.db",
        synchronous=synchronous,  # type: ignore[arg-type]
        inline_statements=inline_statements,
    ) as store:
        rows = await store._engine.run(Statement("PRAGMA synchronous", writes=False, returns=Returns.ROWS))
    assert [(level,)] == rows


# -- a file damaged while open: typed errors on both routes, never sqlite3's -----------------


@pytest.mark.parametrize("inline_statements", [True, False])
async def test_a_file_damaged_while_open_gives_typed_errors_naming_it(
    tmp_path: Path, inline_statements: bool
) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, inline_statements=inline_statements) as store:
        session_id = await store.create("key", {"n": 1})
        assert [(0, 0, 0)] == read(path, "PRAGMA wal_checkpoint(TRUNCATE)")
        with path.open("r+b") as file:
            file.write(b"not a database!!")  # over SQLite's magic header: "file is not a database"

        operations = {
            "get": lambda: store.get(session_id),
            "update": lambda: store.update(session_id, {"n": 2}),
            "create": lambda: store.create("key", {"n": 3}),
            "list_sessions": lambda: store.list_sessions("key"),
            "clear": lambda: store.clear("key"),
            "purge_expired": store.purge_expired,
        }
        for name, operation in operations.items():
            with pytest.raises(BackendUnavailableError) as raised:
                await operation()
            assert f"SQLite file {str(path)!r} is damaged" in str(raised.value), name
            assert isinstance(raised.value.__cause__, sqlite3.DatabaseError), name
            assert "file is not a database" == str(raised.value.__cause__), name


# -- lifecycle ----------------------------------------------------------------------------


async def test_operations_after_aclose_raise_a_typed_error(tmp_path: Path) -> None:
    store = SqliteSessions(path=tmp_path / "s.db")
    session_id = await store.create("alice", {})
    await store.aclose()
    await store.aclose()
    with pytest.raises(BackendUnavailableError, match="closed"):
        await store.get(session_id)


async def test_aclose_during_an_open_closes_what_the_open_made(tmp_path: Path) -> None:
    store = SqliteSessions(path=tmp_path / "s.db")
    opening = asyncio.create_task(store.__aenter__())
    await asyncio.sleep(0)  # the open is now in flight
    await store.aclose()
    await opening
    # A connection left open here would keep its thread, and the process, alive.
    assert store._engine._connection is None
    with pytest.raises(BackendUnavailableError, match="closed"):
        await store.get("any-id")


async def test_the_connection_opens_on_first_use_without_async_with(tmp_path: Path) -> None:
    store = SqliteSessions(path=tmp_path / "s.db")
    try:
        assert await store.get(await store.create("alice", {"n": 1})) == {"n": 1}
    finally:
        await store.aclose()


async def test_the_wal_is_folded_back_into_the_file_on_close(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path) as store:
        for i in range(50):
            await store.create("alice", {"i": i})
    assert not wal_exists(path)
    assert [(50,)] == read(path, "SELECT count(*) FROM sessions")


# -- what is stored, and how ------------------------------------------------------------


async def test_the_session_key_is_stored_beside_the_id_not_in_it(store: SqliteSessions) -> None:
    session_id = await store.create("alice@example.com", {})
    assert [(session_id, b"alice@example.com")] == read(
        Path(store.path), "SELECT id, session_key FROM sessions"
    )


async def test_any_string_is_a_session_key(store: SqliteSessions) -> None:
    for key in ["\ud800 lone surrogate", "nul\x00inside", "Zoë 😀", ""]:
        session_id = await store.create(key, {"k": 1})
        assert [key] == [info.session_key for info in await store.list_sessions(key)]
        await store.clear(key)
        assert await store.get(session_id) is None


async def test_data_is_encrypted_at_rest_when_crypt_is_on(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path, is_session_crypt=True, session_aes_secret=generate_key()) as store:
        await store.create("alice", {"secret": "hunter2"})
    ((blob,),) = read(path, "SELECT data FROM sessions")
    assert isinstance(blob, bytes)
    assert b"hunter2" not in blob


async def test_a_corrupted_row_reads_as_no_session_and_is_logged_without_data(
    store: SqliteSessions, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = await store.create("alice", {"n": 1})
    connection = sqlite3.connect(store.path)
    connection.execute("UPDATE sessions SET data = ?", (b"\xffsecret-garbage",))
    connection.commit()
    connection.close()
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        assert await store.get(session_id) is None
        assert [] == await store.list_sessions("alice")
    assert caplog.records
    assert "secret-garbage" not in caplog.text
    assert session_id not in caplog.text


async def test_a_duplicate_id_from_the_id_factory_is_a_typed_error(tmp_path: Path) -> None:
    async with SqliteSessions(path=tmp_path / "s.db", id_factory=lambda: "same-id") as store:
        await store.create("alice", {"n": 1})
        with pytest.raises(ConfigError, match="id_factory"):
            await store.create("bob", {"n": 2})
        assert {"n": 1} == await store.get("same-id")
        assert [] == await store.list_sessions("bob")


# -- expiry and purging ---------------------------------------------------------------


async def test_purge_removes_at_most_limit_per_batch(store: SqliteSessions) -> None:
    clock = FakeClock()
    store.clock, store.default_ttl = clock, 10
    for i in range(30):
        await store.create("alice", {"i": i})
    live = await store.create("bob", {})
    store.default_ttl = None
    forever = await store.create("carol", {})
    clock.advance(11)
    assert 12 == await store.purge_records(clock(), 12)
    assert 12 == await store.purge_records(clock(), 12)
    assert 7 == await store.purge_records(clock(), 12)
    assert 0 == await store.purge_records(clock(), 12)
    assert [(1,)] == read(Path(store.path), "SELECT count(*) FROM sessions")
    assert {} == await store.get(forever)
    del live


async def test_purge_expired_runs_in_batches(store: SqliteSessions, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    store.clock, store.default_ttl = clock, 10
    for i in range(25):
        await store.create("alice", {"i": i})
    clock.advance(11)
    monkeypatch.setattr(SqliteSessions, "purge_batch_size", 10)
    hops, inline_runs = store._engine.hops, store._engine.inline_runs
    assert 25 == await store.purge_expired()
    # Each batch on aiosqlite's thread: a delete of many rows never holds up the event loop.
    assert (3, 0) == (store._engine.hops - hops, store._engine.inline_runs - inline_runs)


# -- every lookup goes through an index -------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        (_statements.FETCH, "sqlite_autoindex_sessions_1"),
        (_statements.FETCH_EXTENDING, "sqlite_autoindex_sessions_1"),
        (_statements.REPLACE, "sqlite_autoindex_sessions_1"),
        (_statements.REPLACE_EXTENDING, "sqlite_autoindex_sessions_1"),
        (_statements.SWAP, "sqlite_autoindex_sessions_1"),
        (_statements.SWAP_EXTENDING, "sqlite_autoindex_sessions_1"),
        (_statements.MOVE, "sqlite_autoindex_sessions_1"),
        (_statements.REMOVE, "sqlite_autoindex_sessions_1"),
        (_statements.LIST_KEY, "sessions_by_key"),
        (_statements.REMOVE_KEY, "sessions_by_key"),
        (_statements.PURGE, "sessions_by_expiry"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.sql.split()[0],
)
def test_statements_use_an_index_never_a_table_scan(tmp_path: Path, statement: Statement, index: str) -> None:
    path = tmp_path / "s.db"
    SqliteSessions(path=path)
    placeholders = statement.sql.count("?")
    plan = " | ".join(
        str(row[3]) for row in read(path, f"EXPLAIN QUERY PLAN {statement.sql}", *[1] * placeholders)
    )
    assert index in plan, plan
    assert "SCAN sessions" not in plan, plan


@pytest.mark.parametrize(
    ("statement", "writes_the_expiry_index"),
    [
        (_statements.SWAP, False),
        (_statements.REPLACE, False),
        (_statements.SWAP_EXTENDING, True),
        (_statements.REPLACE_EXTENDING, True),
    ],
    ids=["swap", "replace", "swap-extending", "replace-extending"],
)
def test_only_a_write_that_sets_the_expiry_writes_to_the_expiry_index(
    tmp_path: Path, statement: Statement, writes_the_expiry_index: bool
) -> None:
    # Rewriting a row's expiry index entry, even to the same value, makes each
    # commit append about three times the pages to the WAL.
    path = tmp_path / "s.db"
    SqliteSessions(path=path)
    ((root,),) = read(path, "SELECT rootpage FROM sqlite_master WHERE name = 'sessions_by_expiry'")
    program = read(path, f"EXPLAIN {statement.sql}", *[1] * statement.sql.count("?"))
    opened_for_writing = {row[3] for row in program if row[1] == "OpenWrite"}
    assert writes_the_expiry_index == (root in opened_for_writing)


async def test_the_wal_is_checkpointed_in_the_background_while_open(store: SqliteSessions) -> None:
    path = Path(store.path)
    before = file_size(path)
    await asyncio.gather(*(store.create(f"user{i}", {"i": i, "pad": "x" * 200}) for i in range(1000)))
    # The store's own connection never checkpoints; the checkpointer thread
    # copies the pages into the file while the store stays open.
    for _ in range(200):
        if file_size(path) > before:
            break
        await asyncio.sleep(0.05)
    assert file_size(path) > before


async def test_a_single_write_is_checkpointed_once_the_store_is_idle(
    store: SqliteSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoints: list[None] = []
    run = Checkpointer._checkpoint
    monkeypatch.setattr(
        Checkpointer, "_checkpoint", staticmethod(lambda c: (checkpoints.append(None), run(c)))
    )
    await store.create("alice", {})
    # Far below the writes that make a checkpoint due: only the idle delay brings one.
    for _ in range(200):
        if checkpoints:
            break
        await asyncio.sleep(0.05)
    assert [None] == checkpoints[:1]


def frames_in_wal(path: Path) -> int:
    """Frames in the WAL, as a checkpoint from a connection of the test's own counts them."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        _, in_wal, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(in_wal)
    finally:
        connection.close()


async def test_opening_starts_the_wal_on_the_connections_thread(tmp_path: Path) -> None:
    # The first write into an empty WAL syncs its header: the open makes it,
    # so no write on the event loop does.
    path = tmp_path / "s.db"
    async with SqliteSessions(path=path) as store:
        assert 1 == frames_in_wal(path)
        assert 0 == store._engine.inline_runs


def test_a_checkpoint_that_copies_the_whole_wal_starts_it_again(tmp_path: Path) -> None:
    # The next write would start the WAL afresh, syncing its header; the checkpointer makes it.
    path = tmp_path / "s.db"
    SqliteSessions(path=path)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for n in range(5):
            connection.execute(
                "INSERT INTO sessions VALUES (?, x'00', x'7b7d', 0, 0, NULL, NULL)", (f"id-{n}",)
            )
        Checkpointer._checkpoint(connection)
        # One frame: the checkpointer's own write, at the start of a restarted WAL.
        assert 1 == frames_in_wal(path)
    finally:
        connection.close()


def file_size(path: Path) -> int:
    return path.stat().st_size
