"""The store features web sessions need, as tests: entries, patches, moves to a key, handles.

Run by :class:`~jamsession.testing.BackendConformance` for stores whose class
declares ``supports_entries``; the others skip them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import pytest

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import KeyRing, generate_key
from jamsession._errors import JamSessionNotFound, SerializationError
from jamsession.testing._clock import FakeClock

#: Millisecond stores (MongoDB's dates) floor times to the millisecond.
_TIME_TOLERANCE = 0.0015


def _entries(store: BaseAsyncSessionModule) -> Any:
    """The store, typed loosely, when it declares ``supports_entries``; skips the test otherwise."""
    if not getattr(store, "supports_entries", False):
        pytest.skip(f"{type(store).__name__} does not declare supports_entries")
    return store


def _timed(store: Any, ttl: float | None = 60) -> FakeClock:
    if not store.supports_ttl:
        pytest.skip(f"{type(store).__name__} does not declare supports_ttl")
    clock = FakeClock()
    store.clock = clock
    store.default_ttl = ttl
    return clock


def add_newer_key(store: BaseAsyncSessionModule) -> None:
    """Rotate a crypt-on store's keys in place: a fresh key becomes the newest, the others stay.

    What a restart with one more key, newest last, gives; tokens made before
    still decrypt, under what is now an older key.
    """
    older: KeyRing = store._require_keyring()
    ring = KeyRing(generate_key())
    ring._adopt([*ring._keys, *older._keys])
    store._keyring = ring


class EntryConformance:
    """``load``, ``patch``, ``rework`` to another key or with new data, handles and ``revoke``."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.asyncio]

    # -- load -----------------------------------------------------------------------

    async def test_load_gives_the_data_and_metadata(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        clock = _timed(entries, ttl=60)
        token = await entries.create("alice", {"n": 1, "nested": {"a": [1, 2]}})
        entry = await entries.load(token)
        assert entry is not None
        assert {"n": 1, "nested": {"a": [1, 2]}} == entry.data
        assert "alice" == entry.session_key
        assert clock.now == pytest.approx(entry.created_at, abs=_TIME_TOLERANCE)
        assert clock.now + 60 == pytest.approx(entry.expires_at, abs=_TIME_TOLERANCE)
        assert entry.needs_reissue is False
        assert isinstance(entry.handle, str)
        assert token not in entry.handle
        assert token not in repr(entry)
        assert "nested" not in repr(entry)

    async def test_load_without_expiry_gives_no_expiry(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        _timed(entries, ttl=None)
        entry = await entries.load(await entries.create("alice", {}))
        assert entry is not None
        assert (None, {}) == (entry.expires_at, entry.data)

    async def test_load_gives_a_fresh_dict(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"cart": [1]})
        entry = await entries.load(token)
        entry.data["cart"].append(2)
        assert {"cart": [1]} == await entries.get(token)

    async def test_load_reads_none_where_get_does(self, store: BaseAsyncSessionModule) -> None:
        from jamsession.testing._foreign import FOREIGN_IDS, _derived_tokens

        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        for foreign in FOREIGN_IDS + _derived_tokens(token):
            assert await entries.load(foreign) is None, repr(foreign[:40])
        gone = await entries.create("alice", {})
        await entries.delete(gone)
        assert await entries.load(gone) is None
        assert {"n": 1} == (await entries.load(token)).data

    async def test_load_of_an_expired_session_reads_none(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        clock = _timed(entries)
        token = await entries.create("alice", {})
        clock.advance(61)
        assert await entries.load(token) is None

    async def test_load_slides_the_expiry_and_reports_the_new_one(
        self, store: BaseAsyncSessionModule
    ) -> None:
        entries = _entries(store)
        if not entries.supports_sliding_expiry:
            pytest.skip(f"{type(store).__name__} does not declare supports_sliding_expiry")
        clock = _timed(entries)
        entries.sliding_expiry = True
        token = await entries.create("alice", {"n": 1})
        created = clock.now
        for _ in range(3):
            clock.advance(50)
            entry = await entries.load(token)
            assert clock.now + 60 == pytest.approx(entry.expires_at, abs=_TIME_TOLERANCE)
            assert created == pytest.approx(entry.created_at, abs=_TIME_TOLERANCE)
        clock.advance(61)
        assert await entries.load(token) is None

    # -- patch ----------------------------------------------------------------------

    async def test_patch_sets_and_removes_top_level_keys(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"keep": 1, "change": 1, "drop": 1})
        entry = await entries.patch(token, {"change": 2, "new": [3]}, ["drop", "never-there"])
        expected = {"keep": 1, "change": 2, "new": [3]}
        assert expected == entry.data
        assert expected == await entries.get(token)
        assert expected == (await entries.load(token)).data
        assert "alice" == entry.session_key

    async def test_patch_from_an_entry_skips_the_read(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        entry = await entries.load(token)
        reads = 0
        fetch = entries.fetch_full_record

        async def counting_fetch(*args: Any, **kwargs: Any) -> Any:
            nonlocal reads
            reads += 1
            return await fetch(*args, **kwargs)

        entries.fetch_full_record = counting_fetch
        try:
            patched = await entries.patch(token, {"m": 2}, expected=entry)
        finally:
            del entries.fetch_full_record
        assert (0, {"n": 1, "m": 2}) == (reads, patched.data)
        assert {"n": 1, "m": 2} == await entries.get(token)

    async def test_a_patch_from_a_stale_entry_merges(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 0})
        stale = await entries.load(token)
        await entries.patch(token, {"a": 1}, expected=stale)
        await entries.update(token, {"n": 1, "a": 1, "b": 1})
        merged = await entries.patch(token, {"c": 1}, ["b"], expected=stale)
        assert {"n": 1, "a": 1, "c": 1} == merged.data
        assert {"n": 1, "a": 1, "c": 1} == await entries.get(token)

    async def test_concurrent_patches_of_different_keys_all_persist(
        self, store: BaseAsyncSessionModule
    ) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"base": True})
        entry = await entries.load(token)
        results = await asyncio.gather(
            *(entries.patch(token, {f"k{i}": i}, expected=entry) for i in range(12)),
            *(entries.patch(token, {f"r{i}": i}) for i in range(12)),
        )
        expected = {"base": True, **{f"k{i}": i for i in range(12)}, **{f"r{i}": i for i in range(12)}}
        assert expected == await entries.get(token)
        # Each patch returns what it wrote: the changes of those before it, and its own.
        assert all(set(result.data) <= set(expected) for result in results)
        assert all(result.data["k3"] == 3 for result in results if "k3" in result.data)

    async def test_patch_of_a_deleted_session_raises_and_does_not_re_create(
        self, store: BaseAsyncSessionModule
    ) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        entry = await entries.load(token)
        await entries.delete(token)
        with pytest.raises(JamSessionNotFound):
            await entries.patch(token, {"n": 2})
        with pytest.raises(JamSessionNotFound):
            await entries.patch(token, {"n": 2}, expected=entry)
        assert await entries.get(token) is None
        assert await entries.load(token) is None
        if entries.supports_listing:
            assert [] == await entries.list_sessions("alice")

    async def test_patch_of_an_expired_session_raises(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        clock = _timed(entries)
        token = await entries.create("alice", {"n": 1})
        entry = await entries.load(token)
        clock.advance(61)
        with pytest.raises(JamSessionNotFound):
            await entries.patch(token, {"n": 2}, expected=entry)
        clock.now -= 30  # a clock that steps back does not see it patched
        assert {"n": 2} != await entries.get(token)

    async def test_patch_of_foreign_ids_raises(self, store: BaseAsyncSessionModule) -> None:
        from jamsession.testing._foreign import FOREIGN_IDS

        entries = _entries(store)
        for foreign in FOREIGN_IDS:
            with pytest.raises(JamSessionNotFound):
                await entries.patch(foreign, {"x": 1})

    async def test_patch_racing_delete_never_resurrects(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        tokens = [await entries.create("alice", {"n": i}) for i in range(10)]

        async def patch(token: str) -> None:
            with contextlib.suppress(JamSessionNotFound):
                await entries.patch(token, {"n": -1})

        await asyncio.gather(*(op for t in tokens for op in (patch(t), entries.delete(t), patch(t))))
        assert [None] * 10 == [await entries.get(t) for t in tokens]

    async def test_unstorable_patch_writes_nothing(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        with pytest.raises(SerializationError):
            await entries.patch(token, {"handle": object()})
        assert {"n": 1} == await entries.get(token)

    async def test_patch_slides_the_expiry(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        if not entries.supports_sliding_expiry:
            pytest.skip(f"{type(store).__name__} does not declare supports_sliding_expiry")
        clock = _timed(entries)
        entries.sliding_expiry = True
        token = await entries.create("alice", {"n": 1})
        clock.advance(50)
        entry = await entries.patch(token, {"n": 2})
        assert clock.now + 60 == pytest.approx(entry.expires_at, abs=_TIME_TOLERANCE)
        clock.advance(50)
        assert {"n": 2} == await entries.get(token)

    async def test_swap_record_tells_replaced_changed_and_gone(self, store: BaseAsyncSessionModule) -> None:
        from jamsession._record import RecordSessionModule

        _entries(store)
        if not isinstance(store, RecordSessionModule):
            pytest.skip(f"{type(store).__name__} does not use the storage primitives")
        clock = _timed(store)
        token = await store.create("alice", {"n": 1})
        raw_id = store._resolve_session_id(token)
        assert raw_id is not None
        record = await store.fetch_full_record(raw_id, clock(), None)
        assert record is not None
        stored = record.blob  # read at once: the record may be the store's own
        first, second = store._dump_data({"n": 2}), store._dump_data({"n": 3})
        assert await store.swap_record(raw_id, second, first, clock(), None) is False
        assert {"n": 1} == await store.get(token)
        assert await store.swap_record(raw_id, stored, first, clock(), clock() + 600) is True
        assert await store.swap_record(raw_id, stored, second, clock(), None) is False
        assert {"n": 2} == await store.get(token)
        after = await store.fetch_full_record(raw_id, clock(), None)
        assert after is not None
        assert clock() + 600 == pytest.approx(after.expires_at, abs=_TIME_TOLERANCE)
        clock.advance(601)
        assert await store.swap_record(raw_id, first, second, clock(), None) is None
        assert await store.fetch_full_record(raw_id, clock(), None) is None
        clock.now -= 601
        await store.delete(token)
        assert await store.swap_record(raw_id, first, second, clock(), None) is None
        assert await store.get(token) is None

    # -- rework to another key, with new data ----------------------------------------

    async def test_rework_moves_to_another_key_with_new_data(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        clock = _timed(entries)
        anonymous = await entries.create("anonymous", {"cart": [1], "csrf": "old"})
        clock.advance(10)
        logged_in = await entries.rework(anonymous, session_key="alice", data={"cart": [1]})
        assert await entries.get(anonymous) is None
        entry = await entries.load(logged_in)
        assert ("alice", {"cart": [1]}) == (entry.session_key, entry.data)
        # The absolute expiry is carried over.
        assert clock.now + 50 == pytest.approx(entry.expires_at, abs=_TIME_TOLERANCE)
        if entries.supports_listing:
            assert [] == await entries.list_sessions("anonymous")
            assert [entry.handle] == [info.handle for info in await entries.list_sessions("alice")]
        await entries.clear("anonymous")
        assert {"cart": [1]} == await entries.get(logged_in)
        await entries.clear("alice")
        assert await entries.get(logged_in) is None

    async def test_rework_to_another_key_keeps_the_data(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        old = await entries.create("anonymous", {"n": 1})
        new = await entries.rework(old, session_key="alice")
        assert ("alice", {"n": 1}) == ((e := await entries.load(new)).session_key, e.data)

    async def test_rework_with_data_keeps_the_key(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        old = await entries.create("alice", {"n": 1})
        new = await entries.rework(old, data={"n": 2})
        assert ("alice", {"n": 2}) == ((e := await entries.load(new)).session_key, e.data)
        assert await entries.load(old) is None

    async def test_rework_with_unstorable_data_changes_nothing(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("anonymous", {"n": 1})
        with pytest.raises(SerializationError):
            await entries.rework(token, session_key="alice", data={"handle": object()})
        assert ("anonymous", {"n": 1}) == ((e := await entries.load(token)).session_key, e.data)

    async def test_rework_to_a_key_of_a_dead_session_raises(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("anonymous", {})
        await entries.delete(token)
        with pytest.raises(JamSessionNotFound):
            await entries.rework(token, session_key="alice", data={"n": 1})
        if entries.supports_listing:
            assert [] == await entries.list_sessions("alice")

    async def test_concurrent_moves_to_keys_have_exactly_one_winner(
        self, store: BaseAsyncSessionModule
    ) -> None:
        entries = _entries(store)
        token = await entries.create("anonymous", {"n": 0})
        results = await asyncio.gather(
            *(entries.rework(token, session_key=f"user{i}", data={"n": i}) for i in range(8)),
            return_exceptions=True,
        )
        winners = [(i, r) for i, r in enumerate(results) if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, JamSessionNotFound)]
        assert (1, 7) == (len(winners), len(losers))
        ((index, new),) = winners
        entry = await entries.load(new)
        assert (f"user{index}", {"n": index}) == (entry.session_key, entry.data)
        assert await entries.get(token) is None
        if entries.supports_listing:
            listed = {i: len(await entries.list_sessions(f"user{i}")) for i in range(8)}
            assert {i: int(i == index) for i in range(8)} == listed

    async def test_a_patch_racing_a_move_lands_before_it_or_not_at_all(
        self, store: BaseAsyncSessionModule
    ) -> None:
        entries = _entries(store)
        for round_ in range(6):
            token = await entries.create("anonymous", {"n": round_})
            entry = await entries.load(token)

            async def patch(key: str, token: str = token, entry: Any = entry) -> bool:
                try:
                    await entries.patch(token, {key: True}, expected=entry)
                except JamSessionNotFound:
                    return False
                return True

            patched_first, moved, patched_late = await asyncio.gather(
                patch("first"), entries.rework(token, session_key="alice"), patch("late")
            )
            data = await entries.get(moved)
            # A patch that returned is in the moved session; one that did not, is nowhere.
            assert {"n": round_} | {
                k: True for k, ok in [("first", patched_first), ("late", patched_late)] if ok
            } == data
            assert await entries.get(token) is None

    # -- handles and revoke -------------------------------------------------------------

    async def test_handles_are_stable_and_match_the_entry(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        if not entries.supports_listing:
            pytest.skip(f"{type(store).__name__} does not declare supports_listing")
        first = await entries.create("alice", {"device": "phone"})
        second = await entries.create("alice", {"device": "laptop"})
        listed = await entries.list_sessions("alice")
        handles = [info.handle for info in listed]
        await entries.update(first, {"device": "phone", "seen": 2})
        await entries.patch(second, {"seen": 3})
        assert handles == [info.handle for info in await entries.list_sessions("alice")]
        assert handles == [(await entries.load(first)).handle, (await entries.load(second)).handle]
        assert 2 == len(set(handles))
        for info in listed:
            assert not hasattr(info, "session_id")
            assert first not in repr(info)
            assert second not in repr(info)

    async def test_a_handle_logs_no_one_in(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        handle = (await entries.load(token)).handle
        assert handle not in token
        assert token not in handle
        assert await entries.get(handle) is None
        assert await entries.load(handle) is None
        with pytest.raises(JamSessionNotFound):
            await entries.update(handle, {"n": 2})
        with pytest.raises(JamSessionNotFound):
            await entries.patch(handle, {"n": 2})
        with pytest.raises(JamSessionNotFound):
            await entries.rework(handle)
        await entries.delete(handle)
        assert {"n": 1} == await entries.get(token)

    async def test_revoke_ends_the_session_a_handle_names(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        phone = await entries.create("alice", {"device": "phone"})
        laptop = await entries.create("alice", {"device": "laptop"})
        handle = (await entries.load(phone)).handle
        assert await entries.revoke("alice", handle) is True
        assert await entries.get(phone) is None
        assert {"device": "laptop"} == await entries.get(laptop)
        assert await entries.revoke("alice", handle) is False
        if entries.supports_listing:
            assert ["laptop"] == [info.data["device"] for info in await entries.list_sessions("alice")]

    async def test_revoke_needs_the_handle_and_the_right_key(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {"n": 1})
        handle = (await entries.load(token)).handle
        assert await entries.revoke("mallory", handle) is False
        assert await entries.revoke("alice", token) is False
        # Other spellings are not the handle: its last digit changed, and its upper case
        # (which an all-digit handle, about one in 1,800, does not have).
        assert await entries.revoke("alice", handle[:-1] + ("1" if handle[-1] == "0" else "0")) is False
        if handle.upper() != handle:
            assert await entries.revoke("alice", handle.upper()) is False
        assert await entries.revoke("alice", "") is False
        assert await entries.revoke("alice", 42) is False
        assert {"n": 1} == await entries.get(token)

    async def test_a_reworked_session_gets_a_new_handle(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        old = await entries.create("alice", {})
        old_handle = (await entries.load(old)).handle
        new = await entries.rework(old)
        assert old_handle != (await entries.load(new)).handle
        assert await entries.revoke("alice", old_handle) is False
        assert {} == await entries.get(new)

    # -- key rotation -------------------------------------------------------------------

    async def test_no_reissue_is_needed_without_rotation(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        token = await entries.create("alice", {})
        assert (await entries.load(token)).needs_reissue is False
        assert (await entries.patch(token, {"n": 1})).needs_reissue is False
        assert (await entries.load(await entries.rework(token))).needs_reissue is False

    async def test_needs_reissue_after_key_rotation(self, store: BaseAsyncSessionModule) -> None:
        entries = _entries(store)
        if not store.is_session_crypt:
            pytest.skip("crypt is off for this store: its tokens are not encrypted under any key")
        before = await entries.create("alice", {"n": 1})
        assert (await entries.load(before)).needs_reissue is False
        add_newer_key(store)
        entry = await entries.load(before)
        assert (True, {"n": 1}) == (entry.needs_reissue, entry.data)
        assert (await entries.patch(before, {"m": 2})).needs_reissue is True
        reissued = await entries.rework(before)
        assert (False, {"n": 1, "m": 2}) == ((e := await entries.load(reissued)).needs_reissue, e.data)
        after = await entries.create("alice", {})
        assert (await entries.load(after)).needs_reissue is False
        assert await entries.load(before) is None
