"""The stalls section's setup leaves the store's file intact while other processes come and go."""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._stalls import _evict

from jamsession_sqlite import SqliteSessions

#: Another process takes the write lock and lets it go, as the stalls section's lock holder does.
HOLD_AND_RELEASE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("COMMIT")
connection.close()
"""

#: Another process reads one session's data.
READ = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
print(connection.execute("SELECT data FROM sessions").fetchone()[0].decode())
"""


def other_process(script: str, path: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    return completed.stdout


def companions(path: Path) -> set[str]:
    return {file.name for file in path.parent.iterdir()}


async def test_evicting_the_file_keeps_it_shared_with_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "stalls.db"
    async with SqliteSessions(path=path) as store:
        session_id = await store.create("key", {"n": 1})
        _evict(str(path))
        other_process(HOLD_AND_RELEASE, path)

        # The other process knew this one still had the file open: it left the log in place.
        assert {"stalls.db", "stalls.db-wal", "stalls.db-shm"} == companions(path)
        await store.update(session_id, {"n": 2})
        assert {"n": 2} == json.loads(other_process(READ, path))


async def test_closing_a_descriptor_of_the_file_in_the_store_process_lets_another_delete_its_log(
    tmp_path: Path,
) -> None:
    # Why eviction runs in a process of its own: the hazard it avoids, shown on real processes.
    path = tmp_path / "stalls.db"
    async with SqliteSessions(path=path) as store:
        await store.create("key", {"n": 1})
        with path.open("rb"):
            pass  # its close cancels this process's POSIX locks on the file
        other_process(HOLD_AND_RELEASE, path)

        assert {"stalls.db"} == companions(path)
