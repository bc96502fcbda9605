"""The scan tests of the conformance suite: :meth:`~jamsession.RecordSessionModule.scan_records`.

Run on every store whose class declares ``supports_scan``; the others skip them.
"""

from __future__ import annotations

from typing import Any

import pytest

from jamsession._base import BaseAsyncSessionModule
from jamsession._record import RecordBatch, RecordSessionModule, StoredSession
from jamsession.testing._clock import FakeClock


def _scanning(store: BaseAsyncSessionModule) -> RecordSessionModule:
    """The store, when it declares ``supports_scan``; skips the test otherwise."""
    if not getattr(store, "supports_scan", False):
        pytest.skip(f"{type(store).__name__} does not declare supports_scan")
    assert isinstance(store, RecordSessionModule)
    return store


async def scan_all(store: RecordSessionModule, limit: int) -> list[StoredSession]:
    """Every record a whole scan returns, batch after batch (a record may come twice)."""
    records: list[StoredSession] = []
    after: str | None = None
    for _ in range(100_000):
        batch = await store.scan_records(after, limit)
        assert isinstance(batch, RecordBatch)
        records += batch.records
        if batch.cursor is None:
            return records
        after = batch.cursor
    raise AssertionError("the scan never ended")


class ScanConformance:
    """``scan_records``: every stored record, in bounded batches, through concurrent writes.

    .. versionadded:: 0.3
    """

    async def test_scan_of_an_empty_store_ends_with_nothing(self, store: BaseAsyncSessionModule) -> None:
        scanning = _scanning(store)
        assert [] == await scan_all(scanning, 10)

    async def test_scan_returns_every_record_with_its_key_data_and_times(
        self, store: BaseAsyncSessionModule
    ) -> None:
        scanning = _scanning(store)
        before = scanning.clock()
        tokens = {f"user-{n % 4}:{n}": await store.create(f"user-{n % 4}", {"n": n}) for n in range(23)}
        after = scanning.clock()
        expected = {
            scanning.__decode_session_id_if_needed__(token): (name.split(":")[0], int(name.split(":")[1]))
            for name, token in tokens.items()
        }
        seen = await scan_all(scanning, 5)
        actual = {
            record.raw_id: (record.session_key, scanning._load_data(record.blob)["n"]) for record in seen
        }
        assert expected == actual
        # Stored times round to the millisecond on some backends.
        assert [] == [r for r in seen if not before - 0.002 <= r.created_at <= after + 0.002]

    async def test_scan_batches_hold_at_most_about_the_limit(self, store: BaseAsyncSessionModule) -> None:
        scanning = _scanning(store)
        for n in range(30):
            await store.create("alice", {"n": n})
        after: str | None = None
        sizes: list[int] = []
        while True:
            batch = await scanning.scan_records(after, 7)
            sizes.append(len(batch.records))
            if batch.cursor is None:
                break
            after = batch.cursor
        # Redis's SCAN treats its count as a hint: a batch may be somewhat larger.
        assert [] == [size for size in sizes if size > 2 * 7]
        assert 30 <= sum(sizes)

    async def test_scan_gives_expiry_so_callers_tell_expired_records(
        self, store: BaseAsyncSessionModule
    ) -> None:
        scanning = _scanning(store)
        if not scanning.supports_ttl:
            pytest.skip(f"{type(store).__name__} does not declare supports_ttl")
        clock = FakeClock()
        scanning.clock = clock
        scanning.default_ttl = 60
        token = await store.create("alice", {"n": 1})
        scanning.default_ttl = None
        forever = await store.create("bob", {"n": 2})
        records = {record.raw_id: record for record in await scan_all(scanning, 10)}
        expiring = records[scanning.__decode_session_id_if_needed__(token)]
        assert expiring.expires_at is not None
        assert abs(clock.now + 60 - expiring.expires_at) < 0.002
        assert records[scanning.__decode_session_id_if_needed__(forever)].expires_at is None

    async def test_scan_returns_every_record_kept_through_concurrent_writes(
        self, store: BaseAsyncSessionModule
    ) -> None:
        scanning = _scanning(store)
        kept = [await store.create("alice", {"n": n}) for n in range(20)]
        doomed = [await store.create("bob", {"n": n}) for n in range(10)]
        seen: list[StoredSession] = []
        after: str | None = None
        changes: list[Any] = list(doomed)
        while True:
            batch = await scanning.scan_records(after, 4)
            seen += batch.records
            # Between batches the app goes on: sessions come and go.
            if changes:
                await store.delete(changes.pop())
                await store.create("carol", {"new": True})
            if batch.cursor is None:
                break
            after = batch.cursor
        seen_ids = {record.raw_id for record in seen}
        missing = [token for token in kept if scanning.__decode_session_id_if_needed__(token) not in seen_ids]
        assert [] == missing

    async def test_a_record_copied_in_keeps_an_adopted_id(self, store: BaseAsyncSessionModule) -> None:
        # What `jamsession migrate` does: insert under adopt_raw_id, same ID on every copy.
        scanning = _scanning(store)
        raw_id = scanning.adopt_raw_id("copied-0123456789abcdef", "alice")
        assert raw_id == scanning.adopt_raw_id("copied-0123456789abcdef", "alice")
        now = scanning.clock()
        blob = scanning._dump_data({"copied": True})
        await scanning.insert_record(StoredSession(raw_id, "alice", blob, now, None))
        token = scanning.__encode_session_id_if_needed__(raw_id)
        assert {"copied": True} == await store.get(token)
