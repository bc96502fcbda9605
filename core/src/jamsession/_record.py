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
from jamsession._options import RECORD_OPTIONS
from jamsession._serializer import BaseEncoder
from jamsession_json._encoder import JsonEncoder


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

    Subclasses implement the primitives below. All take raw IDs and the time
    ``now`` of the call; a record whose ``expires_at <= now`` is dead to all of
    them, even if it is still stored.

    .. versionadded:: 0.1
    """

    supports_ttl = True
    supports_sliding_expiry = True
    supports_listing = True
    supports_purge = True
    options = RECORD_OPTIONS

    #: How many expired records one purge batch removes at most.
    purge_batch_size: ClassVar[int] = 1000

    def __init__(
        self,
        id_factory: Callable[[], str] = default_id_factory,
        is_session_crypt: bool = False,
        session_aes_secret: SecretInput | None = None,
        serializer: type[BaseEncoder] | BaseEncoder | str = JsonEncoder,
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
        """Store a new record; its raw ID is fresh."""

    @abc.abstractmethod
    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        """Return the live record's blob, moving its expiry to ``extend_to`` when given."""

    @abc.abstractmethod
    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        """Replace a live record's blob (and expiry, when given); ``False`` if none is live."""

    @abc.abstractmethod
    async def move_record(self, raw_id: str, new_raw_id: str, now: float) -> bool:
        """Atomically re-key a live record, keeping its expiry; ``False`` if none is live.

        Of concurrent moves of one ID, exactly one returns ``True``.
        """

    @abc.abstractmethod
    async def remove_record(self, raw_id: str) -> None:
        """Remove the record, if any."""

    @abc.abstractmethod
    async def remove_key_records(self, session_key: str) -> None:
        """Remove every record of ``session_key``."""

    @abc.abstractmethod
    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        """The live records of ``session_key``."""

    @abc.abstractmethod
    async def purge_records(self, now: float, limit: int) -> int:
        """Remove at most ``limit`` expired records; return how many were removed."""

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
