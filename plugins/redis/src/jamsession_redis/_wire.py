"""One command, one round trip, with as little as possible between the store and the socket.

Off a cluster, the store packs each command in the Redis protocol itself and
sends it on a connection of the client's pool with redis-py's public
connection API (``send_packed_command``, ``read_response``), instead of
``execute_command``: that generic path (argument encoding, response callbacks,
observability, a pool lock taken twice) costs more than the rest of a
session operation together. Redis Cluster keeps redis-py's own routing
(``MOVED``, ``ASK``, a node that fails), which the store does not repeat.

A store that made its client keeps the connections it took from the pool
between calls (:class:`Connections`): its calls never wait on the pool's
lock. A client passed in lends a connection for each call only, as redis-py
would, so the application's own use of that pool is never starved.

Whatever interrupts a call between sending and reading (an error, the
store's timeout cancelling it) makes redis-py close that connection, so no
reply is ever left unread for the next call; the next send reconnects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool


def pack(head: bytes, count: int, parts: Sequence[bytes | str | int]) -> bytes:
    """A command in the Redis protocol: ``head`` (``count`` items, already packed), then ``parts``."""
    chunks = [b"*%d\r\n" % (count + len(parts)), head]
    for part in parts:
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            # surrogatepass: a session key is any str, lone surrogates included.
            data = part.encode("utf-8", "surrogatepass")
        else:
            data = b"%d" % part
        chunks.append(b"$%d\r\n" % len(data))
        chunks.append(data)
        chunks.append(b"\r\n")
    return b"".join(chunks)


def pack_words(*words: bytes) -> bytes:
    """The packed form of a command's fixed words, to be a :func:`pack` ``head``."""
    return b"".join(b"$%d\r\n%b\r\n" % (len(word), word) for word in words)


async def exchange(connection: AbstractConnection, packed: bytes) -> Any:
    """Send one packed command and read its reply, retried on a lost connection as the client says."""
    return await connection.retry.call_with_retry(
        lambda: _send_and_read(connection, packed), lambda _error: connection.disconnect()
    )


async def exchange_many(connection: AbstractConnection, packed: bytes, replies: int) -> list[Any]:
    """Send several packed commands at once (a pipeline) and read their ``replies``."""

    async def send_and_read_all() -> list[Any]:
        await connection.send_packed_command(packed)
        return [await connection.read_response() for _ in range(replies)]

    return await connection.retry.call_with_retry(send_and_read_all, lambda _error: connection.disconnect())


async def _send_and_read(connection: AbstractConnection, packed: bytes) -> Any:
    await connection.send_packed_command(packed)
    return await connection.read_response()


class Connections:
    """Where a store's calls get a connection of a redis-py pool, and give it back.

    With ``keep``, a connection given back stays with the store for its next
    call (at most as many as calls ran at once, which the store bounds) and
    goes back to the pool in :meth:`aclose`; without, each goes back to the
    pool at once. One that a failure closed goes back to the pool too: the
    pool connects it again as it should be (through Sentinel, to the primary
    it names now).
    """

    __slots__ = ("_idle", "_keep", "_pool")

    def __init__(self, pool: ConnectionPool, *, keep: bool) -> None:
        self._pool = pool
        self._keep = keep
        self._idle: list[AbstractConnection] = []

    async def take(self) -> AbstractConnection:
        """A connection for one call; connected on its first send if it is not."""
        if self._idle:
            return self._idle.pop()
        # redis-py leaves get_connection unannotated (it warns about arguments it no longer takes).
        connection: AbstractConnection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        return connection

    async def give(self, connection: AbstractConnection) -> None:
        """Give back a connection :meth:`take` gave."""
        if self._keep and connection.is_connected:
            self._idle.append(connection)
        else:
            await self._pool.release(connection)

    async def aclose(self) -> None:
        """Give every kept connection back to the pool."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._pool.release(connection)
