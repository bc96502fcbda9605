"""A backend over the eight primitives of 0.1, written before entries, keeps working as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from jamsession import DuplicateSessionIdError, RecordSessionModule, StoredSession
from jamsession.testing import BackendConformance, StoreVariant, store_variants


class OldDictSessions(RecordSessionModule):
    """The primitives as they were: no fetch_full_record, no swap_record, a three-argument move."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._records: dict[str, StoredSession] = {}

    def _live(self, raw_id: str, now: float) -> StoredSession | None:
        record = self._records.get(raw_id)
        if record is not None and (record.expires_at is None or record.expires_at > now):
            return record
        return None

    async def insert_record(self, record: StoredSession) -> None:
        if record.raw_id in self._records:
            raise DuplicateSessionIdError()
        self._records[record.raw_id] = record

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        record = self._live(raw_id, now)
        if record is not None and extend_to is not None:
            record.expires_at = extend_to
        return None if record is None else record.blob

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        record = self._live(raw_id, now)
        if record is None:
            return False
        record.blob = blob
        if extend_to is not None:
            record.expires_at = extend_to
        return True

    # The 0.1 signature, on purpose: a backend written before move_record took a key and data.
    async def move_record(self, raw_id: str, new_raw_id: str, now: float) -> bool:  # type: ignore[override]
        record = self._live(raw_id, now)
        if record is None:
            return False
        if new_raw_id in self._records:
            raise DuplicateSessionIdError()
        del self._records[raw_id]
        record.raw_id = new_raw_id
        self._records[new_raw_id] = record
        return True

    async def remove_record(self, raw_id: str) -> None:
        self._records.pop(raw_id, None)

    async def remove_key_records(self, session_key: str) -> None:
        for record in [r for r in self._records.values() if r.session_key == session_key]:
            del self._records[record.raw_id]

    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        mine = [r for r in self._records.values() if r.session_key == session_key]
        return [r for r in mine if self._live(r.raw_id, now)]

    async def purge_records(self, now: float, limit: int) -> int:
        dead = [raw_id for raw_id in self._records if self._live(raw_id, now) is None][:limit]
        for raw_id in dead:
            del self._records[raw_id]
        return len(dead)


class TestOldPrimitivesConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(self, request: pytest.FixtureRequest) -> AsyncIterator[OldDictSessions]:
        variant: StoreVariant = request.param
        async with OldDictSessions(**variant.options) as store:
            yield store


async def test_it_declares_no_entries_and_says_so_when_asked_for_them() -> None:
    store = OldDictSessions()
    assert store.supports_entries is False
    token = await store.create("anonymous", {"n": 1})
    with pytest.raises(NotImplementedError, match="OldDictSessions does not implement fetch_full_record"):
        await store.load(token)
    with pytest.raises(NotImplementedError, match="fetch_full_record"):
        await store.patch(token, {"n": 2})
    with pytest.raises(NotImplementedError, match="move_record's session_key and blob"):
        await store.rework(token, session_key="alice", data={"n": 2})
    # Nothing was changed, and a plain rework works as it always did.
    assert {"n": 1} == await store.get(token)
    assert {"n": 1} == await store.get(await store.rework(token))


async def test_its_listing_names_sessions_by_handles_which_revoke_takes() -> None:
    store = OldDictSessions()
    token = await store.create("alice", {"n": 1})
    (listed,) = await store.list_sessions("alice")
    assert token not in listed.handle
    assert await store.get(listed.handle) is None
    assert await store.revoke("alice", listed.handle) is True
    assert await store.get(token) is None
