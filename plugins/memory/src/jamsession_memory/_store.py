"""``MemorySessions``: sessions in a dict, for one process."""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterable
from typing import NoReturn, Unpack

from jamsession import (
    ConfigError,
    DuplicateSessionIdError,
    Option,
    RecordBatch,
    RecordOptions,
    RecordSessionModule,
    StoredSession,
)
from jamsession_memory._workers import warn_once_if_several_workers

#: Records a scan batch looks at between two yields to the event loop.
_SCAN_SLICE = 20_000


class MemorySessions(RecordSessionModule):
    """Sessions in this process's memory: fast, and gone when the process ends.

    Each process has its own: the workers of a web server do not see each
    other's sessions, so a user is logged out whenever a request reaches
    another worker. Use it for one process; a store built in what looks like
    one of several workers logs a warning.

    ``create``, ``get``, ``update``, ``rework`` and ``delete`` are O(1);
    ``clear`` and ``list_sessions`` are O(sessions of that key); a
    ``purge_expired`` batch stops after its limit of expired records, which
    sit at the front. Records are kept in the order their expiry was set
    (``rework`` keeps a record's expiry, and its place); with one
    ``default_ttl`` for all, that is expiry order, so each write reclaims the
    expired records at the front without scanning the rest, and memory stays
    bounded under churn. After ``default_ttl`` is changed at runtime, records
    are reclaimed and evicted in the order their expiries were set, and
    records made without expiry move to the back, one per write.

    Args:
        max_sessions: When set, creating a session beyond this many evicts the
            one whose expiry was set longest ago.

    The other arguments are :class:`~jamsession.RecordSessionModule`'s.
    Stored data is serialized bytes, so mutating a dict after ``create`` or
    after ``get`` never changes what is stored.

    .. versionadded:: 0.1
    """

    supports_entries = True
    process_local = True
    options = (
        Option(
            "max_sessions",
            int | None,
            None,
            "the most sessions held; one more evicts the one whose expiry was set longest ago",
        ),
    )
    supports_scan = True

    def __init__(self, *, max_sessions: int | None = None, **options: Unpack[RecordOptions]) -> None:
        if max_sessions is not None and (
            isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1
        ):
            raise ConfigError(f"max_sessions must be a positive int or None, not {max_sessions!r}")
        super().__init__(**options)
        self.max_sessions = max_sessions
        # Records in the order their expiry was set: with one default_ttl for
        # all, expiry order. Each is held under its raw ID when its expiry was
        # set (its slot); a reworked record keeps its slot, and so its place,
        # and _slots maps its new raw ID to it.
        self._records: OrderedDict[str, StoredSession] = OrderedDict()
        self._slots: dict[str, str] = {}
        self._by_key: dict[str, dict[str, None]] = {}
        warn_once_if_several_workers(self.logger)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]} sessions=this process only, not shared with other workers>"

    def __len__(self) -> int:
        """How many records are held, expired ones not yet reclaimed included."""
        return len(self._records)

    def _slot(self, raw_id: str) -> str:
        return self._slots.get(raw_id, raw_id) if self._slots else raw_id

    def _live(self, raw_id: str, now: float) -> StoredSession | None:
        record = self._records.get(self._slot(raw_id))
        if (
            record is None
            # A reworked record's slot is its old ID, which must find nothing.
            or record.raw_id != raw_id
            or (record.expires_at is not None and record.expires_at <= now)
        ):
            return None
        return record

    def _add(self, record: StoredSession) -> None:
        """Add a record under a raw ID no record has (appended, so last in expiry order)."""
        slots = self._slots
        if (slots and record.raw_id in slots) or self._records.setdefault(
            record.raw_id, record
        ) is not record:
            _refuse_reused_id()
        self._index(record)

    def _index(self, record: StoredSession) -> None:
        keyed = self._by_key.get(record.session_key)
        if keyed is None:
            self._by_key[record.session_key] = {record.raw_id: None}
        else:
            keyed[record.raw_id] = None

    def _unindex(self, record: StoredSession) -> None:
        ids = self._by_key[record.session_key]
        del ids[record.raw_id]
        if not ids:
            del self._by_key[record.session_key]

    def _drop(self, raw_id: str) -> None:
        slot = self._slot(raw_id)
        record = self._records.get(slot)
        if record is not None and record.raw_id == raw_id:
            self._drop_slot(slot)

    def _drop_slot(self, slot: str) -> None:
        record = self._records.pop(slot)
        if record.raw_id != slot:
            del self._slots[record.raw_id]
        self._unindex(record)

    def _reclaim(self, now: float) -> None:
        """Drop expired records from the front; stops at the first live one."""
        records = self._records
        while records:
            slot, record = next(iter(records.items()))
            if record.expires_at is None:
                if self.default_ttl is not None:
                    # Made before default_ttl was set: to the back, one per write,
                    # so records that never expire do not keep the rest forever.
                    records.move_to_end(slot)
                return
            if record.expires_at > now:
                return
            self._drop_slot(slot)

    def _extend(self, record: StoredSession, extend_to: float | None) -> None:
        if extend_to is not None:
            record.expires_at = extend_to
            raw_id = record.raw_id
            slot = self._slot(raw_id)
            if slot == raw_id:
                self._records.move_to_end(raw_id)
            else:
                # A new expiry, so a new slot, at the back: under its own ID now.
                del self._records[slot], self._slots[raw_id]
                self._records[raw_id] = record

    async def insert_record(self, record: StoredSession) -> None:
        self._reclaim(record.created_at)
        self._add(record)
        if self.max_sessions is not None and len(self._records) > self.max_sessions:
            self._drop_slot(next(iter(self._records)))

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        record = self._live(raw_id, now)
        if record is None:
            return None
        self._extend(record, extend_to)
        return record.blob

    async def fetch_full_record(
        self, raw_id: str, now: float, extend_to: float | None
    ) -> StoredSession | None:
        record = self._live(raw_id, now)
        if record is None:
            return None
        self._extend(record, extend_to)
        return record

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        self._reclaim(now)
        record = self._live(raw_id, now)
        if record is None:
            return None
        if record.blob != expected:
            return False
        record.blob = blob
        self._extend(record, extend_to)
        return True

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        self._reclaim(now)
        record = self._live(raw_id, now)
        if record is None:
            return False
        # Records leave the store only to be read, so changing one in place is safe.
        record.blob = blob
        self._extend(record, extend_to)
        return True

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        self._reclaim(now)
        record = self._live(raw_id, now)
        if record is None:
            return False
        if new_raw_id in self._records or new_raw_id in self._slots:
            _refuse_reused_id()
        moved = dataclasses.replace(
            record,
            raw_id=new_raw_id,
            session_key=record.session_key if session_key is None else session_key,
            blob=record.blob if blob is None else blob,
        )
        # Its expiry is unchanged, so it keeps its slot: the order stays expiry
        # order, and an expired reworked record is reclaimed in its turn.
        slot = self._slots.pop(raw_id, raw_id)
        self._records[slot] = moved
        if new_raw_id != slot:
            self._slots[new_raw_id] = slot
        self._unindex(record)
        self._index(moved)
        return True

    async def remove_record(self, raw_id: str) -> None:
        self._drop(raw_id)

    async def remove_key_records(self, session_key: str) -> None:
        for raw_id in list(self._by_key.get(session_key, ())):
            self._drop(raw_id)

    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        live = (self._live(raw_id, now) for raw_id in self._by_key.get(session_key, ()))
        return [record for record in live if record is not None]

    async def purge_records(self, now: float, limit: int) -> int:
        # Expired records are at the front, so a batch stops after ``limit`` of
        # them, near the front; only the last, short batch reads every record.
        expired = list(
            itertools.islice(
                (
                    slot
                    for slot, record in self._records.items()
                    if record.expires_at is not None and record.expires_at <= now
                ),
                limit,
            )
        )
        for slot in expired:
            self._drop_slot(slot)
        return len(expired)

    async def scan_records(self, after: str | None, limit: int) -> RecordBatch:
        """The ``limit`` records with the smallest raw IDs after ``after``, in raw ID order.

        Raw IDs do not change order as records move in the expiry order, so
        the cursor is the last raw ID returned. Each batch reads every record
        (O(n log limit)), in slices with the event loop free between them: a
        store in one process's memory holds few enough for that.
        """
        records = list(self._records.values())
        found: list[StoredSession] = []
        for start in range(0, len(records), _SCAN_SLICE):
            if start:
                await asyncio.sleep(0)
            chunk: Iterable[StoredSession] = records[start : start + _SCAN_SLICE]
            if after is not None:
                chunk = [record for record in chunk if record.raw_id > after]
            found = heapq.nsmallest(limit, [*found, *chunk], key=_raw_id)
        return RecordBatch(found, found[-1].raw_id if len(found) == limit else None)

    async def estimate_record_count(self) -> int:
        return len(self._records)


def _raw_id(record: StoredSession) -> str:
    return record.raw_id


def _refuse_reused_id() -> NoReturn:
    # A slot's key counts as in use: a reworked record is still held under its first ID.
    raise DuplicateSessionIdError()
