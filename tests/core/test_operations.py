"""``jamsession.operations`` and their commands: migrate, rekey, stats, gc, on real SQLite files."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import jamsession
from jamsession import (
    MigrationConflictError,
    RecordSessionModule,
    StoredSession,
    UnreadableSessionError,
    UnsupportedOperationError,
)
from jamsession import _stats as stats_module
from jamsession._cli import cli
from jamsession._crypto import PURPOSE_DATA
from jamsession._progress import ProgressBar
from jamsession.operations import migrate, rekey, store_stats

KEY, NEW_KEY = jamsession.generate_key(), jamsession.generate_key()


def sqlite(path: Path, **options: Any) -> RecordSessionModule:
    store = jamsession.open("sqlite", path=path, **options)
    assert isinstance(store, RecordSessionModule)
    return store


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[RecordSessionModule, RecordSessionModule]]:
    async with sqlite(tmp_path / "a.db", default_ttl=3600) as source, sqlite(tmp_path / "b.db") as target:
        yield source, target


class CancelAfter:
    """A progress that cancels the running operation once ``batches`` batches are done: a Ctrl-C."""

    def __init__(self, batches: int) -> None:
        self.batches = batches
        self.task = asyncio.current_task()

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, count: int) -> None:
        self.batches -= 1
        if self.batches == 0 and self.task is not None:
            self.task.cancel()

    def finish(self) -> None:
        pass


# -- migrate ------------------------------------------------------------------------------


async def test_an_interrupted_migration_resumes_copying_only_what_is_missing(
    pair: tuple[RecordSessionModule, RecordSessionModule],
) -> None:
    source, target = pair
    tokens = [await source.create(f"user-{n % 5}", {"n": n}) for n in range(50)]

    async def interrupted() -> None:
        await migrate(source, target, batch_size=10, concurrency=4, progress=CancelAfter(2))

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(interrupted())
    first = sum([await target.get(token) is not None for token in tokens])
    assert 20 <= first < 50

    report = await migrate(source, target, batch_size=10)
    assert (50 - first, first) == (report.copied, report.present)
    assert [{"n": n} for n in range(50)] == [await target.get(token) for token in tokens]


async def test_copies_carry_the_data_format_of_the_target(tmp_path: Path) -> None:
    async with (
        sqlite(tmp_path / "a.db") as source,
        jamsession.open(
            "memory", serializer="cbor", is_session_crypt=True, session_aes_secret=jamsession.generate_key()
        ) as target,
    ):
        assert isinstance(target, RecordSessionModule)
        await source.create("alice", {"n": 1})
        await migrate(source, target)
        [record] = await target.list_key_records("alice", target.clock())
        assert target.data_format == record.data_format
        assert source.data_format != target.data_format


async def test_the_report_holds_no_id_token_or_data(
    pair: tuple[RecordSessionModule, RecordSessionModule],
) -> None:
    source, target = pair
    tokens = [await source.create("alice", {"secret": "hunter2"}) for _ in range(3)]
    report = await migrate(source, target)
    shown = repr(report) + json.dumps(dataclasses.asdict(report))
    assert 3 == report.copied
    assert [] == [token for token in tokens if source.__decode_session_id_if_needed__(token) in shown]
    assert "hunter2" not in shown


async def test_a_dry_run_writes_nothing_and_counts_what_it_would_copy(
    pair: tuple[RecordSessionModule, RecordSessionModule],
) -> None:
    source, target = pair
    tokens = [await source.create("alice", {"n": n}) for n in range(6)]
    await migrate(source, target, batch_size=4)
    await target.delete(tokens[0])
    report = await migrate(source, target, dry_run=True)
    assert (1, 5, None) == (report.copied, report.present, report.verification)
    assert await target.get(tokens[0]) is None


async def test_a_session_changed_since_an_earlier_run_is_a_conflict_unless_updating(
    pair: tuple[RecordSessionModule, RecordSessionModule],
) -> None:
    source, target = pair
    token = await source.create("alice@example.com", {"cart": 1})
    await migrate(source, target)
    await source.update(token, {"cart": 2})
    with pytest.raises(MigrationConflictError) as caught:
        await migrate(source, target)
    assert ("alice@example.com", True) == (caught.value.session_key, caught.value.same_session)
    assert "alice@example.com" in str(caught.value)
    assert "--update" in str(caught.value)
    assert {"cart": 1} == await target.get(token)
    report = await migrate(source, target, update=True)
    assert 1 == report.updated
    assert {"cart": 2} == await target.get(token)


async def test_another_session_under_the_same_id_is_a_conflict_naming_the_key(
    pair: tuple[RecordSessionModule, RecordSessionModule],
) -> None:
    source, target = pair
    now = time.time()
    await source.insert_record(StoredSession("shared-id", "alice", b'{"a":1}', now, None))
    await target.insert_record(StoredSession("shared-id", "mallory", b'{"m":1}', now, None))
    with pytest.raises(MigrationConflictError, match="'alice'") as caught:
        await migrate(source, target)
    assert False is caught.value.same_session
    assert {"m": 1} == await target.get("shared-id")


async def test_a_session_the_source_cannot_read_stops_the_migration_naming_its_key(tmp_path: Path) -> None:
    async with (
        sqlite(tmp_path / "a.db", is_session_crypt=True, session_aes_secret=KEY) as source,
        sqlite(tmp_path / "b.db", is_session_crypt=True, session_aes_secret=KEY) as target,
    ):
        await source.create("alice", {"ok": True})
        now = time.time()
        # Data encrypted under a key neither store holds.
        await source.insert_record(StoredSession("foreign", "bob", b"\x01" + b"x" * 40, now, None))
        with pytest.raises(UnreadableSessionError, match="'bob'") as caught:
            await migrate(source, target, batch_size=1)
        assert "bob" == caught.value.session_key


@pytest.mark.parametrize(
    ("source_options", "target_options", "note"),
    [
        ({}, {"is_session_crypt": True, "session_aes_secret": KEY}, "crypt is on in one store"),
        (
            {"is_session_crypt": True, "session_aes_secret": [NEW_KEY, KEY]},
            {"is_session_crypt": True, "session_aes_secret": NEW_KEY},
            "lacks a key of the source's",
        ),
    ],
)
async def test_tokens_are_kept_only_when_the_target_reads_them(
    tmp_path: Path, source_options: dict[str, Any], target_options: dict[str, Any], note: str
) -> None:
    async with (
        sqlite(tmp_path / "a.db", **source_options) as source,
        sqlite(tmp_path / "b.db", **target_options) as target,
    ):
        token = await source.create("alice", {"n": 1})
        report = await migrate(source, target)
        assert (False, 1) == (report.tokens_kept, report.copied)
        assert note in report.token_note
        assert await target.get(token) is None
        assert [{"n": 1}] == [info.data for info in await target.list_sessions("alice")]


async def test_a_store_that_cannot_scan_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    from tests.core.minimal_backend import SOURCE

    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "dict_sessions.py", "exec"), namespace)  # noqa: S102 - the test backend's source
    async with sqlite(tmp_path / "b.db") as target:
        with pytest.raises(UnsupportedOperationError, match="supports_scan"):
            await migrate(namespace["DictSessions"](), target)


# -- rekey --------------------------------------------------------------------------------


async def test_rekey_puts_every_session_under_the_newest_key_so_the_older_can_go(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with sqlite(path, is_session_crypt=True, session_aes_secret=KEY, default_ttl=60) as old:
        tokens = [await old.create(f"user-{n % 3}", {"n": n}) for n in range(25)]
    async with sqlite(
        path, is_session_crypt=True, session_aes_secret=[KEY, NEW_KEY], default_ttl=60
    ) as store:
        report = await rekey(store, batch_size=7)
        assert (2, 25, 25, 0, False) == (
            report.keys,
            report.scanned,
            report.rekeyed,
            report.current,
            report.older_keys_needed_by_data,
        )
        assert [{"n": n} for n in range(25)] == [await store.get(token) for token in tokens]
        again = await rekey(store)
        assert (0, 25) == (again.rekeyed, again.current)
    # The data no longer needs the old key: a store without it reads every session.
    async with sqlite(path, is_session_crypt=True, session_aes_secret=NEW_KEY) as newest:
        listed = [
            info.data["n"]
            for key in ("user-0", "user-1", "user-2")
            for info in await newest.list_sessions(key)
        ]
        assert list(range(25)) == sorted(listed)


async def test_rekey_moves_data_of_the_first_format_off_an_older_key(tmp_path: Path) -> None:
    # Stored before ciphertexts named their key: b"\x01" || nonce || AES-GCM sealed, no key id.
    path, older, newer = tmp_path / "s.db", bytes([0]) * 32, bytes([1]) * 32
    async with sqlite(path, is_session_crypt=True, session_aes_secret=[older, newer]) as store:
        now = store.clock()
        for n, key in enumerate((older, newer)):
            nonce = os.urandom(12)
            sealed = AESGCM(key).encrypt(nonce, json.dumps({"n": n}).encode(), PURPOSE_DATA)
            await store.insert_record(StoredSession(f"raw-{n}", "alice", b"\x01" + nonce + sealed, now, None))
        report = await rekey(store)
        assert (2, 1, 1) == (report.scanned, report.rekeyed, report.current)
    async with sqlite(path, is_session_crypt=True, session_aes_secret=newer) as newest:
        assert [0, 1] == sorted(info.data["n"] for info in await newest.list_sessions("alice"))


async def test_rekey_never_loses_an_update_made_while_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with sqlite(path, is_session_crypt=True, session_aes_secret=KEY) as old:
        tokens = [await old.create("alice", {"v": 0}) for _ in range(60)]
    async with sqlite(path, is_session_crypt=True, session_aes_secret=[KEY, NEW_KEY]) as store:

        async def app() -> None:
            for round_ in range(1, 4):
                for token in tokens:
                    await store.update(token, {"v": round_})

        report, _ = await asyncio.gather(rekey(store, batch_size=5, concurrency=2), app())
        assert [{"v": 3}] * 60 == [await store.get(token) for token in tokens]
        assert 0 == report.left
    async with sqlite(path, is_session_crypt=True, session_aes_secret=NEW_KEY) as newest:
        assert [3] * 60 == [info.data["v"] for info in await newest.list_sessions("alice")]


async def test_rekey_with_crypt_off_is_refused(tmp_path: Path) -> None:
    async with sqlite(tmp_path / "s.db") as store:
        with pytest.raises(UnsupportedOperationError, match="crypt is off"):
            await rekey(store)


# -- stats --------------------------------------------------------------------------------


async def _populated(store: RecordSessionModule) -> None:
    now = store.clock()
    for n in range(30):
        key = "bot" if n < 20 else f"user-{n}"
        await store.insert_record(StoredSession(f"id-{n}", key, b"{}", now - 7200, now + 600))
    for n in range(4):
        await store.insert_record(StoredSession(f"old-{n}", "gone", b"{}", now - 99999, now - 5))
    await store.insert_record(StoredSession("forever", "admin", b'{"a":1}', now - 10, None))


async def test_stats_counts_live_expired_top_keys_ages_and_expiries(tmp_path: Path) -> None:
    async with sqlite(tmp_path / "s.db") as store:
        await _populated(store)
        found = await store_stats(store, top=2, batch_size=4)
    assert (35, 31, 4, 12) == (found.scanned, found.live, found.expired, found.keys)
    assert [("bot", 20), ("admin", 1)] == found.top_keys
    assert {"< 1 min": 1, "< 1 h": 0, "< 1 day": 30} == {
        k: found.ages[k] for k in ("< 1 min", "< 1 h", "< 1 day")
    }
    assert (1, 30) == (found.expiries["never"], found.expiries["< 1 h"])
    assert len(b'{"a":1}') + 30 * len(b"{}") == found.data_bytes


async def test_stats_finds_the_top_keys_exactly_among_more_keys_than_it_counts_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_module, "CANDIDATES", 4)
    async with sqlite(tmp_path / "s.db") as store:
        await _populated(store)
        found = await store_stats(store, top=1, batch_size=4)
    assert (None, [("bot", 20)]) == (found.keys, found.top_keys)


# -- the commands -------------------------------------------------------------------------


def _config(path: Path, database: Path, extra: str = "") -> Path:
    path.write_text(f'backend = "sqlite"\npath = "{database}"\n{extra}')
    return path


def test_the_commands_migrate_rekey_and_stats_end_to_end(tmp_path: Path) -> None:
    source = _config(
        tmp_path / "a.toml", tmp_path / "a.db", f'is_session_crypt = true\nsession_aes_secret = "{KEY}"\n'
    )
    target = _config(
        tmp_path / "b.toml",
        tmp_path / "b.db",
        f'is_session_crypt = true\nsession_aes_secret = ["{KEY}", "{NEW_KEY}"]\n',
    )

    async def fill() -> list[str]:
        async with sqlite(tmp_path / "a.db", is_session_crypt=True, session_aes_secret=KEY) as store:
            return [await store.create("alice", {"secret": "hunter2"}) for _ in range(3)]

    tokens = asyncio.run(fill())
    runner = CliRunner()
    dry = runner.invoke(cli, ["migrate", str(source), str(target), "--dry-run"], catch_exceptions=False)
    assert 0 == dry.exit_code, dry.output
    assert "would copy:       3" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    done = runner.invoke(cli, ["migrate", str(source), str(target)], catch_exceptions=False)
    assert 0 == done.exit_code, done.output
    assert "copied:           3" in done.stdout
    assert "tokens:           kept: clients keep their sessions" in done.stdout
    assert "3 spot-checked, 0 differ: ok" in done.stdout
    assert "migrate: 3 done in" in done.stderr
    keyed = runner.invoke(cli, ["rekey", str(target)], catch_exceptions=False)
    assert 0 == keyed.exit_code, keyed.output
    assert "already newest:   3" in keyed.stdout
    assert "no stored session's data needs the older key(s) any more" in keyed.stdout
    shown = runner.invoke(cli, ["stats", str(target), "--json"], catch_exceptions=False)
    document = json.loads(shown.stdout)
    assert (3, [{"session_key": "alice", "sessions": 3}]) == (document["live"], document["top_keys"])
    table = runner.invoke(cli, ["stats", str(target)], catch_exceptions=False).stdout
    assert "live sessions:    3" in table
    for output in (dry.output, done.output, keyed.output, shown.output, table):
        assert "hunter2" not in output
        assert [] == [token for token in tokens if token in output]


def test_migrate_command_names_the_session_key_it_cannot_carry(tmp_path: Path) -> None:
    source = _config(tmp_path / "a.toml", tmp_path / "a.db")
    target = _config(tmp_path / "b.toml", tmp_path / "b.db")

    async def fill() -> None:
        now = time.time()
        async with sqlite(tmp_path / "a.db") as a, sqlite(tmp_path / "b.db") as b:
            await a.insert_record(StoredSession("same", "carol", b"{}", now, None))
            await b.insert_record(StoredSession("same", "dave", b"{}", now, None))

    asyncio.run(fill())
    result = CliRunner().invoke(cli, ["migrate", str(source), str(target)])
    assert 1 == result.exit_code
    assert "MigrationConflictError" in result.output
    assert "'carol'" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_leaves_the_target_consistent_and_a_rerun_copies_only_the_rest(tmp_path: Path) -> None:
    count = 20_000
    asyncio.run(_seed(tmp_path / "a.db", count))
    source = _config(tmp_path / "a.toml", tmp_path / "a.db")
    target = _config(tmp_path / "b.toml", tmp_path / "b.db")
    command = [sys.executable, "-m", "jamsession._cli", "migrate", str(source), str(target)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _rows(tmp_path / "b.db") == 0 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert 130 == process.returncode, errors
    assert "interrupted: the store is consistent" in errors
    copied = _rows(tmp_path / "b.db")
    assert 0 < copied < count
    result = CliRunner().invoke(cli, ["migrate", str(source), str(target)], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    assert f"copied:           {count - copied:,}" in result.stdout
    assert f"already there:    {copied:,}" in result.stdout
    assert count == _rows(tmp_path / "b.db")


async def _seed(path: Path, count: int) -> None:
    async with sqlite(path) as store:
        now = time.time()
        for start in range(0, count, 500):
            await asyncio.gather(
                *(
                    store.insert_record(StoredSession(f"id-{n:06d}", f"user-{n % 97}", b"{}", now, None))
                    for n in range(start, min(start + 500, count))
                )
            )


def _rows(path: Path) -> int:
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, timeout=10)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM sessions").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # the schema is being made


# -- the progress bar ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_bar_on_a_terminal_shows_count_rate_and_time_left() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, interactive=True, clock=clock)
    bar.start("migrate", 1000)
    clock.now += 2
    bar.advance(250)
    drawn = stream.getvalue().split("\r\x1b[2K")[-1]
    assert "migrate [######..................] 250/~1,000 125/s 0:06 left" == drawn
    bar.finish()
    assert stream.getvalue().endswith("\n")


def test_the_progress_off_a_terminal_is_a_quiet_line_now_and_then() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, interactive=False, clock=clock)
    bar.start("gc", None)
    for _ in range(10):
        clock.now += 1
        bar.advance(100)
    clock.now += 0.5
    bar.finish()
    assert ["gc 1,000 100/s", "gc: 1,000 done in 10.5 s (95/s)"] == stream.getvalue().splitlines()


@pytest.mark.parametrize("command", ["stats", "rekey", "migrate"])
def test_a_store_in_one_process_memory_is_refused_by_the_commands(command: str, tmp_path: Path) -> None:
    memory = tmp_path / "memory.toml"
    memory.write_text('backend = "memory"\n')
    other = _config(tmp_path / "b.toml", tmp_path / "b.db")
    arguments = [command, str(memory)] + ([str(other)] if command == "migrate" else [])
    result = CliRunner().invoke(cli, arguments)
    assert 1 == result.exit_code
    assert "keeps sessions in each process's own memory" in result.output
    assert "Traceback" not in result.output
