"""``RedisSessions``: sessions in Redis or Valkey, built on jamsession's public API alone."""

from __future__ import annotations

import asyncio
import contextvars
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Unpack

import redis.asyncio as redis
from redis.crc import key_slot
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from jamsession import (
    BackendUnavailableError,
    ConfigError,
    DuplicateSessionIdError,
    InvalidSessionToken,
    Option,
    RecordBatch,
    RecordOptions,
    RecordSessionModule,
    StoredSession,
)
from jamsession_redis import _deadlines, _layout, _scripts, _wire
from jamsession_redis._client import DEFAULT_URL, connect

#: Seconds one operation may take by default, reconnects and retries included.
DEFAULT_TIMEOUT = 5.0

# The hash tag of the session ID being made in this task: set by create and
# rework around the core's code, read by `id`, which the core calls to make it.
_MAKING_FOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("jamsession_redis_tag", default=None)


class RedisSessions(RecordSessionModule):
    """Sessions in Redis or Valkey: one server, Sentinel or Cluster; expired by the server itself.

    Every storage primitive is one round trip, atomic on the server: a Lua
    script, or a lone ``HMGET`` for a read that changes nothing. ``update``
    never brings back a session deleted or expired meanwhile, and of
    concurrent ``rework`` calls on one ID exactly one wins. Each session
    holds the format of its data (serializer, and key ID with crypt on), and
    every script checks it in the same step: a store sharing the server with
    another serializer or key neither reads nor overwrites what it cannot
    decode.
    One session key's sessions share a hash slot, so on Redis Cluster too
    ``rework`` is one script on one node, and ``clear`` and
    ``list_sessions`` run there in pages of :attr:`key_slice_size` sessions,
    a script each: however many sessions a key has, neither the server nor
    the event loop is held for all of them at once. Raw IDs are the
    ``id_factory``'s IDs with that slot's tag appended (a one-way digest of
    the session key, see :mod:`jamsession_redis._layout`).

    Args:
        url: ``redis://host:port/db``, ``rediss://`` (TLS), ``unix:///path``,
            ``redis+cluster://host:port,host:port`` (Redis Cluster, found
            through any listed node) or ``redis+sentinel://host:port,.../service[/db]``
            (the primary that Sentinel names). The store makes the client and
            closes it in :meth:`aclose`. Default ``redis://127.0.0.1:6379/0``.
        client: A ``redis.asyncio.Redis`` or ``redis.asyncio.RedisCluster``
            the app already has (with ``decode_responses=False``), instead of
            ``url``; :meth:`aclose` leaves it open.
        prefix: Put before every key the store writes, so that several stores
            (or other data) share one database; holds no ``{`` or ``}``.
        timeout: Seconds one operation may take, reconnects and retries
            included; then it raises :class:`~jamsession.BackendUnavailableError`.
            ``None`` waits as long as the client does.
        max_connections: Connections the store's own client opens at most (per
            node on a cluster); more concurrent operations wait for one.

    The other arguments (``default_ttl``, ``sliding_expiry``, ``clock`` and
    the five of every store) are :class:`~jamsession.RecordSessionModule`'s.
    Needs Redis or Valkey 7.0 or later.

    Raises:
        ConfigError: both ``url`` and ``client``, or an invalid option.
        BackendUnavailableError: from any operation, when the server cannot
            be reached in time or refuses a command.

    Example::

        store = RedisSessions(url="redis+cluster://10.0.0.1:6379,10.0.0.2:6379", default_ttl=86400)
        async with store:
            token = await store.create("user-42", {"cart": []})
    """

    supports_ttl = True
    supports_sliding_expiry = True
    supports_listing = True
    # Redis deletes expired keys itself: there is never anything to purge.
    supports_purge = False
    supports_entries = True
    # Each session's hash holds the format of its data (field ``f``), which every
    # script that reads or writes the data checks in the same step.
    checks_data_format = True
    #: How many sessions one script of ``clear`` or ``list_sessions`` handles at most.
    key_slice_size: ClassVar[int] = 500
    supports_scan = True

    options = (
        Option(
            "url",
            str | None,
            None,
            f"redis://, rediss://, unix://, redis+cluster:// or redis+sentinel:// URL; None: {DEFAULT_URL}",
        ),
        Option(
            "client",
            "redis.asyncio.Redis | redis.asyncio.RedisCluster | None",
            None,
            "a client the application has (decode_responses=False)",
            code_only=True,
        ),
        Option("prefix", str, "jamsession:", "put before every key the store writes; no braces"),
        Option("timeout", float | None, DEFAULT_TIMEOUT, "seconds one operation may take, retries included"),
        Option("max_connections", int, 100, "connections the store's own client opens at most (per node)"),
    )

    def __init__(
        self,
        *,
        url: str | None = None,
        client: redis.Redis | redis.RedisCluster | None = None,
        prefix: str = "jamsession:",
        timeout: float | None = DEFAULT_TIMEOUT,
        max_connections: int = 100,
        **options: Unpack[RecordOptions],
    ) -> None:
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigError(
                f"prefix must be a non-empty str without braces (they mark hash tags), not {prefix!r}"
            )
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf
        ):
            raise ConfigError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigError(f"max_connections must be a positive int, not {max_connections!r}")
        super().__init__(**options)
        connection = connect(url, client, timeout=timeout, max_connections=max_connections)
        self.prefix = prefix
        self.timeout = timeout
        self._client = connection.client
        self._owns_client = connection.owned
        self._helpers = connection.helpers
        self._gate = None if connection.concurrency is None else asyncio.Semaphore(connection.concurrency)
        # One timer for the deadlines of all calls: asyncio.timeout would arm one per call.
        self._deadlines = _deadlines.Deadlines()
        # None: through redis-py's client (Redis Cluster's routing, a client on one connection).
        self._connections: _wire.Connections | None = None
        if isinstance(self._client, redis.Redis) and not self._client.single_connection_client:
            # A client the store made keeps its connections: at most one per gate slot.
            self._connections = _wire.Connections(self._client.connection_pool, keep=self._owns_client)
        self._layout = _layout.Layout(prefix)
        self._closed = False
        # The formats this store reads, as the scripts take them: each between newlines.
        self._readable = ("\n" + "\n".join(sorted(self.readable_formats)) + "\n").encode()
        self._format = self.data_format.encode()

    # -- raw IDs that carry their slot's tag ------------------------------------------

    @property
    def id(self) -> str:
        """A new raw ID: the ``id_factory``'s, and, in ``create`` and ``rework``, its slot's tag."""
        random_id = self.id_factory()
        tag = _MAKING_FOR.get()
        if tag is None or not isinstance(random_id, str):
            return random_id  # the core refuses an ID that is not text, naming the factory
        return _layout.tagged(random_id, tag)

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        """Create a session; its ID carries the hash tag of ``session_key``."""
        # A session key that is not a str gets no tag: the core refuses it with its typed error.
        tag = _layout.digest(session_key)[: _layout.TAG_LENGTH] if isinstance(session_key, str) else None
        making = _MAKING_FOR.set(tag)
        try:
            return await super().create(session_key, data)
        finally:
            _MAKING_FOR.reset(making)

    async def rework(
        self, session_id: str, *, session_key: str | None = None, data: dict[str, Any] | None = None
    ) -> str:
        """Move a session to a new ID, atomically, keeping its expiry; see the core's ``rework``.

        The new ID carries the tag of the session key it ends up under: the
        same slot as before, unless ``session_key`` moves it to another.
        """
        tag: str | None
        if isinstance(session_key, str):
            tag = _layout.digest(session_key)[: _layout.TAG_LENGTH]
        else:
            tag = self._tag_of_token(session_id)  # the core refuses a session_key of another type
        making = _MAKING_FOR.set(tag)
        try:
            return await super().rework(session_id, session_key=session_key, data=data)
        finally:
            _MAKING_FOR.reset(making)

    def _tag_of_token(self, session_id: object) -> str | None:
        # Only the tag is taken here; the core decodes and checks the token as for any call.
        if not isinstance(session_id, str):
            return None
        try:
            raw_id = self.__decode_session_id_if_needed__(session_id)
        except InvalidSessionToken:
            return None
        return _layout.tag_of_raw_id(raw_id)

    # -- the storage primitives -------------------------------------------------------

    async def insert_record(self, record: StoredSession) -> None:
        """Store a new session: its hash, its Redis expiry and its place in the key's index."""
        tag = _layout.tag_of_raw_id(record.raw_id)
        key_digest = _layout.digest(record.session_key)
        if tag != key_digest[: _layout.TAG_LENGTH]:
            raise ValueError("the raw ID does not carry the hash tag of its session key")
        inserted = await self._run(
            _scripts.INSERT,
            (self._layout.session(record.raw_id, tag), self._layout.index(key_digest)),
            (
                record.session_key.encode("utf-8", "surrogatepass"),
                record.blob,
                repr(record.created_at),
                *_expiry_args(record.expires_at),
                record.raw_id,
                key_digest,
                record.data_format or "",
            ),
        )
        if inserted == -1:
            raise DuplicateSessionIdError()

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        """The live session's data, its expiry moved to ``extend_to`` when given."""
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is None:
            return None  # not an ID this plugin made
        session = self._layout.session(raw_id, tag)
        if extend_to is None:
            # A read that changes nothing needs no script: one HMGET, the expiry checked here.
            blob, expires_at, data_format = await self._run(_READ, (session,), (b"d", b"e", b"f"))
            if blob is None or not _live(expires_at, now) or not self._can_read(data_format):
                return None
            return bytes(blob)
        found = await self._run(
            _scripts.FETCH,
            (session,),
            (repr(now), *_expiry_args(extend_to), raw_id, self._layout.indexes(tag), self._readable),
        )
        return None if found is None else bytes(found)

    async def fetch_full_record(
        self, raw_id: str, now: float, extend_to: float | None
    ) -> StoredSession | None:
        """The whole live session, its expiry moved to ``extend_to`` when given."""
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is None:
            return None
        found = await self._run(
            _scripts.FETCH_FULL,
            (self._layout.session(raw_id, tag),),
            (repr(now), *_expiry_args(extend_to), raw_id, self._layout.indexes(tag), self._readable),
        )
        if found is None:
            return None
        blob, session_key, created_at, expires_at, data_format = found
        return StoredSession(
            raw_id,
            bytes(session_key).decode("utf-8", "surrogatepass"),
            bytes(blob),
            float(created_at),
            float(expires_at) if expires_at else None,
            _format_of(data_format),
        )

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        """Replace a live session's data only if it is exactly ``expected``: one script."""
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is None:
            return None
        swapped = await self._run(
            _scripts.SWAP,
            (self._layout.session(raw_id, tag),),
            (
                repr(now),
                *_expiry_args(extend_to),
                raw_id,
                self._layout.indexes(tag),
                expected,
                blob,
                self._readable,
                self._format,
            ),
        )
        return None if swapped < 0 else bool(swapped)

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        """Replace a live session's data (and expiry, when given); ``False`` if none is live."""
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is None:
            return False
        replaced = await self._run(
            _scripts.REPLACE,
            (self._layout.session(raw_id, tag),),
            (
                repr(now),
                *_expiry_args(extend_to),
                raw_id,
                self._layout.indexes(tag),
                blob,
                self._readable,
                self._format,
            ),
        )
        return bool(replaced)

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        """Rename a live session's hash, keeping its Redis expiry; ``False`` if none is live.

        With ``session_key``, the session also moves to that key's index; on
        Redis Cluster, when the two keys' tags lie in different slots, that
        takes two scripts (see :meth:`_move_across_slots`).
        """
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is None:
            return False
        new_tag = _layout.tag_of_raw_id(new_raw_id)
        extra = () if blob is None else (blob,)
        if session_key is None:
            if new_tag != tag:
                raise ValueError("a session moves only to a raw ID with its own hash tag")
            moved = await self._run(
                _scripts.MOVE,
                (self._layout.session(raw_id, tag), self._layout.session(new_raw_id, tag)),
                (
                    repr(now),
                    raw_id,
                    new_raw_id,
                    self._layout.indexes(tag),
                    self._readable,
                    self._format,
                    *extra,
                ),
            )
            return _moved(moved)
        key_digest = _layout.digest(session_key)
        if new_tag != key_digest[: _layout.TAG_LENGTH]:
            raise ValueError("the new raw ID does not carry the hash tag of its session key")
        if isinstance(self._client, redis.RedisCluster) and key_slot(tag.encode()) != key_slot(
            new_tag.encode()
        ):
            return await self._move_across_slots(raw_id, new_raw_id, now, session_key=session_key, blob=blob)
        moved = await self._run(
            _scripts.MOVE_TO_KEY,
            (
                self._layout.session(raw_id, tag),
                self._layout.session(new_raw_id, new_tag),
                self._layout.index(key_digest),
            ),
            (
                repr(now),
                raw_id,
                new_raw_id,
                self._layout.indexes(tag),
                session_key.encode("utf-8", "surrogatepass"),
                key_digest,
                self._readable,
                self._format,
                *extra,
            ),
        )
        return _moved(moved)

    async def _move_across_slots(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str,
        blob: bytes | None,
    ) -> bool:
        """A move to a key whose sessions live on another slot of a cluster: take, then put.

        No script spans two slots, so the old session is taken (checked live
        and removed, atomically: of concurrent moves one gets it) and then
        stored under its new ID, with its creation time and absolute expiry.
        At no time are both IDs live. If the second step fails, the session
        is gone and the error is raised: the caller logs in again.
        """
        tag = _layout.tag_of_raw_id(raw_id)
        assert tag is not None  # checked by the caller
        taken = await self._run(
            _scripts.TAKE,
            (self._layout.session(raw_id, tag),),
            (repr(now), raw_id, self._layout.indexes(tag), self._readable),
        )
        if taken is None:
            return False
        old_blob, created_at, expires_at, data_format = taken
        await self.insert_record(
            StoredSession(
                new_raw_id,
                session_key,
                bytes(old_blob) if blob is None else blob,
                float(created_at),
                float(expires_at) if expires_at else None,
                _format_of(data_format) if blob is None else self.data_format,
            )
        )
        return True

    async def remove_record(self, raw_id: str) -> None:
        """Remove a session and its index entry, if any."""
        tag = _layout.tag_of_raw_id(raw_id)
        if tag is not None:
            await self._run(
                _scripts.REMOVE, (self._layout.session(raw_id, tag),), (raw_id, self._layout.indexes(tag))
            )

    async def remove_key_records(self, session_key: str) -> None:
        """Remove every session of ``session_key``: a script per page, on the node of its slot.

        Every session the key has when it starts is gone when it returns.
        """
        key_digest = _layout.digest(session_key)
        tag = key_digest[: _layout.TAG_LENGTH]
        index, sessions = self._layout.index(key_digest), self._layout.sessions(tag)
        page = self.key_slice_size
        # A page per script: one script over every session of a large key would hold the server.
        while await self._run(_scripts.REMOVE_KEY, (index,), (sessions, page)) == page:
            pass

    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        """The live sessions of ``session_key``: a script per page, on the node of its slot."""
        key_digest = _layout.digest(session_key)
        tag = key_digest[: _layout.TAG_LENGTH]
        index, sessions = self._layout.index(key_digest), self._layout.sessions(tag)
        # A ZSCAN may give a session twice; keyed by raw ID, it is listed once.
        records: dict[str, StoredSession] = {}
        cursor = b"0"
        while True:
            # A page per script: one script over every session of a large key would hold the
            # server, and its reply the event loop while it is parsed.
            cursor, *flat = await self._run(
                _scripts.LIST, (index,), (repr(now), sessions, self._readable, cursor, self.key_slice_size)
            )
            for position in range(0, len(flat), 4):
                raw_id, blob, created_at, expires_at = flat[position : position + 4]
                records[raw_id.decode("ascii")] = StoredSession(
                    raw_id.decode("ascii"),
                    session_key,
                    bytes(blob),
                    float(created_at),
                    float(expires_at) if expires_at else None,
                )
            if cursor == b"0":
                return list(records.values())

    async def purge_records(self, now: float, limit: int) -> int:
        """Nothing to do: Redis deletes each session at its expiry by itself. Returns 0."""
        return 0

    def adopt_raw_id(self, raw_id: str, session_key: str) -> str:
        """``raw_id`` if it carries the hash tag of ``session_key``, else ``raw_id`` and that tag.

        A session copied from another backend (``jamsession migrate``) gets
        an ID with its tag appended: the same for every copy of one record,
        so a second run finds what the first copied. Its old token names the
        ID without the tag, which this store does not read: its client logs in again.
        """
        tag = _layout.digest(session_key)[: _layout.TAG_LENGTH]
        return raw_id if _layout.tag_of_raw_id(raw_id) == tag else _layout.tagged(raw_id, tag)

    async def scan_records(self, after: str | None, limit: int) -> RecordBatch:
        """A ``SCAN`` step over this prefix's session hashes, then their fields in one pipeline.

        On Redis Cluster the scan visits each primary in turn (the cursor
        names the node and its position). Each call is two round trips with
        no lock held: as ``SCAN`` goes, a batch may hold a few more or fewer
        than ``limit`` records, none at all, and a session twice.
        """
        node_index, position = _parse_cursor(after)
        pattern = _glob_escaped(self.prefix).encode() + b"{????}s:*"
        client: Any = self._client
        cluster = isinstance(client, redis.RedisCluster)
        try:
            async with asyncio.timeout(self.timeout):
                if cluster:
                    nodes = sorted(client.get_primaries(), key=lambda node: node.name)
                    if node_index >= len(nodes):
                        return RecordBatch([], None)
                    node = nodes[node_index]
                    cursors, keys = await client.execute_command(
                        "SCAN", position, "MATCH", pattern, "COUNT", limit, target_nodes=node
                    )
                    position = cursors[node.name] if isinstance(cursors, dict) else cursors
                    last_node = node_index == len(nodes) - 1
                    fields: list[Any] = []
                    if keys:
                        pipeline = client.pipeline()
                        for key in keys:
                            pipeline.execute_command("HMGET", key, *_SCANNED_FIELDS)
                        fields = await pipeline.execute()
                elif self._gate is None:
                    position, keys, fields = await self._scan_server(position, pattern, limit)
                    last_node = True
                else:
                    async with self._gate:
                        position, keys, fields = await self._scan_server(position, pattern, limit)
                    last_node = True
        except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
            # The kind of failure only: never a key, an ID or data.
            raise BackendUnavailableError(
                f"Redis failed during scan ({type(exc).__name__}); is the server reachable?"
            ) from exc
        skip = len(self.prefix.encode()) + len("{xxxx}s:")
        records = []
        for key, (blob, session_key, created_at, expires_at, data_format) in zip(keys, fields, strict=True):
            if blob is None or session_key is None or created_at is None:
                continue  # expired or removed between the SCAN and the read
            records.append(
                StoredSession(
                    bytes(key[skip:]).decode("utf-8", "surrogatepass"),
                    bytes(session_key).decode("utf-8", "surrogatepass"),
                    bytes(blob),
                    float(created_at),
                    float(expires_at) if expires_at else None,
                    _format_of(data_format),
                )
            )
        if int(position) != 0:
            return RecordBatch(records, f"{node_index}:{int(position)}")
        return RecordBatch(records, None if last_node else f"{node_index + 1}:0")

    async def _scan_server(
        self, position: int, pattern: bytes, limit: int
    ) -> tuple[Any, list[Any], list[Any]]:
        """One ``SCAN`` step on one server, then the fields of the hashes it found in one pipeline."""
        scan = (b"SCAN", str(position), b"MATCH", pattern, b"COUNT", str(limit))
        connections = self._connections
        if connections is None:
            client: Any = self._client
            position, keys = await client.execute_command(*scan)
            if not keys:
                return position, keys, []
            pipeline = client.pipeline(transaction=False)
            for key in keys:
                pipeline.execute_command("HMGET", key, *_SCANNED_FIELDS)
            return position, keys, await pipeline.execute()
        connection = await connections.take()
        try:
            position, keys = await _wire.exchange(connection, _wire.pack(b"", 0, scan))
            if not keys:
                return position, keys, []
            reads = b"".join(_wire.pack(_HMGET, 1, (key, *_SCANNED_FIELDS)) for key in keys)
            return position, keys, await _wire.exchange_many(connection, reads, len(keys))
        finally:
            await connections.give(connection)

    async def aclose(self) -> None:
        """Close the client the store made; a client passed in is left open. Safe to call twice."""
        if self._owns_client and not self._closed:
            self._closed = True
            if self._connections is not None:
                await self._connections.aclose()
            await self._client.aclose()
            for helper in self._helpers:
                await helper.aclose()

    def _can_read(self, data_format: bytes | None) -> bool:
        """Whether data in ``data_format`` is this store's to read (none: stored before formats were)."""
        return not data_format or data_format.decode("ascii", "replace") in self.readable_formats

    # -- running a script -------------------------------------------------------------

    async def _run(self, script: _scripts.Script, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        """Run ``script`` in one round trip, within ``timeout``; failures become typed errors."""
        if self.timeout is None:
            return await self._guarded(script, keys, args)
        deadlines = self._deadlines
        task = deadlines.enter(self.timeout)
        try:
            result = await self._guarded(script, keys, args)
        except asyncio.CancelledError as exc:
            if deadlines.leave(task):
                raise _unavailable(script, TimeoutError()) from exc
            raise
        except BaseException:
            deadlines.leave(task)
            raise
        deadlines.leave(task)
        return result

    async def _guarded(self, script: _scripts.Script, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        try:
            if self._gate is None:
                return await self._call(script, keys, args)
            async with self._gate:
                return await self._call(script, keys, args)
        except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
            raise _unavailable(script, exc) from exc
        except AttributeError as exc:
            # redis-py's cluster client, when a node fails, closes connections that other
            # calls are using; those calls fail inside redis-py with this error.
            if not _raised_in_redis_py(exc):
                raise
            raise _unavailable(script, exc) from exc

    async def _call(self, script: _scripts.Script, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        connections = self._connections
        if connections is None:
            return await self._call_client(script, keys, args)
        connection = await connections.take()
        try:
            if script is _READ:
                return await _wire.exchange(connection, _wire.pack(_HMGET, 1, (*keys, *args)))
            try:
                return await _wire.exchange(connection, script.packed(keys, args))
            except NoScriptError:
                # A server that has not seen it yet (restarted, failed over).
                return await _wire.exchange(connection, script.packed(keys, args, by_sha=False))
        finally:
            await connections.give(connection)

    async def _call_client(self, script: _scripts.Script, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        if script is _READ:
            return await self._client.execute_command("HMGET", *keys, *args)
        try:
            return await self._client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # A server that has not seen it yet (restarted, failed over, another node).
            return await self._client.eval(script.source, len(keys), *keys, *args)


#: Not a script: a plain ``HMGET`` of one session's fields, run and guarded like the scripts.
_READ = _scripts.Script("fetch", "HMGET")
_HMGET = _wire.pack_words(b"HMGET")
#: What ``scan_records`` reads of each session: data, session key, created, expires, data format.
_SCANNED_FIELDS = (b"d", b"k", b"c", b"e", b"f")


def _format_of(stored: bytes | None) -> str | None:
    """A data format as Redis returns it; empty or none: the session was stored before formats were."""
    return stored.decode("ascii", "replace") if stored else None


def _parse_cursor(after: str | None) -> tuple[int, int]:
    """A scan cursor: the index of the node (0 off a cluster) and its ``SCAN`` position."""
    if after is None:
        return 0, 0
    node, _, position = after.partition(":")
    try:
        parsed = int(node), int(position)
    except ValueError:
        raise ValueError(f"not a cursor of this store: {after!r}") from None
    if min(parsed) < 0:
        raise ValueError(f"not a cursor of this store: {after!r}")
    return parsed


def _glob_escaped(text: str) -> str:
    """``text`` matched literally by a ``SCAN MATCH`` pattern."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def _live(expires_at: bytes | None, now: float) -> bool:
    return not expires_at or float(expires_at) > now


def _unavailable(script: _scripts.Script, exc: BaseException) -> BackendUnavailableError:
    # The kind of failure only: never a key, an ID or data.
    return BackendUnavailableError(
        f"Redis failed during {script.name} ({type(exc).__name__}); is the server reachable?"
    )


def _raised_in_redis_py(exc: BaseException) -> bool:
    traceback = exc.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_globals.get("__name__", "").startswith("redis.")


def _expiry_args(expires_at: float | None) -> tuple[str, str]:
    """An expiry as the scripts take it: seconds for the hash, whole milliseconds for Redis."""
    if expires_at is None:
        return "", ""
    # Rounded up, so Redis never drops a session its clock still calls live.
    return repr(float(expires_at)), str(math.ceil(expires_at * 1000))


def _moved(outcome: object) -> bool:
    """A move script's reply: ``-1`` means the new raw ID is in use, and nothing moved."""
    if outcome == -1:
        raise DuplicateSessionIdError()
    return bool(outcome)
