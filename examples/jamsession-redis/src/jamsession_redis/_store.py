"""``RedisSessions``: sessions in Redis, built on jamsession's public API alone."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from jamsession import (
    BackendUnavailableError,
    BaseAsyncSessionModule,
    BaseEncoder,
    BaseLogger,
    ConfigError,
    InvalidSessionToken,
    JamSessionNotFound,
    JsonEncoder,
    SecretInput,
    SerializationError,
    SessionInfo,
    default_id_factory,
)
from jamsession_redis import _scripts

#: Where a store connects when given neither ``url`` nor ``client``.
DEFAULT_URL = "redis://127.0.0.1:6379/0"

# Far longer than any token jamsession makes; longer input is refused before any work.
_MAX_TOKEN_LENGTH = 512


class RedisSessions(BaseAsyncSessionModule):
    """Sessions in Redis: shared by every process of an app, expired by Redis itself.

    Every operation is one Lua script, so each is atomic on the server:
    ``update`` never brings back a session deleted or expired meanwhile, and of
    concurrent ``rework`` calls on one ID exactly one wins.

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL; the store makes
            the client and closes it in :meth:`aclose`. Default
            ``redis://127.0.0.1:6379/0``.
        client: A ``redis.asyncio.Redis`` the app already has, instead of
            ``url``; :meth:`aclose` leaves it open.
        prefix: Put before every key the store writes, so that several stores
            (or other data) can share one database.
        timeout: Seconds to connect, to wait for each reply and to wait for a
            free connection, for a client the store makes; ``None`` waits forever.
        max_connections: Connections the store's own client opens at most;
            more concurrent operations wait for one to be free.
        default_ttl: Seconds a session lives; ``None`` means no expiry.
        sliding_expiry: Each ``get`` or ``update`` pushes the expiry back to
            ``now + default_ttl``; ``rework`` keeps it.
        clock: Returns the current Unix time; decides what has expired.

    The other arguments are :class:`~jamsession.BaseAsyncSessionModule`'s.
    Needs Redis 7.0 or later, a single server or a primary with replicas
    (not Redis Cluster: a ``clear`` touches keys in many slots).

    Raises:
        ConfigError: both ``url`` and ``client``, or an invalid option.
        BackendUnavailableError: from any operation, when Redis cannot be
            reached or refuses a command.
    """

    supports_ttl = True
    supports_sliding_expiry = True
    supports_listing = True
    # Redis deletes expired keys itself: there is never anything to purge.
    supports_purge = False

    def __init__(
        self,
        id_factory: Callable[[], str] = default_id_factory,
        is_session_crypt: bool = False,
        session_aes_secret: SecretInput | None = None,
        serializer: type[BaseEncoder] | BaseEncoder | str = JsonEncoder,
        logger: BaseLogger | None = None,
        *,
        url: str | None = None,
        client: redis.Redis | None = None,
        prefix: str = "jamsession:",
        timeout: float | None = 5.0,
        max_connections: int = 50,
        default_ttl: float | None = None,
        sliding_expiry: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_options(
            url=url,
            client=client,
            prefix=prefix,
            max_connections=max_connections,
            default_ttl=default_ttl,
            sliding_expiry=sliding_expiry,
        )
        super().__init__(id_factory, is_session_crypt, session_aes_secret, serializer, logger)
        self.default_ttl = default_ttl
        self.sliding_expiry = sliding_expiry
        self.clock = clock
        self.prefix = prefix
        self._owns_client = client is None
        if client is None:
            client = _make_client(url or DEFAULT_URL, timeout, max_connections)
        self._client = client
        self._closed = False
        encoded_prefix = prefix.encode("utf-8")
        self._session_prefix = encoded_prefix + b"s:"
        self._index_prefix = encoded_prefix + b"k:"
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(getattr(_scripts, name))
            for name in ("CREATE", "FETCH", "REPLACE", "MOVE", "REMOVE", "REMOVE_KEY", "LIST")
        }

    # -- the six methods of the contract ----------------------------------------------

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        """Create a new session with the given session key and data."""
        index = self._index(session_key)
        encoded = self.__encode_session_data__(data)  # raises before anything is written
        raw_id = self.id
        now = self.clock()
        expires_at = self._expiry(now)
        await self._run(
            "CREATE",
            [self._session(raw_id), index],
            [
                repr(now),
                session_key.encode("utf-8", "surrogatepass"),
                encoded,
                repr(float(now)),
                *_expiry_args(expires_at),
                raw_id,
            ],
        )
        return self.__encode_session_id_if_needed__(raw_id)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        """Retrieve a session by its ID: ``None`` if unknown, expired, malformed or tampered with."""
        raw_id = self._raw_id(session_id)
        if raw_id is None:
            return None
        now = self.clock()
        found = await self._run(
            "FETCH",
            [self._session(raw_id)],
            [repr(now), *_expiry_args(self._extension(now)), raw_id, self._index_prefix],
        )
        return None if found is None else self._decode(found)

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        """Replace a live session's data; :class:`~jamsession.JamSessionNotFound` otherwise."""
        raw_id = self._raw_id(session_id)
        if raw_id is None:
            raise JamSessionNotFound("no such session")
        encoded = self.__encode_session_data__(data)
        now = self.clock()
        replaced = await self._run(
            "REPLACE",
            [self._session(raw_id)],
            [repr(now), encoded, *_expiry_args(self._extension(now)), raw_id, self._index_prefix],
        )
        if not replaced:
            raise JamSessionNotFound("no such session")

    async def delete(self, session_id: str) -> None:
        """Delete a session; a no-op for unknown or malformed IDs."""
        raw_id = self._raw_id(session_id)
        if raw_id is not None:
            await self._run("REMOVE", [self._session(raw_id)], [raw_id, self._index_prefix])

    async def rework(self, session_id: str) -> str:
        """Move a live session to a fresh ID, atomically, keeping its expiry; return the new ID."""
        raw_id = self._raw_id(session_id)
        if raw_id is None:
            raise JamSessionNotFound("no such session")
        new_raw_id = self.id
        moved = await self._run(
            "MOVE",
            [self._session(raw_id), self._session(new_raw_id)],
            [repr(self.clock()), raw_id, new_raw_id, self._index_prefix],
        )
        if not moved:
            raise JamSessionNotFound("no such session")
        return self.__encode_session_id_if_needed__(new_raw_id)

    async def clear(self, session_key: str) -> None:
        """Remove every session of ``session_key``."""
        await self._run("REMOVE_KEY", [self._index(session_key)], [self._session_prefix])

    # -- beyond Jam's API --------------------------------------------------------------

    async def list_sessions(self, session_key: str) -> list[SessionInfo]:
        """The live sessions of ``session_key``, oldest first."""
        index = self._index(session_key)
        flat = await self._run("LIST", [index], [repr(self.clock()), self._session_prefix])
        sessions = []
        for position in range(0, len(flat), 4):
            raw_id, encoded, created_at, expires_at = (_text(item) for item in flat[position : position + 4])
            data = self._decode(encoded)
            if data is not None:
                sessions.append(
                    SessionInfo(
                        self.__encode_session_id_if_needed__(raw_id),
                        session_key,
                        data,
                        float(created_at),
                        float(expires_at) if expires_at else None,
                    )
                )
        sessions.sort(key=lambda info: info.created_at)
        return sessions

    async def aclose(self) -> None:
        """Close the client the store made; a client passed in is left open. Safe to call twice."""
        if self._owns_client and not self._closed:
            self._closed = True
            await self._client.aclose()

    # -- helpers ----------------------------------------------------------------------

    def _raw_id(self, session_id: object) -> str | None:
        """The raw ID behind a client's token, or ``None`` if it cannot be one of ours."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= _MAX_TOKEN_LENGTH:
            return None
        try:
            raw_id = self.__decode_session_id_if_needed__(session_id)
        except InvalidSessionToken:
            return None
        # IDs are printable ASCII; anything else (NUL, surrogates) was never handed out.
        return raw_id if raw_id.isascii() and raw_id.isprintable() else None

    def _session(self, raw_id: str) -> bytes:
        return self._session_prefix + raw_id.encode("ascii")

    def _index(self, session_key: str) -> bytes:
        if not isinstance(session_key, str):
            raise TypeError(f"session_key must be a str, not {type(session_key).__name__}")
        return self._index_prefix + session_key.encode("utf-8", "surrogatepass")

    def _expiry(self, now: float) -> float | None:
        return None if self.default_ttl is None else now + self.default_ttl

    def _extension(self, now: float) -> float | None:
        return self._expiry(now) if self.sliding_expiry else None

    def _decode(self, encoded: bytes | str) -> dict[str, Any] | None:
        try:
            return self.__decode_session_data__(_text(encoded))
        except (SerializationError, UnicodeDecodeError) as exc:
            # The reason only: never the data, never the ID.
            self.logger.warning("unreadable session record skipped: %s", type(exc).__name__)
            return None

    async def _run(self, name: str, keys: Sequence[bytes], args: Sequence[bytes | str]) -> Any:
        try:
            return await self._scripts[name](keys=list(keys), args=list(args))
        except RedisError as exc:
            raise BackendUnavailableError(
                f"Redis failed during {name.lower()} ({type(exc).__name__}); is the server reachable?"
            ) from exc


def _check_options(
    *,
    url: str | None,
    client: object,
    prefix: object,
    max_connections: object,
    default_ttl: object,
    sliding_expiry: bool,
) -> None:
    if url is not None and client is not None:
        raise ConfigError("pass url or client, not both")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
        raise ConfigError(f"max_connections must be a positive int, not {max_connections!r}")
    if not isinstance(prefix, str) or not prefix:
        raise ConfigError(f"prefix must be a non-empty str, not {prefix!r}")
    if default_ttl is not None and (
        isinstance(default_ttl, bool) or not isinstance(default_ttl, (int, float)) or default_ttl <= 0
    ):
        raise ConfigError(f"default_ttl must be a positive number of seconds or None, not {default_ttl!r}")
    if sliding_expiry and default_ttl is None:
        raise ConfigError("sliding_expiry needs a default_ttl: set both, or neither")


def _make_client(url: str, timeout: float | None, max_connections: int) -> redis.Redis:
    try:
        # A blocking pool makes a burst of requests wait for a connection
        # instead of failing once max_connections are open.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
    except ValueError as exc:
        # The URL may hold a password: it is not repeated.
        raise ConfigError("url must be a redis://, rediss:// or unix:// URL") from exc
    return redis.Redis.from_pool(pool)


def _expiry_args(expires_at: float | None) -> list[str]:
    """The expiry as the scripts take it: seconds for the hash, whole milliseconds for Redis."""
    if expires_at is None:
        return ["", ""]
    # Rounded up, so Redis never drops a session its clock still calls live.
    return [repr(float(expires_at)), str(math.ceil(expires_at * 1000))]


def _text(value: bytes | str) -> str:
    # A client made with decode_responses=True answers str, the others bytes.
    return value if isinstance(value, str) else value.decode("utf-8")
