"""Filling stores with many sessions quickly, in the form the store itself writes them.

The sessions are the run's typical session, serialized by the store's own
serializer, with crypt off: what ``create`` would have stored, written
without paying ``create``'s cost a million times.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from typing import Any
from uuid import uuid4

from benchmarks._raw import SQL_INSERT
from jamsession import StoredSession

#: Rows per ``executemany``: bounds the memory the generator of rows holds.
_CHUNK = 50_000


def fill_sqlite(path: str, count: int, blob: bytes, first: int = 0, key: str | None = None) -> list[str]:
    """Insert ``count`` sessions holding ``blob`` into the jamsession-sqlite file ``path``; their IDs.

    Each session has a session key of its own, or all have ``key``.
    """
    ids = [str(uuid4()) for _ in range(count)]
    now = time.time()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("BEGIN")
        for start in range(0, count, _CHUNK):
            rows = (
                (session_id, (key or f"stored-{first + start + i}").encode(), blob, now, now, None)
                for i, session_id in enumerate(ids[start : start + _CHUNK])
            )
            connection.executemany(SQL_INSERT, rows)
        connection.execute("COMMIT")
    return ids


async def fill_memory(store: Any, count: int, blob: bytes, first: int = 0) -> list[str]:
    """Insert ``count`` sessions holding ``blob`` through the store's storage primitive; their IDs."""
    ids = [str(uuid4()) for _ in range(count)]
    now = time.time()
    insert = store.insert_record  # the storage primitive every RecordSessionModule has
    for i, session_id in enumerate(ids):
        await insert(StoredSession(session_id, f"stored-{first + i}", blob, now, None))
    return ids
