"""Getting a collection handle from a connection string or from the app's own client.

Both client kinds are driven through the same small surface (``insert_one``,
``find_one``, ``find_one_and_update``, ``update_one``, ``delete_one``,
``delete_many``, ``find(...).to_list``, ``create_indexes``), which PyMongo's
``AsyncMongoClient`` and Motor's clients share. Motor is never imported: a
Motor client is recognised by the synchronous PyMongo client it wraps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pymongo import AsyncMongoClient, MongoClient, ReadPreference, monitoring
from pymongo.errors import ConfigurationError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from jamsession import ConfigError
from jamsession_mongodb._command_log import withhold_session_commands
from jamsession_mongodb._documents import CODEC_OPTIONS

DEFAULT_DATABASE = "jamsession"
DEFAULT_COLLECTION = "sessions"
#: Acknowledged by a majority of the replica set: survives a failover.
DEFAULT_WRITE_CONCERN = WriteConcern(w="majority")

WriteConcernInput = WriteConcern | Mapping[str, Any] | str | int


@dataclass(frozen=True, slots=True)
class Connection:
    """A collection handle, and whether the store owns (and so closes) its client."""

    client: Any
    collection: Any
    owned: bool

    async def close(self) -> None:
        if self.owned:
            await self.client.close()


def connect(
    *,
    url: str | None,
    client: object | None,
    database: str | None,
    collection: str,
    write_concern: WriteConcern,
    on_reconnect: Callable[[], None] | None = None,
) -> Connection:
    """Resolve the options to a collection that always reads and writes on the primary.

    ``on_reconnect`` is called when a client the store creates drops its
    connections to a server (it went away, restarted, or failed over); an
    app's own client cannot be given a listener once made.
    """
    if (url is None) == (client is None):
        raise ConfigError("pass exactly one of url (a connection string) or client (an open client)")
    if not isinstance(collection, str) or not collection:
        raise ConfigError(f"collection must be a non-empty str, not {collection!r}")
    if database is not None and (not isinstance(database, str) or not database):
        raise ConfigError(f"database must be a non-empty str or None, not {database!r}")
    owned = client is None
    if url is not None:
        client = _open_client(url, on_reconnect)
    elif not is_async_client(client):
        raise ConfigError(
            "client must be a pymongo AsyncMongoClient or a Motor client, "
            f"not {type(client).__module__}.{type(client).__qualname__}"
        )
    handle: Any = client
    try:
        db = handle.get_default_database(DEFAULT_DATABASE) if database is None else handle[database]
        handle = db.get_collection(
            collection,
            codec_options=CODEC_OPTIONS,
            # Whatever the app's client prefers, a session read right after a
            # rework, delete or clear must never come from a lagging secondary.
            read_preference=ReadPreference.PRIMARY,
            write_concern=write_concern,
            # On the primary, "local" sees every write it has acknowledged.
            read_concern=ReadConcern("local"),
        )
    except Exception as exc:  # noqa: BLE001 - invalid names are reported by several driver types
        raise ConfigError(f"invalid database or collection name: {exc}") from None
    withhold_session_commands(handle.database.name, handle.name)
    return Connection(client=client, collection=handle, owned=owned)


def is_async_client(client: object) -> bool:
    """An ``AsyncMongoClient``, or a Motor client (which wraps a synchronous ``MongoClient``)."""
    return isinstance(client, AsyncMongoClient) or isinstance(getattr(client, "delegate", None), MongoClient)


def parse_write_concern(value: WriteConcernInput | None) -> WriteConcern:
    """Accept a ``WriteConcern``, a mapping of its arguments (from a TOML table), or just ``w``."""
    if value is None:
        return DEFAULT_WRITE_CONCERN
    try:
        if isinstance(value, WriteConcern):
            concern = value
        elif isinstance(value, Mapping):
            concern = WriteConcern(**value)
        elif isinstance(value, (str, int)) and not isinstance(value, bool):
            concern = WriteConcern(w=value)
        else:
            raise ConfigError(
                "write_concern must be a WriteConcern, a mapping such as "
                f"{{'w': 'majority', 'j': true}}, or a w value, not {value!r}"
            )
    except (ConfigurationError, TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid write_concern: {exc}") from None
    if not concern.acknowledged:
        # update and rework must know whether a session matched.
        raise ConfigError("write_concern must be acknowledged (w=0 cannot report a missing session)")
    return concern


class _PoolCleared(monitoring.ConnectionPoolListener):
    """Calls back when the driver clears a server's connection pool: the connections after it are new."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        self._callback()

    # The listener interface has no defaults; nothing else matters here.
    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None: ...
    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None: ...
    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None: ...
    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None: ...
    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None: ...
    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None: ...
    def connection_check_out_started(self, event: monitoring.ConnectionCheckOutStartedEvent) -> None: ...
    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None: ...
    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None: ...
    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None: ...


def _open_client(url: object, on_reconnect: Callable[[], None] | None) -> AsyncMongoClient[dict[str, Any]]:
    if not isinstance(url, str) or not url:
        raise ConfigError("url must be a MongoDB connection string (mongodb:// or mongodb+srv://)")
    listeners = [] if on_reconnect is None else [_PoolCleared(on_reconnect)]
    try:
        # No I/O here: the client connects on the first operation.
        return AsyncMongoClient(url, appname="jamsession", event_listeners=listeners)
    except (ConfigurationError, TypeError, ValueError) as exc:
        raise ConfigError(f"url is not a valid MongoDB connection string: {redact(str(exc), url)}") from None


def redact(message: str, url: str) -> str:
    """``message`` with the password of ``url`` masked out, raw and percent-decoded.

    The whole user information is masked as one unit too (it may hide a
    password behind an escaped colon), but the user name alone is not: a
    short one would mask parts of words all over the message.
    """
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.partition("?")[0].rpartition("@")
    if not at or not userinfo:
        return message
    secrets: set[str] = set()
    for form in (userinfo, unquote(userinfo)):
        secrets |= {form, form.partition(":")[2]}
    secrets |= {unquote(secret) for secret in secrets}
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            message = message.replace(secret, "***")
    return message
