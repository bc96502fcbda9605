"""Making a client from a URL: one server, Redis Cluster or Sentinel.

URL forms (``rediss`` for TLS wherever ``redis`` is written):

``redis://[user:password@]host:port/db``, ``unix:///path/to/socket?db=0``
    One server (or a primary that replicas follow): a ``redis.asyncio.Redis``.
``redis+cluster://[user:password@]host:port[,host:port...]``
    Redis Cluster, found through any of the listed nodes: a
    ``redis.asyncio.RedisCluster``.
``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]``
    The primary that the listed Sentinels name for ``service``, followed
    through failovers. The password is the data nodes'; the Sentinels are
    asked without one.

A password is never repeated in an error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from jamsession import ConfigError

#: Where a store connects when given neither ``url`` nor ``client``.
DEFAULT_URL = "redis://127.0.0.1:6379/0"

_SERVER_SCHEMES = ("redis", "rediss", "unix")
_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
_SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_FORMS = "redis://host:port/db, rediss://, unix://, redis+cluster://host:port,..., or redis+sentinel://host:port,.../service"


@dataclass(frozen=True, slots=True)
class Connection:
    """A client and what the store needs to know of it."""

    client: redis.Redis | redis.RedisCluster
    #: The store made it, and closes it.
    owned: bool
    #: Concurrent operations it can take before it fails instead of waiting; ``None``: it waits.
    #: The store queues the operations beyond it.
    concurrency: int | None
    #: Further clients the store made and closes with it (the Sentinels').
    helpers: tuple[redis.Redis, ...] = ()


def connect(url: str | None, client: object, *, timeout: float | None, max_connections: int) -> Connection:
    """The client a store uses: the one passed in, or one made from ``url``."""
    if client is not None:
        if url is not None:
            raise ConfigError("pass url or client, not both")
        return Connection(_checked(client), owned=False, concurrency=None)
    url = DEFAULT_URL if url is None else url
    if not isinstance(url, str):
        raise ConfigError(f"url must be a str such as {DEFAULT_URL!r}, not a {type(url).__name__}")
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    # Each call is tried at most three times, the whole operation being bounded by `timeout`.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2)
    common: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
    }
    # Off a cluster, the store bounds each whole operation by `timeout` itself (and cancelling
    # a read closes its connection), so reads and writes need no timeout of their own: redis-py
    # would arm one more timer, and start a task, for every send.
    direct = {**common, "socket_timeout": None}
    try:
        if scheme in _SERVER_SCHEMES:
            # The store keeps the connections it takes, so it queues the calls beyond
            # max_connections itself (its concurrency), and the pool never runs out.
            pool = redis.ConnectionPool.from_url(url, max_connections=max_connections, **direct)
            return Connection(redis.Redis.from_pool(pool), owned=True, concurrency=max_connections)
        if scheme in _CLUSTER_SCHEMES:
            user, password, nodes, _ = _split(rest)
            cluster = redis.RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in nodes],
                username=user,
                password=password,
                ssl=scheme.startswith("rediss"),
                max_connections=max_connections,
                # A node that is down fails only the calls to its slots; the others go on.
                require_full_coverage=False,
                # A MOVED reply re-points its slot only: redis-py's periodic full refresh closes
                # every connection, those in use included, and fails the calls on them.
                reinitialize_steps=0,
                **common,
            )
            # A cluster client fails calls beyond max_connections to one node: the store queues them.
            return Connection(cluster, owned=True, concurrency=max_connections)
        if scheme in _SENTINEL_SCHEMES:
            primary, sentinels = _sentinel(scheme, rest, max_connections, common, direct)
            return Connection(primary, owned=True, concurrency=max_connections, helpers=sentinels)
    except (ValueError, IndexError):
        # The URL may hold a password: it is not repeated.
        raise ConfigError(f"url is not a Redis URL this store understands ({_FORMS})") from None
    raise ConfigError(f"url must be one of {_FORMS}; its scheme {scheme!r} is none of them")


def _sentinel(
    scheme: str, rest: str, max_connections: int, common: dict[str, Any], direct: dict[str, Any]
) -> tuple[redis.Redis, tuple[redis.Redis, ...]]:
    user, password, nodes, path = _split(rest)
    parts = [unquote(part) for part in path.split("/") if part]
    if not parts or len(parts) > 2:
        raise ValueError("a Sentinel URL names its service: redis+sentinel://host:port/service[/db]")
    service = parts[0]
    db = int(parts[1]) if len(parts) == 2 else 0
    sentinel_options = {key: common[key] for key in ("socket_timeout", "socket_connect_timeout")}
    # redis-py before 8.2 leaves Sentinel's __init__ unannotated; 8.2 annotates it.
    sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        nodes,
        sentinel_kwargs=sentinel_options,
        username=user,
        password=password,
        db=db,
        ssl=scheme.startswith("rediss"),
        max_connections=max_connections,
        **direct,
    )
    primary: redis.Redis = sentinel.master_for(service)
    return primary, tuple(sentinel.sentinels)


def _split(rest: str) -> tuple[str | None, str | None, list[tuple[str, int]], str]:
    """User, password, (host, port) pairs and path of ``user:password@h1:p1,h2:p2/path``."""
    location, slash, path = rest.partition("/")
    path = slash + path.partition("?")[0]
    location = location.partition("?")[0]
    user = password = None
    if "@" in location:
        credentials, _, location = location.rpartition("@")
        name, colon, secret = credentials.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    nodes = []
    for node in location.split(","):
        host, colon, port = node.rpartition(":")
        if not colon:
            host, port = port, "6379"
        host = host.strip("[]")  # an IPv6 address is written in brackets
        if not host:
            raise ValueError("a node without a host")
        nodes.append((host, int(port)))
    return user, password, nodes, path


def _checked(client: object) -> redis.Redis | redis.RedisCluster:
    if not isinstance(client, redis.Redis | redis.RedisCluster):
        raise ConfigError(
            f"client must be a redis.asyncio.Redis or redis.asyncio.RedisCluster, not {type(client).__name__}"
        )
    if client.get_encoder().decode_responses:
        raise ConfigError(
            "client must answer bytes (decode_responses=False): session data is binary with crypt on or CBOR"
        )
    return client
