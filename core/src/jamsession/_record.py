"""``RecordSessionModule``: the six methods written once over a few storage primitives.

Every built-in backend derives from it. It owns what the contract demands
of all of them (token decoding, serialization and encryption before any
write, expiry arithmetic, sliding expiry, typed errors), so a backend only
writes the storage primitives, each of which must be atomic on its own.
"""

from __future__ import annotations

import abc
import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jamsession._base import BaseAsyncSessionModule, BaseLogger
from jamsession._crypto import SecretInput
from jamsession._errors import ConfigError, InvalidSessionKeyError, JamSessionNotFound, SerializationError
from jamsession._ids import default_id_factory
from jamsession._serializer import BaseEncoder


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


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session, as listed by :meth:`RecordSessionModule.list_sessions`.

    ``session_id`` is in the form handed to clients (encrypted when crypt is
    on), so it can be passed to :meth:`~BaseAsyncSessionModule.delete` to end
    that one session, as a "your devices" page does. Times are Unix seconds.
    Its repr leaves out the session ID, which is a working token, and the
    data, so a list of sessions can be logged.

    .. versionadded:: 0.1
    """

    session_id: str = field(repr=False)
    session_key: str
    data: dict[str, Any] = field(repr=False)
    created_at: float
    expires_at: float | None


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

    #: How many expired records one purge batch removes at most.
    purge_batch_size: ClassVar[int] = 1000

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

    @abc.abstractmethod
    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        """Replace a live record's blob (and expiry, when given); ``False`` if none is live.

        A record that is dead or gone stays so: ``update`` never resurrects a session.

        Example::

            changed = await db.execute(f"UPDATE s SET blob = ? WHERE id = ? AND {LIVE}", (blob, raw_id, now))
            return changed.rowcount == 1

        .. versionadded:: 0.1
        """

    @abc.abstractmethod
    async def move_record(self, raw_id: str, new_raw_id: str, now: float) -> bool:
        """Atomically re-key a live record, keeping its expiry; ``False`` if none is live.

        Of concurrent moves of one ID, exactly one returns ``True``.

        Raises:
            DuplicateSessionIdError: ``new_raw_id`` is already in use; the
                record stays where it was.

        Example::

            moved = await db.execute(
                f"UPDATE s SET id = ? WHERE id = ? AND {LIVE}", (new_raw_id, raw_id, now)
            )
            return moved.rowcount == 1

        .. versionadded:: 0.1
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
        """The live records of ``session_key``, in any order.

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
        await self.insert_record(StoredSession(raw_id, session_key, blob, now, self._expiry(now)))
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
        if not await self.replace_record(raw_id, blob, now, self._extension(now)):
            raise JamSessionNotFound("no such session")

    async def delete(self, session_id: str) -> None:
        raw_id = self._resolve_session_id(session_id)
        if raw_id is not None:
            await self.remove_record(raw_id)

    async def rework(self, session_id: str) -> str:
        raw_id = self._require_session_id(session_id)
        new_raw_id, new_token = self._new_session_id()
        if not await self.move_record(raw_id, new_raw_id, self.clock()):
            raise JamSessionNotFound("no such session")
        return new_token

    async def clear(self, session_key: str) -> None:
        _check_session_key(session_key)
        await self.remove_key_records(session_key)

    async def list_sessions(self, session_key: str) -> list[SessionInfo]:
        """The live sessions of ``session_key``, oldest first.

        .. versionadded:: 0.1
        """
        _check_session_key(session_key)
        sessions = []
        for record in await self.list_key_records(session_key, self.clock()):
            data = self._load_or_none(record.blob)
            if data is not None:
                sessions.append(
                    SessionInfo(
                        self.__encode_session_id_if_needed__(record.raw_id),
                        record.session_key,
                        data,
                        record.created_at,
                        record.expires_at,
                    )
                )
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

    def _load_or_none(self, blob: bytes) -> dict[str, Any] | None:
        try:
            return self._load_data(blob)
        except SerializationError as exc:
            # The reason only: never the data, never the ID.
            self.logger.warning("unreadable session record skipped: %s", exc)
            return None


def _check_session_key(session_key: object) -> None:
    if not isinstance(session_key, str):
        raise InvalidSessionKeyError(f"session_key must be a str, not {type(session_key).__name__}")
