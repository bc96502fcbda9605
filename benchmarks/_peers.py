"""Peer libraries from PyPI, each driven through its own session layer.

starsessions and Litestar keep sessions for their web frameworks; what one
request pays them for a session is an ID from their generator, their
serializer, and their store. These adapters do exactly that, outside any
HTTP request, with the operations named as jamsession's (``rework`` is how
each of them regenerates an ID: read, write under a new ID, remove the old).
Neither has a session key to index (jamsession's ``clear``), so the key is
not stored: they are not asked to do work they were not built for.
The Jam library's async JSON-file sessions have jamsession's API already.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Peer name -> the module that must be importable to run it.
PEER_MODULES = {
    "starsessions": "starsessions",
    "litestar": "litestar",
    "jamlib": "jam.aio.sessions.json",
}


def available(peer: str) -> bool:
    """Whether ``peer``'s library is installed (``pip install -r benchmarks/requirements.txt``)."""
    try:
        return importlib.util.find_spec(PEER_MODULES[peer]) is not None
    except ModuleNotFoundError:
        return False


class StarsessionsMemory:
    """starsessions' ``InMemoryStore`` with its ``JsonSerializer`` and its session ID generator."""

    #: Seconds, as the middleware would pass for a one-day cookie.
    LIFETIME = 86_400

    def __init__(self) -> None:
        from starsessions.serializers import JsonSerializer
        from starsessions.session import generate_session_id
        from starsessions.stores.memory import InMemoryStore

        self._store = InMemoryStore()
        self._serializer = JsonSerializer()
        self._new_id = generate_session_id

    async def create(self, session_key: str, data: dict[str, Any], /) -> str:
        blob = self._serializer.serialize(data)
        return await self._store.write(self._new_id(), blob, self.LIFETIME, self.LIFETIME)

    async def get(self, session_id: str, /) -> dict[str, Any] | None:
        blob = await self._store.read(session_id, self.LIFETIME)
        return self._serializer.deserialize(blob) if blob else None

    async def update(self, session_id: str, data: dict[str, Any], /) -> None:
        await self._store.write(session_id, self._serializer.serialize(data), self.LIFETIME, self.LIFETIME)

    async def rework(self, session_id: str, /) -> str:
        blob = await self._store.read(session_id, self.LIFETIME)
        new_id = await self._store.write(self._new_id(), blob, self.LIFETIME, self.LIFETIME)
        await self._store.remove(session_id)
        return new_id

    async def delete(self, session_id: str, /) -> None:
        await self._store.remove(session_id)

    async def aclose(self) -> None:
        self._store.data.clear()


class LitestarMemory:
    """Litestar's ``MemoryStore`` behind its ``ServerSideSessionBackend`` (default config)."""

    def __init__(self) -> None:
        from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
        from litestar.stores.memory import MemoryStore

        self._store = MemoryStore()
        self._backend = ServerSideSessionBackend(ServerSideSessionConfig())

    async def create(self, session_key: str, data: dict[str, Any], /) -> str:
        session_id = self._backend.generate_session_id()
        blob = self._backend.serialize_data(data)
        await self._backend.set(session_id, blob, self._store)
        return session_id

    async def get(self, session_id: str, /) -> dict[str, Any] | None:
        blob = await self._backend.get(session_id, self._store)
        return None if blob is None else self._backend.deserialize_data(blob)

    async def update(self, session_id: str, data: dict[str, Any], /) -> None:
        await self._backend.set(session_id, self._backend.serialize_data(data), self._store)

    async def rework(self, session_id: str, /) -> str:
        blob = await self._backend.get(session_id, self._store)
        if blob is None:
            raise KeyError("no such session")
        new_id = self._backend.generate_session_id()
        await self._backend.set(new_id, blob, self._store)
        await self._backend.delete(session_id, self._store)
        return new_id

    async def delete(self, session_id: str, /) -> None:
        await self._backend.delete(session_id, self._store)

    async def aclose(self) -> None:
        await self._store.delete_all()


async def open_jamlib(path: Path, stored: int, data: dict[str, Any]) -> Any:
    """The Jam library's async JSON-file sessions in ``path``, holding ``stored`` sessions already.

    The file is filled in one write, in the documents the library itself writes.
    """
    from jam.aio.sessions.json import JSONSessions

    sessions = JSONSessions(json_path=str(path))
    if stored:
        # With crypt off the library stores its serializer's text, as its create does.
        blob = sessions._serializer.dumps(data).decode("utf-8")  # what create() stores
        created = 1_767_225_600.0
        documents = (
            {"key": f"stored-{i}", "session_id": sessions.id, "data": blob, "created_at": created}
            for i in range(stored)
        )
        _write_tinydb(path, documents)
        await sessions.aclose()
        sessions = JSONSessions(json_path=str(path))
    return sessions


def _write_tinydb(path: Path, documents: Iterable[dict[str, Any]]) -> None:
    # TinyDB's own file layout: {"_default": {"<doc id>": document, ...}}.
    table = {str(i): document for i, document in enumerate(documents, start=1)}
    path.write_text(json.dumps({"_default": table}), encoding="utf-8")
