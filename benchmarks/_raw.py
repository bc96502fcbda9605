"""Baselines: each backend's raw driver doing the same work by hand.

Each does what a careful hand-written store would: a uuid4 for the ID, orjson
for the data, and the backend's own statements, with nothing else around
them. jamsession's JSON serializer also uses orjson, so with crypt off the
difference is jamsession's own overhead (or, for SQLite at 100 concurrent,
its gain from sending many statements per thread hop).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import orjson

# -- memory ----------------------------------------------------------------------------


class LockedDict:
    """A dict behind an :class:`asyncio.Lock`: the least an async in-memory store can be."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._sessions: dict[str, tuple[str, bytes]] = {}

    async def create(self, session_key: str, data: dict[str, Any], /) -> str:
        session_id, blob = str(uuid4()), orjson.dumps(data)
        async with self._lock:
            self._sessions[session_id] = (session_key, blob)
        return session_id

    async def get(self, session_id: str, /) -> dict[str, Any] | None:
        async with self._lock:
            record = self._sessions.get(session_id)
        return None if record is None else loads(record[1])

    async def update(self, session_id: str, data: dict[str, Any], /) -> None:
        blob = orjson.dumps(data)
        async with self._lock:
            record = self._sessions.get(session_id)
            if record is None:
                raise KeyError("no such session")
            self._sessions[session_id] = (record[0], blob)

    async def rework(self, session_id: str, /) -> str:
        new_id = str(uuid4())
        async with self._lock:
            self._sessions[new_id] = self._sessions.pop(session_id)
        return new_id

    async def delete(self, session_id: str, /) -> None:
        async with self._lock:
            self._sessions.pop(session_id, None)

    async def aclose(self) -> None:
        self._sessions.clear()


# -- SQLite ----------------------------------------------------------------------------

# The statements jamsession-sqlite runs, on the file schema it creates, less the check of each
# row's data format (raw code writes and reads one format).
# Every value is a ? parameter; the f-strings only splice in this constant.
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
SQL_INSERT = (
    "INSERT INTO sessions (id, session_key, data, created_at, updated_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
SQL_FETCH = f"SELECT data FROM sessions WHERE id = ? AND {_LIVE}"  # noqa: S608 - see above
SQL_REPLACE = f"UPDATE sessions SET data = ?, updated_at = ? WHERE id = ? AND {_LIVE}"  # noqa: S608 - see above
SQL_MOVE = f"UPDATE sessions SET id = ?, updated_at = ? WHERE id = ? AND {_LIVE}"  # noqa: S608 - see above
SQL_REMOVE = "DELETE FROM sessions WHERE id = ?"


class RawAiosqlite:
    """aiosqlite on one connection in autocommit mode: each operation is one statement, one thread hop.

    Build it with :meth:`open` on a file that jamsession-sqlite has created,
    with the same PRAGMAs the store sets on its own connection.
    """

    def __init__(self, connection: Any) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: str, pragmas: dict[str, object]) -> RawAiosqlite:
        import aiosqlite

        connection = await aiosqlite.connect(path, isolation_level=None)
        for name, value in pragmas.items():
            # PRAGMA takes no parameters; names and values are this module's own.
            await connection.execute(f"PRAGMA {name} = {value}")
        return cls(connection)

    async def create(self, session_key: str, data: dict[str, Any], /) -> str:
        session_id, now = str(uuid4()), time.time()
        await self._db.execute(
            SQL_INSERT, (session_id, session_key.encode(), orjson.dumps(data), now, now, None)
        )
        return session_id

    async def get(self, session_id: str, /) -> dict[str, Any] | None:
        rows = await self._db.execute_fetchall(SQL_FETCH, (session_id, time.time()))
        return loads(rows[0][0]) if rows else None

    async def update(self, session_id: str, data: dict[str, Any], /) -> None:
        now = time.time()
        cursor = await self._db.execute(SQL_REPLACE, (orjson.dumps(data), now, session_id, now))
        if cursor.rowcount != 1:
            raise KeyError("no such session")

    async def rework(self, session_id: str, /) -> str:
        new_id, now = str(uuid4()), time.time()
        cursor = await self._db.execute(SQL_MOVE, (new_id, now, session_id, now))
        if cursor.rowcount != 1:
            raise KeyError("no such session")
        return new_id

    async def delete(self, session_id: str, /) -> None:
        await self._db.execute(SQL_REMOVE, (session_id,))

    async def aclose(self) -> None:
        await self._db.close()


# -- MongoDB ---------------------------------------------------------------------------


class RawPyMongo:
    """PyMongo's async API on the document shape, indexes and filters of jamsession-mongodb.

    It uses the client it is given, as the stores compared with it do.
    """

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    @classmethod
    async def open(cls, client: Any, database: str, collection: str) -> RawPyMongo:
        from pymongo import ASCENDING, IndexModel
        from pymongo.write_concern import WriteConcern

        # The store's default write concern, so both wait for the same acknowledgement.
        handle = client[database].get_collection(collection, write_concern=WriteConcern(w="majority"))
        await handle.create_indexes(
            [
                IndexModel([("sid", ASCENDING)], unique=True),
                IndexModel([("key", ASCENDING)]),
                IndexModel([("expires", ASCENDING)], expireAfterSeconds=0),
            ]
        )
        return cls(handle)

    @staticmethod
    def _live(session_id: str) -> dict[str, Any]:
        from bson.datetime_ms import DatetimeMS

        return {"sid": session_id, "expires": {"$not": {"$lte": DatetimeMS(int(time.time() * 1000))}}}

    async def create(self, session_key: str, data: dict[str, Any], /) -> str:
        from bson.datetime_ms import DatetimeMS

        session_id = str(uuid4())
        await self._collection.insert_one(
            {
                "sid": session_id,
                "key": session_key,
                "data": orjson.dumps(data),
                "created": DatetimeMS(int(time.time() * 1000)),
            }
        )
        return session_id

    async def get(self, session_id: str, /) -> dict[str, Any] | None:
        found = await self._collection.find_one(self._live(session_id), {"data": True, "_id": False})
        return None if found is None else loads(found["data"])

    async def update(self, session_id: str, data: dict[str, Any], /) -> None:
        result = await self._collection.update_one(
            self._live(session_id), {"$set": {"data": orjson.dumps(data)}}
        )
        if result.matched_count != 1:
            raise KeyError("no such session")

    async def rework(self, session_id: str, /) -> str:
        new_id = str(uuid4())
        result = await self._collection.update_one(self._live(session_id), {"$set": {"sid": new_id}})
        if result.matched_count != 1:
            raise KeyError("no such session")
        return new_id

    async def delete(self, session_id: str, /) -> None:
        await self._collection.delete_one({"sid": session_id})

    async def aclose(self) -> None:
        """Nothing to release: the client is shared, and its owner drops the collection."""


def loads(blob: bytes) -> dict[str, Any]:
    """The session data in ``blob``, as every raw baseline reads it."""
    data: dict[str, Any] = orjson.loads(blob)
    return data
