"""Several processes on one file, and a process killed mid-write: correctness only, never time."""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jamsession_sqlite import SqliteSessions

WORKER = Path(__file__).with_name("sqlite_worker.py")

#: A safety net against a hung child, never a measure of speed.
TIMEOUT = 120


def spawn(*args: str, **options: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **options,  # type: ignore[call-overload]
    )


def wait_for(flags: list[Path]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not all(flag.exists() for flag in flags) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.communicate()


async def test_four_processes_share_one_file_without_errors_or_losses(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "sessions.db"
    async with SqliteSessions(path=path) as store:
        contested = [await store.create("contested", {"c": c}) for c in range(30)]
    children.extend(spawn("share", str(path), f"p{n}", json.dumps(contested)) for n in range(4))
    reports = []
    for child in children:
        out, err = child.communicate(timeout=TIMEOUT)
        assert 0 == child.returncode, err.decode()
        reports.append(json.loads(out))

    # No error of any kind reached a caller ("database is locked" included).
    assert [] == [error for report in reports for error in report["errors"]]
    async with SqliteSessions(path=path) as store:
        # Nothing lost: every session a process left alive is there, as it left it.
        live = {sid: data for report in reports for sid, data in report["live"].items()}
        assert 4 * 20 * 8 == len(live)
        assert live == {sid: await store.get(sid) for sid in live}
        # Reworks raced across processes: each contested session has exactly one winner.
        wins = [(old, new) for report in reports for old, new in report["wins"].items()]
        assert sorted(contested) == sorted(old for old, _ in wins)
        for old, new in wins:
            assert await store.get(old) is None
            assert {"c": contested.index(old)} == await store.get(new)
        stored = len(await store.list_sessions("contested"))
    assert 30 == stored


async def test_patches_and_moves_to_a_key_from_four_processes_lose_nothing(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "sessions.db"
    async with SqliteSessions(path=path) as store:
        tokens = [await store.create("anonymous", {"t": t}) for t in range(6)]
    names = [f"p{n}" for n in range(4)]
    children.extend(spawn("patch", str(path), name, json.dumps(tokens)) for name in names)
    # All at once, so their patches and moves overlap.
    await asyncio.to_thread(wait_for, [tmp_path / f"sessions.db.ready-{name}" for name in names])
    (tmp_path / "sessions.db.go").touch()
    reports = {}
    for name, child in zip(names, children, strict=True):
        out, err = child.communicate(timeout=TIMEOUT)
        assert 0 == child.returncode, err.decode()
        reports[name] = json.loads(out)
    assert [] == [error for report in reports.values() for error in report["errors"]]
    # Each session was moved once, by exactly one process, to that process's key.
    wins = {token: (name, new) for name, report in reports.items() for token, new in report["wins"].items()}
    assert sorted(tokens) == sorted(wins)
    async with SqliteSessions(path=path) as store:
        for t, token in enumerate(tokens):
            name, new = wins[token]
            assert await store.get(token) is None
            entry = await store.load(new)
            assert entry is not None
            # Every patch that returned is there, from whichever process; no other key is.
            kept = {key for report in reports.values() for key in report["patched"][token]}
            expected = {"t": t} | {key: int(key.rsplit("-", 1)[1]) for key in kept}
            assert (name, expected) == (entry.session_key, entry.data)
        for name in names:
            won = sum(1 for winner, _ in wins.values() if winner == name)
            assert won == len(await store.list_sessions(name))
        assert [] == await store.list_sessions("anonymous")


async def test_a_process_killed_mid_write_loses_nothing_that_returned(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "sessions.db"
    SqliteSessions(path=path)
    child = spawn("acks", str(path), bufsize=0)
    children.append(child)
    assert child.stdout is not None
    acknowledged: dict[str, int] = {}

    def record(line: bytes) -> None:
        session_id, version = line.decode().split()
        acknowledged[session_id] = max(int(version), acknowledged.get(session_id, -1))

    count = 0
    while count < 600:
        line = child.stdout.readline()
        assert line, child.stderr.read().decode() if child.stderr else "the writer died"
        record(line)
        count += 1
    os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate(timeout=TIMEOUT)
    assert -signal.SIGKILL == child.returncode
    # Lines already in the pipe were acknowledged before the kill, too.
    for line in rest.splitlines():
        record(line)

    connection = sqlite3.connect(path)
    try:
        assert [("ok",)] == connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    async with SqliteSessions(path=path) as store:
        for session_id, version in acknowledged.items():
            data = await store.get(session_id)
            assert data is not None, "an acknowledged session is missing"
            # A later update may have committed without being acknowledged; never an earlier one.
            assert data["version"] >= version
