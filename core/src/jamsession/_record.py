"""``RecordSessionModule``: the six methods written once over a few storage primitives.

Every built-in backend derives from it. It owns what the contract demands
of all of them (token decoding, serialization and encryption before any
write, expiry arithmetic, sliding expiry, typed errors), so a backend only
writes the storage primitives, each of which must be atomic on its own.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import math
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jamsession._base import BaseAsyncSessionModule, BaseLogger, BaseOptions
from jamsession._crypto import PURPOSE_ID, SecretInput, b64decode, b64encode, parse_secret
from jamsession._entry import SessionEntry, names_raw_id, new_entry
from jamsession._errors import (
    ConfigError,
    InvalidSessionKeyError,
    InvalidSessionToken,
    JamSessionNotFound,
    SerializationError,
    SessionConflictError,
)
from jamsession._handles import session_handle
from jamsession._ids import default_id_factory
from jamsession._options import RECORD_OPTIONS
from jamsession._serializer import BaseEncoder
from jamsession._slices import SLICE_ITEMS, build_in_slices


@dataclass(slots=True)
class StoredSession:
    """One session as a backend stores it (raw ID, encoded data).

    Not frozen: a frozen dataclass costs several times as much to build, and
    one is built on every ``create``. Its repr leaves out the ID and the data.
    """

    raw_id: str = field(repr=False)
    session_key: str
    blob: bytes = field(repr=False)
    created_at: float
    expires_at: float | None
    #: What wrote ``blob``: :attr:`RecordSessionModule.data_format` of the store
    #: that made it; ``None`` for a record stored without one.
    data_format: str | None = None


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """One batch of :meth:`RecordSessionModule.scan_records`: stored records and where to go on.

    ``cursor`` is what the next call takes as ``after``; ``None`` when the
    scan is done. It is opaque text, meaningful only to the store that made it.
    Its repr leaves out the records (they hold IDs and data).

    .. versionadded:: 0.3
    """

    records: list[StoredSession] = field(repr=False)
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session, as listed by :meth:`RecordSessionModule.list_sessions`.

    ``handle`` names the session without being a token: it logs no one in,
    and :meth:`RecordSessionModule.revoke` ends the session it names, as a
    "your devices" page does. It is stable while the session keeps its ID,
    and equal to :attr:`SessionEntry.handle`, which picks the caller's own
    session out of a listing. Times are Unix seconds. Its repr leaves out the
    data, so a list of sessions can be logged.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       ``handle`` replaces ``session_id``, a working token.
    """

    handle: str
    session_key: str
    data: dict[str, Any] = field(repr=False)
    created_at: float
    expires_at: float | None


class RecordOptions(BaseOptions, total=False):
    """The options of :class:`RecordSessionModule` (the base's and expiry's) as keyword arguments.

    A backend takes its own options and passes the rest on, restating none::

        def __init__(self, *, url: str, **options: Unpack[RecordOptions]) -> None:
            super().__init__(**options)

    .. versionadded:: 0.1
    """

    default_ttl: float | None
    sliding_expiry: bool
    clock: Callable[[], float]


class RecordSessionModule(BaseAsyncSessionModule):
    """A session store over atomic storage primitives, with expiry.

    Args:
        default_ttl: Seconds a session lives; ``None`` means no expiry.
        sliding_expiry: Each ``get`` or ``update`` pushes the expiry back to
            ``now + default_ttl``. ``rework`` keeps the expiry as it is.
        clock: Returns the current Unix time in seconds; tests inject their own.

    The other arguments are :class:`BaseAsyncSessionModule`'s. ``default_ttl``,
    ``sliding_expiry`` and ``clock`` are read on every operation, so changing
    them affects the sessions written from then on.

    **The storage API.** A backend is a subclass that implements the storage
    primitives below, and nothing else: token decoding, validation of IDs and
    keys, serialization and encryption, expiry arithmetic, sliding expiry and
    typed errors are this class's, written once for every backend. All the
    primitives take raw IDs (never the tokens clients hold) and the time
    ``now`` of the call; a record whose ``expires_at <= now`` is dead to all
    of them, even if it is still stored. Each must be atomic on its own (one
    statement, one server-side script, or no ``await`` between its reads and
    writes), and storage failures raise
    :class:`~jamsession.BackendUnavailableError`, chaining the driver's error.

    The primitives are a versioned interface: they keep their names and
    signatures within a major version of jamsession, which is why a backend
    requires ``jamsession>=X.Y,<X+1``. Each primitive's docstring shows it
    over an SQL table ``s(id, key, blob, created, exp)``, where
    ``LIVE = "(exp IS NULL OR exp > ?)"``. A backend over a dict, in full::

        class DictSessions(RecordSessionModule):
            def __init__(self, **options: Any) -> None:
                super().__init__(**options)
                self._records: dict[str, StoredSession] = {}

            def _live(self, raw_id: str, now: float) -> StoredSession | None:
                record = self._records.get(raw_id)
                if record and (record.expires_at is None or record.expires_at > now):
                    return record
                return None

            async def insert_record(self, record: StoredSession) -> None:
                if record.raw_id in self._records:
                    raise DuplicateSessionIdError()
                self._records[record.raw_id] = record

            async def fetch_record(self, raw_id, now, extend_to):
                record = self._live(raw_id, now)
                if record and extend_to is not None:
                    record.expires_at = extend_to
                return record.blob if record else None

            async def replace_record(self, raw_id, blob, now, extend_to):
                record = self._live(raw_id, now)
                if record is None:
                    return False
                record.blob = blob
                if extend_to is not None:
                    record.expires_at = extend_to
                return True

            async def move_record(self, raw_id, new_raw_id, now):
                record = self._live(raw_id, now)
                if record is None:
                    return False
                if new_raw_id in self._records:
                    raise DuplicateSessionIdError()
                del self._records[raw_id]
                record.raw_id = new_raw_id
                self._records[new_raw_id] = record
                return True

            async def remove_record(self, raw_id):
                self._records.pop(raw_id, None)

            async def remove_key_records(self, session_key):
                for record in list(self._records.values()):
                    if record.session_key == session_key:
                        del self._records[record.raw_id]

            async def list_key_records(self, session_key, now):
                return [r for r in self._records.values()
                        if r.session_key == session_key and self._live(r.raw_id, now)]

            async def purge_records(self, now, limit):
                dead = [i for i in self._records if not self._live(i, now)][:limit]
                for raw_id in dead:
                    del self._records[raw_id]
                return len(dead)

    ``jamsession new-plugin NAME --kind backend`` writes this backend as a
    distribution of its own, with the conformance suite that checks it.

    .. versionadded:: 0.1
    """

    supports_ttl = True
    supports_sliding_expiry = True
    supports_listing = True
    supports_purge = True
    #: :meth:`load`, :meth:`patch`, and ``rework`` to another session key or
    #: with new data. A backend that implements :meth:`fetch_full_record`,
    #: :meth:`swap_record` and :meth:`move_record`'s ``session_key`` and
    #: ``blob`` declares it ``True``; one written before them keeps working
    #: without, and the conformance suite leaves those features out for it.
    #:
    #: .. versionadded:: 0.2
    supports_entries: ClassVar[bool] = False
    options = RECORD_OPTIONS

    #: :meth:`scan_records`: iterating every stored record in batches, what
    #: ``jamsession migrate``, ``rekey`` and ``stats`` read a store with. A
    #: backend that implements it declares it ``True``.
    #:
    #: .. versionadded:: 0.3
    supports_scan: ClassVar[bool] = False

    #: How many records one :meth:`scan_records` call returns at most, as the
    #: operations commands ask for them.
    #:
    #: .. versionadded:: 0.3
    scan_batch_size: ClassVar[int] = 1000

    #: The backend stores each record's :attr:`StoredSession.data_format`, and
    #: its ``fetch_record``, ``fetch_full_record``, ``replace_record``,
    #: ``swap_record``, ``move_record`` and ``list_key_records`` treat a record
    #: whose ``data_format`` is set and not in :attr:`readable_formats` as
    #: absent, in the same atomic step. ``insert_record`` stores the record's
    #: format; ``replace_record``, ``swap_record`` and ``move_record`` with a
    #: ``blob`` store :attr:`data_format` with the new bytes, and a move
    #: without one keeps the record's. When ``False``, ``update`` and
    #: ``rework`` first read the record and check that it decodes: one more
    #: read each, for the same contract (a store sharing its storage with
    #: another serializer or key never overwrites a session it cannot read);
    #: ``load`` and ``patch`` decode what they read before they write.
    checks_data_format: ClassVar[bool] = False

    #: How many expired records one purge batch removes at most.
    purge_batch_size: ClassVar[int] = 1000

    #: How many times :meth:`patch` reads the session and tries its
    #: compare-and-swap before giving up with :class:`SessionConflictError`.
    #: Each lost attempt means another writer changed the session meanwhile,
    #: so this bounds how many concurrent writers one patch outlasts.
    #:
    #: .. versionadded:: 0.2
    patch_attempts: ClassVar[int] = 32

    def __init__(
        self,
        id_factory: Callable[[], str] = default_id_factory,
        is_session_crypt: bool = False,
        session_aes_secret: SecretInput | None = None,
        serializer: type[BaseEncoder] | BaseEncoder | str = "json",
        logger: BaseLogger | None = None,
        *,
        default_ttl: float | None = None,
        sliding_expiry: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if default_ttl is not None and (
            isinstance(default_ttl, bool)
            or not isinstance(default_ttl, (int, float))
            or not 0 < default_ttl < math.inf  # also refuses NaN, which would never expire
        ):
            raise ConfigError(
                f"default_ttl must be a positive, finite number of seconds or None, not {default_ttl!r}"
            )
        if not callable(clock):
            raise ConfigError(
                f"clock must be a callable returning Unix seconds, like time.time, not {clock!r}"
            )
        if sliding_expiry and default_ttl is None:
            raise ConfigError("sliding_expiry needs a default_ttl: set both, or neither")
        self.default_ttl = default_ttl
        self.sliding_expiry = bool(sliding_expiry)
        self.clock = clock
        super().__init__(id_factory, is_session_crypt, session_aes_secret, serializer, logger)
        #: The tag stored with every record this store writes: its serializer
        #: and, with crypt on, an ID of the key that encrypts (never the key).
        self.data_format: str
        #: The tags of the records this store can decode: one per key it holds.
        self.readable_formats: frozenset[str]
        self.data_format, self.readable_formats = _data_formats(self, session_aes_secret)

    # -- the storage primitives -----------------------------------------------------

    @abc.abstractmethod
    async def insert_record(self, record: StoredSession) -> None:
        """Store a new record under its raw ID, which ``create`` has just made.

        Args:
            record: The raw ID, session key, stored bytes, creation time and
                expiry (``None``: never) of the new session.

        Raises:
            DuplicateSessionIdError: a record (live or not yet removed) already
                has that raw ID: ``id_factory`` repeated itself. Nothing is
                written, and the message must not hold the ID.

        Example::

            try:
                await db.execute("INSERT INTO s VALUES (?, ?, ?, ?, ?)", (record.raw_id, ...))
            except IntegrityError:
                raise DuplicateSessionIdError() from None  # the driver's message quotes the ID

        .. versionadded:: 0.1
        """

    @abc.abstractmethod
    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        """Return the live record's blob, moving its expiry to ``extend_to`` when given.

        Args:
            raw_id: The session's raw ID.
            now: The time of the call; a record with ``expires_at <= now`` is not live.
            extend_to: The new expiry (sliding expiry), or ``None`` to leave it.

        Returns:
            The stored bytes exactly as :meth:`insert_record` or
            :meth:`replace_record` received them, or ``None`` when no record is live.

        Example::

            row = await db.fetchone(f"SELECT blob FROM s WHERE id = ? AND {LIVE}", (raw_id, now))

        .. versionadded:: 0.1
        """

    async def fetch_full_record(
        self, raw_id: str, now: float, extend_to: float | None
    ) -> StoredSession | None:
        """Return the whole live record, moving its expiry to ``extend_to`` when given.

        Like :meth:`fetch_record`, with the session key and times too: what
        :meth:`load` reads.

        Args:
            raw_id: The session's raw ID.
            now: The time of the call; a record with ``expires_at <= now`` is not live.
            extend_to: The new expiry (sliding expiry), or ``None`` to leave it.

        Returns:
            The record, its ``expires_at`` the one stored once this call is
            done, or ``None`` when no record is live. It may be the backend's
            own: callers read it at once and never change it.

        Example::

            row = await db.fetchone(f"SELECT * FROM s WHERE id = ? AND {LIVE}", (raw_id, now))
            return None if row is None else StoredSession(*row)

        .. versionadded:: 0.2
        """
        raise _unsupported(self, "fetch_full_record")

    @abc.abstractmethod
    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        """Replace a live record's blob (and expiry, when given); ``False`` if none is live.

        A record that is dead or gone stays so: ``update`` never resurrects a session.

        Example::

            changed = await db.execute(f"UPDATE s SET blob = ? WHERE id = ? AND {LIVE}", (blob, raw_id, now))
            return changed.rowcount == 1

        .. versionadded:: 0.1
        """

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        """Compare-and-swap: replace a live record's blob only if it is exactly ``expected``.

        What :meth:`patch` writes with. Atomic: of concurrent swaps from one
        ``expected``, at most one returns ``True``.

        Args:
            raw_id: The session's raw ID.
            expected: The bytes the caller read; the swap happens only if the
                stored blob is exactly these.
            blob: The new bytes.
            now: The time of the call; a record with ``expires_at <= now`` is not live.
            extend_to: The new expiry (sliding expiry), set only with the
                blob, or ``None`` to leave it.

        Returns:
            ``True`` when the blob was replaced; ``False`` when a live record
            holds other bytes (it changed since it was read: the caller reads
            again); ``None`` when no record is live (it is gone, and stays so).

        Example::

            # One statement tells all three apart; SET expressions read the row as it was.
            row = await db.fetchone(
                "UPDATE s SET blob = CASE WHEN blob = ?1 THEN ?2 ELSE blob END, "
                "exp = CASE WHEN blob = ?1 THEN coalesce(?3, exp) ELSE exp END "
                f"WHERE id = ?4 AND (exp IS NULL OR exp > ?5) RETURNING blob = ?2",
                (expected, blob, extend_to, raw_id, now),
            )
            return None if row is None else bool(row[0])

        .. versionadded:: 0.2
        """
        raise _unsupported(self, "swap_record")

    @abc.abstractmethod
    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        """Atomically re-key a live record, keeping its expiry; ``False`` if none is live.

        When given, ``session_key`` and ``blob`` replace the record's in the
        same step (a login): once it returns ``True``, the old ID is dead and
        the new one is live with its new key and blob, never anything in
        between. Of concurrent moves of one ID, exactly one returns ``True``.

        Raises:
            DuplicateSessionIdError: ``new_raw_id`` is already in use; the
                record stays where it was.

        Example::

            moved = await db.execute(
                f"UPDATE s SET id = ?, key = coalesce(?, key), blob = coalesce(?, blob) "
                f"WHERE id = ? AND {LIVE}",
                (new_raw_id, session_key, blob, raw_id, now),
            )
            return moved.rowcount == 1

        .. versionadded:: 0.1
        .. versionchanged:: 0.2
           ``session_key`` and ``blob``.
        """

    @abc.abstractmethod
    async def remove_record(self, raw_id: str) -> None:
        """Remove the record, if any; a missing one is no error.

        Example::

            await db.execute("DELETE FROM s WHERE id = ?", (raw_id,))

        .. versionadded:: 0.1
        """

    @abc.abstractmethod
    async def remove_key_records(self, session_key: str) -> None:
        """Remove every record of ``session_key`` ("log out everywhere"); other keys are untouched.

        Example::

            await db.execute("DELETE FROM s WHERE key = ?", (session_key,))

        .. versionadded:: 0.1
        """

    @abc.abstractmethod
    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        """The live records of ``session_key``, in any order, in a new list the caller may empty.

        Example::

            rows = await db.fetchall(f"SELECT * FROM s WHERE key = ? AND {LIVE}", (session_key, now))
            return [StoredSession(*row) for row in rows]

        .. versionadded:: 0.1
        """

    @abc.abstractmethod
    async def purge_records(self, now: float, limit: int) -> int:
        """Remove at most ``limit`` expired records; return how many were removed.

        :meth:`purge_expired` calls it until a batch removes fewer than
        :attr:`purge_batch_size`, letting other operations run in between.
        A storage that expires records itself may remove nothing and return 0.

        Example::

            purged = await db.execute(
                "DELETE FROM s WHERE rowid IN (SELECT rowid FROM s WHERE exp <= ? LIMIT ?)", (now, limit)
            )
            return purged.rowcount

        .. versionadded:: 0.1
        """

    async def scan_records(self, after: str | None, limit: int) -> RecordBatch:
        """One batch of every stored record, in an order of the backend's choosing.

        Start with ``after=None`` and pass each batch's ``cursor`` as the next
        ``after`` until it is ``None``. Each call is short and holds no lock
        across calls (keyset pagination: the cursor names where the last batch
        ended, not a snapshot), so other processes keep writing meanwhile. A
        record stored for the whole scan is returned at least once; one
        created, moved or removed during the scan may or may not be. Expired
        records not yet removed are returned too: callers check ``expires_at``.

        Args:
            after: ``None`` to start, else the ``cursor`` of the last batch.
            limit: How many records to return at most. A backend over a
                server-side cursor (Redis ``SCAN``) may return a few more or
                fewer, none at all while not done, and a record twice.

        Returns:
            The records (the backend's own: callers never change them) and the
            cursor to go on from, ``None`` once every record was returned.

        Example::

            rows = await db.fetchall(
                "SELECT rowid, id, key, blob, created, exp FROM s WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (int(after or 0), limit),
            )
            records = [StoredSession(*row[1:]) for row in rows]
            return RecordBatch(records, str(rows[-1][0]) if len(rows) == limit else None)

        .. versionadded:: 0.3
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement scan_records (its supports_scan is False), "
            "so its sessions cannot be migrated, re-encrypted or counted"
        )

    async def estimate_record_count(self) -> int | None:
        """About how many records are stored, cheaply; ``None`` when the backend cannot tell.

        What a progress bar of a scan takes as its total, to show the time
        left. Need not be exact (expired records, other data), and may cost
        no more than one short query.

        Example::

            return (await db.fetchone("SELECT count(*) FROM s"))[0]

        .. versionadded:: 0.3
        """
        return None

    def adopt_raw_id(self, raw_id: str, session_key: str) -> str:
        """The raw ID under which this store keeps a record copied from another store.

        By default the same ID, so the tokens clients hold stay valid where the
        two stores share the key ring. A backend whose raw IDs must carry
        something of their own (Redis: the hash tag of the session key)
        returns an ID of its form, derived from ``raw_id`` alone, so that
        copying the same record twice gives the same ID; clients holding the
        old token then log in again.

        Example::

            if raw_id.endswith(tag_of(session_key)):
                return raw_id
            return f"{raw_id}.{tag_of(session_key)}"

        .. versionadded:: 0.3
        """
        return raw_id

    # -- the contract, written once -------------------------------------------------

    def _expiry(self, now: float) -> float | None:
        return None if self.default_ttl is None else now + self.default_ttl

    def _extension(self, now: float) -> float | None:
        return self._expiry(now) if self.sliding_expiry else None

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        _check_session_key(session_key)
        blob = self._dump_data(data)
        raw_id, token = self._new_session_id()
        now = self.clock()
        await self.insert_record(
            StoredSession(raw_id, session_key, blob, now, self._expiry(now), self.data_format)
        )
        return token

    async def get(self, session_id: str) -> dict[str, Any] | None:
        raw_id = self._resolve_session_id(session_id)
        if raw_id is None:
            return None
        now = self.clock()
        blob = await self.fetch_record(raw_id, now, self._extension(now))
        return None if blob is None else self._load_or_none(blob)

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        raw_id = self._require_session_id(session_id)
        blob = self._dump_data(data)
        now = self.clock()
        if not self.checks_data_format:
            await self._require_readable(raw_id, now)
        if not await self.replace_record(raw_id, blob, now, self._extension(now)):
            raise JamSessionNotFound("no such session")

    async def delete(self, session_id: str) -> None:
        raw_id = self._resolve_session_id(session_id)
        if raw_id is not None:
            await self.remove_record(raw_id)

    async def rework(
        self, session_id: str, *, session_key: str | None = None, data: dict[str, Any] | None = None
    ) -> str:
        """Move the session to a fresh ID, atomically; return the new token.

        The old token is dead once this returns, and the absolute expiry is
        kept. When given, ``session_key`` and ``data`` replace the session's
        in the same atomic step, as a login does: the anonymous session's ID
        dies as the user's session, with the data chosen to keep, comes to
        life under a new one::

            token = await store.rework(token, session_key=user.id, data={"cart": cart})

        Raises:
            JamSessionNotFound: the session does not exist (any more).
            UnsupportedTypeError: ``data`` cannot be stored; nothing was changed.

        .. versionchanged:: 0.2
           ``session_key`` and ``data``.
        """
        raw_id = self._require_session_id(session_id)
        if session_key is not None:
            _check_session_key(session_key)
        blob = None if data is None else self._dump_data(data)
        new_raw_id, new_token = self._new_session_id()
        now = self.clock()
        plain = session_key is None and blob is None
        if not plain and not self.supports_entries:
            raise _unsupported(self, "move_record's session_key and blob")
        if not self.checks_data_format:
            await self._require_readable(raw_id, now)
        if plain:
            moved = await self.move_record(raw_id, new_raw_id, now)
        else:
            moved = await self.move_record(raw_id, new_raw_id, now, session_key=session_key, blob=blob)
        if not moved:
            raise JamSessionNotFound("no such session")
        return new_token

    async def clear(self, session_key: str) -> None:
        _check_session_key(session_key)
        await self.remove_key_records(session_key)

    async def load(self, session_id: str) -> SessionEntry | None:
        """Like :meth:`get`, with the session's metadata: a :class:`SessionEntry`, or ``None``.

        The same rules as ``get``: ``None`` for an unknown, expired,
        malformed, tampered or foreign token, and sliding expiry pushes the
        expiry back (the entry gives the new one)::

            entry = await store.load(token)
            if entry is not None and entry.needs_reissue:
                # A token under the newest key, and the data re-encrypted under it too.
                token = await store.rework(token, data=entry.data)

        .. versionadded:: 0.2
        """
        resolved = self._resolve_noting_age(session_id)
        if resolved is None:
            return None
        raw_id, stale = resolved
        now = self.clock()
        record = await self.fetch_full_record(raw_id, now, self._extension(now))
        if record is None:
            return None
        data = self._load_or_none(record.blob)
        if data is None:
            return None
        return new_entry(
            data,
            record.session_key,
            raw_id,
            record.created_at,
            record.expires_at,
            stale,
            record.blob,
        )

    async def patch(
        self,
        session_id: str,
        changes: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected: SessionEntry | None = None,
    ) -> SessionEntry:
        """Set the top-level keys in ``changes`` and drop those in ``removed``, atomically.

        The changes apply to the data as it is stored when the write happens,
        so concurrent patches of different keys all persist: each attempt
        reads the stored session, applies the changes and writes only if the
        stored bytes are still the ones it read (compare-and-swap), else it
        reads again and retries, at most :attr:`patch_attempts` times. With
        ``expected`` (the entry :meth:`load` gave), the first attempt compares
        against it and skips the read::

            entry = await store.load(token)
            entry = await store.patch(token, {"theme": "dark"}, expected=entry)

        Sliding expiry pushes the expiry back, as ``update`` does. Returns the
        session as written.

        Raises:
            JamSessionNotFound: the session does not exist (any more); it is
                never re-created.
            SessionConflictError: other writers changed the session between
                every read and write; nothing was written.
            UnsupportedTypeError: the changed data cannot be stored; nothing was written.

        .. versionadded:: 0.2
        """
        _check_changes(changes, removed)
        resolved = self._resolve_noting_age(session_id)
        if resolved is None:
            raise JamSessionNotFound("no such session")
        raw_id, stale = resolved
        # What an attempt builds on: the session key, stored bytes, creation and
        # expiry, taken at once from the record read (which may be the store's
        # own, changed in place later), and the data those bytes hold.
        base: tuple[str, bytes, float, float | None] | None = None
        data: dict[str, Any] | None = None
        if expected is not None and names_raw_id(expected, raw_id):
            try:
                data = self._load_data(expected._blob)
            except SerializationError:
                data = None  # not bytes this store wrote: read them instead
            else:
                base = (expected.session_key, expected._blob, expected.created_at, expected.expires_at)
        for _ in range(self.patch_attempts):
            now = self.clock()
            if base is None or data is None:
                record = await self.fetch_full_record(raw_id, now, None)
                if record is None:
                    raise JamSessionNotFound("no such session")
                base = (record.session_key, record.blob, record.created_at, record.expires_at)
                data = self._load_or_none(record.blob)
                if data is None:
                    raise JamSessionNotFound("no such session")
            session_key, stored, created_at, expires_at = base
            data.update(changes)
            for key in removed:
                data.pop(key, None)
            blob = self._dump_data(data)
            extend_to = self._extension(now)
            swapped = await self.swap_record(raw_id, stored, blob, now, extend_to)
            if swapped:
                return new_entry(
                    data,
                    session_key,
                    raw_id,
                    created_at,
                    expires_at if extend_to is None else extend_to,
                    stale,
                    blob,
                )
            if swapped is None:
                raise JamSessionNotFound("no such session")
            base = data = None  # changed meanwhile: read it again
        raise SessionConflictError(self.patch_attempts)

    async def revoke(self, session_key: str, handle: str) -> bool:
        """End the session of ``session_key`` that ``handle`` names; ``False`` if none is live.

        ``handle`` is one from :meth:`list_sessions`. A handle of another
        key's session ends nothing, so a "your devices" page can pass on what
        the user asked for as it is::

            ended = await store.revoke(user.id, form["handle"])

        A session reworked meanwhile has a new ID, and so a new handle: it is
        not the one listed, and lives on.

        .. versionadded:: 0.2
        """
        _check_session_key(session_key)
        # Anything that is not a handle, a token or an int say, equals none.
        for index, record in enumerate(await self.list_key_records(session_key, self.clock())):
            if index % SLICE_ITEMS == SLICE_ITEMS - 1:
                # One key may hold any number of sessions: other tasks run between slices.
                await asyncio.sleep(0)
            if session_handle(record.raw_id) == handle:
                await self.remove_record(record.raw_id)
                return True
        return False

    async def list_sessions(self, session_key: str) -> list[SessionInfo]:
        """The live sessions of ``session_key``, oldest first, each named by its handle.

        .. versionadded:: 0.1
        .. versionchanged:: 0.2
           Sessions are named by handles, not by working tokens.
        """
        _check_session_key(session_key)
        records = await self.list_key_records(session_key, self.clock())
        ordered = True
        last_created = -math.inf

        def listed(record: StoredSession) -> SessionInfo | None:
            nonlocal ordered, last_created
            data = self._load_or_none(record.blob)
            if data is None:
                return None
            ordered = ordered and last_created <= record.created_at
            last_created = record.created_at
            return SessionInfo(
                session_handle(record.raw_id), record.session_key, data, record.created_at, record.expires_at
            )

        # One key may hold any number of sessions.
        sessions = await build_in_slices(records, listed, release=True)
        if not ordered:
            sessions.sort(key=lambda info: info.created_at)
        return sessions

    async def purge_expired(self) -> int:
        """Remove expired sessions in batches of :attr:`purge_batch_size`; return how many.

        Other operations run between batches, so a large purge never holds
        the store for long.

        .. versionadded:: 0.1
        """
        removed = 0
        while True:
            batch = await self.purge_records(self.clock(), self.purge_batch_size)
            removed += batch
            if batch < self.purge_batch_size:
                return removed
            await asyncio.sleep(0)

    def _resolve_noting_age(self, session_id: object) -> tuple[str, bool] | None:
        """The raw ID behind a token, and whether an older key than the newest made it."""
        raw_id = self._resolve_session_id(session_id)
        if raw_id is None or not self.is_session_crypt:
            return None if raw_id is None else (raw_id, False)
        keyring = self._require_keyring()
        if not keyring.rotating or not isinstance(session_id, str):
            return raw_id, False
        # Only while older keys are kept: one more decryption, to learn which key made the token.
        try:
            _, stale = keyring.decrypt_noting_age(b64decode(session_id), PURPOSE_ID)
        except InvalidSessionToken:
            return None
        return raw_id, stale

    async def _require_readable(self, raw_id: str, now: float) -> None:
        """:class:`JamSessionNotFound` unless ``get`` would find the record (without extending it)."""
        blob = await self.fetch_record(raw_id, now, None)
        if blob is None or self._load_or_none(blob) is None:
            raise JamSessionNotFound("no such session")

    def _load_or_none(self, blob: bytes) -> dict[str, Any] | None:
        try:
            return self._load_data(blob)
        except SerializationError as exc:
            # The reason only: never the data, never the ID.
            self.logger.warning("unreadable session record skipped: %s", exc)
            return None


def _unsupported(store: RecordSessionModule, primitive: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(store).__name__} does not implement {primitive} (its supports_entries is False), "
        "so it cannot load or patch sessions, nor move them to another key or with new data"
    )


def _check_changes(changes: object, removed: object) -> None:
    if not isinstance(changes, Mapping):
        raise TypeError(f"changes must map top-level keys to values, not {type(changes).__name__}")
    # A str is a collection too, of its characters: surely not the keys meant.
    if isinstance(removed, (str, bytes)) or not isinstance(removed, Collection):
        raise TypeError(f"removed must be a collection of top-level keys, not {type(removed).__name__}")


def _data_formats(store: BaseAsyncSessionModule, secret: SecretInput | None) -> tuple[str, frozenset[str]]:
    """The tag of the records ``store`` writes, and the tags of those it can read."""
    serializer = store.serializer if isinstance(store.serializer, type) else type(store.serializer)
    name = f"{serializer.__module__.partition('.')[0]}.{serializer.__qualname__}"
    if not store.is_session_crypt:
        return sys.intern(name), frozenset({name})
    # A key's ID is a truncated hash of it: it tells keys apart and reveals nothing of them.
    tags = [
        f"{name}:{b64encode(hashlib.sha256(b'jamsession key id:' + key).digest()[:6])}"
        for key in parse_secret(secret)
    ]
    return sys.intern(tags[-1]), frozenset(tags)


def _check_session_key(session_key: object) -> None:
    if not isinstance(session_key, str):
        raise InvalidSessionKeyError(f"session_key must be a str, not {type(session_key).__name__}")
