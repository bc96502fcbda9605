"""``MemorySessions``: sessions in a dict, for one process."""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable

from jamsession import (
    BaseEncoder,
    BaseLogger,
    ConfigError,
    JsonEncoder,
    RecordSessionModule,
    SecretInput,
    StoredSession,
    default_id_factory,
)


class MemorySessions(RecordSessionModule):
    """Sessions in this process's memory: fast, and gone when the process ends.

    Every operation is O(1) but ``clear`` and ``list_sessions``, which are
    O(sessions of that key). Records are kept in the order their expiry was
    last set; as ``default_ttl`` is one value for all, that is expiry order,
    so each write reclaims the expired records at the front without scanning
    the rest, and memory stays bounded under churn.

    Args:
        max_sessions: When set, creating a session beyond this many evicts the
            one whose expiry was set longest ago.

    The other arguments are :class:`~jamsession.RecordSessionModule`'s.
    Stored data is serialized bytes, so mutating a dict after ``create`` or
    after ``get`` never changes what is stored.

    .. versionadded:: 0.1
    """

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
        max_sessions: int | None = None,
    ) -> None:
        if max_sessions is not None and (
            isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1
        ):
            raise ConfigError(f"max_sessions must be a positive int or None, not {max_sessions!r}")
        super().__init__(
            id_factory,
            is_session_crypt,
            session_aes_secret,
            serializer,
            logger,
            default_ttl=default_ttl,
            sliding_expiry=sliding_expiry,
            clock=clock,
        )
        self.max_sessions = max_sessions
        self._records: OrderedDict[str, StoredSession] = OrderedDict()
        self._by_key: dict[str, dict[str, None]] = {}

    def __len__(self) -> int:
        """How many records are held, expired ones not yet reclaimed included."""
        return len(self._records)

    def _live(self, raw_id: str, now: float) -> StoredSession | None:
        record = self._records.get(raw_id)
        if record is None or (record.expires_at is not None and record.expires_at <= now):
            return None
        return record

    def _add(self, record: StoredSession) -> None:
        """Add a record under a raw ID no record has (appended, so last in expiry order)."""
        if self._records.setdefault(record.raw_id, record) is not record:
            raise ConfigError("id_factory returned an ID already in use; it must return unique IDs")
        keyed = self._by_key.get(record.session_key)
        if keyed is None:
            self._by_key[record.session_key] = {record.raw_id: None}
        else:
            keyed[record.raw_id] = None

    def _drop(self, raw_id: str) -> StoredSession | None:
        record = self._records.pop(raw_id, None)
        if record is not None:
            ids = self._by_key[record.session_key]
            del ids[raw_id]
            if not ids:
                del self._by_key[record.session_key]
        return record

    def _reclaim(self, now: float) -> None:
        """Drop expired records from the front; stops at the first live one."""
        records = self._records
        while records:
            record = next(iter(records.values()))
            if record.expires_at is None or record.expires_at > now:
                return
            self._drop(record.raw_id)

    def _extend(self, record: StoredSession, extend_to: float | None) -> None:
        if extend_to is not None:
            record.expires_at = extend_to
            self._records.move_to_end(record.raw_id)

    async def _insert(self, record: StoredSession) -> None:
        self._reclaim(record.created_at)
        self._add(record)
        if self.max_sessions is not None and len(self._records) > self.max_sessions:
            self._drop(next(iter(self._records)))

    async def _fetch(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        record = self._live(raw_id, now)
        if record is None:
            return None
        self._extend(record, extend_to)
        return record.blob

    async def _replace(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        self._reclaim(now)
        record = self._live(raw_id, now)
        if record is None:
            return False
        # Records leave the store only to be read, so changing one in place is safe.
        record.blob = blob
        self._extend(record, extend_to)
        return True

    async def _move(self, raw_id: str, new_raw_id: str, now: float) -> bool:
        self._reclaim(now)
        record = self._live(raw_id, now)
        if record is None:
            return False
        # Added before the old record goes, so a duplicate new ID changes nothing.
        # The record joins the end of the expiry order with its expiry unchanged;
        # _live and _purge look at each record's own expiry, not at the order.
        self._add(dataclasses.replace(record, raw_id=new_raw_id))
        self._drop(raw_id)
        return True

    async def _remove(self, raw_id: str) -> None:
        self._drop(raw_id)

    async def _remove_key(self, session_key: str) -> None:
        for raw_id in list(self._by_key.get(session_key, ())):
            self._drop(raw_id)

    async def _list_key(self, session_key: str, now: float) -> list[StoredSession]:
        live = (self._live(raw_id, now) for raw_id in self._by_key.get(session_key, ()))
        return [record for record in live if record is not None]

    async def _purge(self, now: float, limit: int) -> int:
        expired = [
            raw_id
            for raw_id, record in self._records.items()
            if record.expires_at is not None and record.expires_at <= now
        ][:limit]
        for raw_id in expired:
            self._drop(raw_id)
        return len(expired)
