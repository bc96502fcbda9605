"""``BackendConformance``: the semantics table of the contract, as tests."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import pytest

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import DuplicateSessionIdError, JamSessionNotFound, SerializationError
from jamsession._record import RecordSessionModule
from jamsession.testing._clock import FakeClock
from jamsession.testing._entries import EntryConformance
from jamsession.testing._foreign import FOREIGN_IDS, _derived_tokens
from jamsession.testing._scan import ScanConformance

SAMPLE = {"user": 42, "roles": ["admin", "staff"], "name": "Zoë", "prefs": {"dark": True}, "ratio": 0.5}


class BackendConformance(EntryConformance, ScanConformance):
    """The contract every backend keeps; subclass it and provide an async ``store`` fixture.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       Tests ``load``, ``patch``, ``revoke``, handles and ``rework`` to another
       key or with new data where the store declares ``supports_entries``.
    .. versionchanged:: 0.3
       Tests ``scan_records`` where the store declares ``supports_scan``.
    """

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.asyncio]

    # -- create / get ---------------------------------------------------------------

    async def test_create_then_get_returns_the_data(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", SAMPLE)
        assert isinstance(session_id, str)
        assert SAMPLE == await store.get(session_id)

    async def test_create_stores_a_copy(self, store: BaseAsyncSessionModule) -> None:
        data: dict[str, Any] = {"cart": [1, 2]}
        session_id = await store.create("alice", data)
        data["cart"].append(3)
        data["new"] = True
        assert {"cart": [1, 2]} == await store.get(session_id)

    async def test_get_returns_a_copy(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {"cart": [1, 2]})
        first = await store.get(session_id)
        assert first is not None
        first["cart"].append(3)
        assert {"cart": [1, 2]} == await store.get(session_id)

    async def test_empty_data_round_trips(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {})
        assert {} == await store.get(session_id)

    async def test_ids_are_distinct(self, store: BaseAsyncSessionModule) -> None:
        ids = {await store.create("alice", {}) for _ in range(20)}
        assert 20 == len(ids)

    async def test_session_key_never_appears_in_the_id(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice@example.com", {})
        assert "alice" not in session_id
        assert "example" not in session_id

    async def test_ids_are_url_and_cookie_safe(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {})
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        assert set() == set(session_id) - allowed

    async def test_session_keys_may_hold_any_characters(self, store: BaseAsyncSessionModule) -> None:
        keys = ["Zoë 😀", "a'b\"c", '{"$ne": null}', "' OR 1=1 --", "x\x00y", "%", "_", "*", ""]
        ids = {key: await store.create(key, {"key": key}) for key in keys}
        for key, session_id in ids.items():
            assert {"key": key} == await store.get(session_id)
        await store.clear('{"$ne": null}')
        await store.clear("%")
        await store.clear("*")
        assert await store.get(ids['{"$ne": null}']) is None
        assert {"key": "Zoë 😀"} == await store.get(ids["Zoë 😀"])
        assert {"key": "_"} == await store.get(ids["_"])

    async def test_get_unknown_id_returns_none(self, store: BaseAsyncSessionModule) -> None:
        other = await store.create("alice", {})
        await store.delete(other)
        assert await store.get(other) is None

    async def test_foreign_ids_read_as_no_session(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", SAMPLE)
        for foreign in FOREIGN_IDS + _derived_tokens(session_id):
            assert await store.get(foreign) is None, repr(foreign[:40])
            with pytest.raises(JamSessionNotFound):
                await store.update(foreign, {"x": 1})
            with pytest.raises(JamSessionNotFound):
                await store.rework(foreign)
            await store.delete(foreign)
        assert SAMPLE == await store.get(session_id)

    async def test_concurrent_creates_are_all_kept(self, store: BaseAsyncSessionModule) -> None:
        ids = await asyncio.gather(*(store.create(f"user{i % 7}", {"i": i}) for i in range(300)))
        assert 300 == len(set(ids))
        found = await asyncio.gather(*(store.get(session_id) for session_id in ids))
        assert [{"i": i} for i in range(300)] == found

    # -- an ID already in use ----------------------------------------------------------

    async def test_an_id_in_use_is_refused_with_one_typed_error_and_loses_nothing(
        self, store: BaseAsyncSessionModule
    ) -> None:
        if not isinstance(store, RecordSessionModule):
            pytest.skip(
                f"{type(store).__name__} writes the six methods itself; the refusal is the storage "
                f"primitives' contract (insert_record, move_record)"
            )
        taken = await store.create("alice", {"owner": "alice"})
        other = await store.create("bob", {"owner": "bob"})
        raw_id = store.__decode_session_id_if_needed__(taken)
        store.id_factory = lambda: raw_id
        with pytest.raises(DuplicateSessionIdError) as created:
            await store.create("mallory", {"owner": "mallory"})
        with pytest.raises(DuplicateSessionIdError) as reworked:
            await store.rework(other)
        assert [{"owner": "alice"}, {"owner": "bob"}] == [await store.get(taken), await store.get(other)]
        # With crypt off the raw ID is a working token: no message may hold it.
        assert [False, False] == [raw_id in str(caught.value) for caught in (created, reworked)]

    # -- data that cannot be stored --------------------------------------------------

    async def test_unstorable_data_raises_a_typed_error(self, store: BaseAsyncSessionModule) -> None:
        with pytest.raises(SerializationError) as caught:
            await store.create("alice", {"handle": object()})
        assert isinstance(caught.value, (TypeError, ValueError))
        if store.supports_listing:
            assert [] == await store.list_sessions("alice")  # type: ignore[attr-defined]

    async def test_unstorable_update_keeps_the_old_data(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {"n": 1})
        with pytest.raises(SerializationError):
            await store.update(session_id, {"handle": object()})
        assert {"n": 1} == await store.get(session_id)

    # -- update ---------------------------------------------------------------------

    async def test_update_replaces_the_data(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {"n": 1, "old": True})
        await store.update(session_id, {"n": 2})
        assert {"n": 2} == await store.get(session_id)

    async def test_update_of_a_deleted_session_raises_and_does_not_resurrect(
        self, store: BaseAsyncSessionModule
    ) -> None:
        session_id = await store.create("alice", {"n": 1})
        await store.delete(session_id)
        with pytest.raises(JamSessionNotFound):
            await store.update(session_id, {"n": 2})
        assert await store.get(session_id) is None

    async def test_update_racing_delete_never_resurrects(self, store: BaseAsyncSessionModule) -> None:
        session_ids = [await store.create("alice", {"n": i}) for i in range(20)]

        async def update(session_id: str) -> None:
            with contextlib.suppress(JamSessionNotFound):
                await store.update(session_id, {"n": -1})

        await asyncio.gather(
            *(op for sid in session_ids for op in (update(sid), store.delete(sid), update(sid)))
        )
        assert [None] * 20 == [await store.get(sid) for sid in session_ids]

    # -- delete ---------------------------------------------------------------------

    async def test_delete_removes_only_that_session(self, store: BaseAsyncSessionModule) -> None:
        gone = await store.create("alice", {"n": 1})
        kept = await store.create("alice", {"n": 2})
        await store.delete(gone)
        assert await store.get(gone) is None
        assert {"n": 2} == await store.get(kept)

    async def test_delete_twice_is_a_no_op(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {})
        await store.delete(session_id)
        await store.delete(session_id)
        assert await store.get(session_id) is None

    # -- rework ---------------------------------------------------------------------

    async def test_rework_moves_the_data_to_a_new_id(self, store: BaseAsyncSessionModule) -> None:
        old = await store.create("alice", SAMPLE)
        new = await store.rework(old)
        assert old != new
        assert await store.get(old) is None
        assert SAMPLE == await store.get(new)

    async def test_rework_keeps_the_session_key(self, store: BaseAsyncSessionModule) -> None:
        new = await store.rework(await store.create("alice", {}))
        await store.clear("alice")
        assert await store.get(new) is None

    async def test_rework_of_a_dead_session_raises(self, store: BaseAsyncSessionModule) -> None:
        session_id = await store.create("alice", {})
        await store.delete(session_id)
        with pytest.raises(JamSessionNotFound):
            await store.rework(session_id)

    async def test_old_id_is_dead_after_rework(self, store: BaseAsyncSessionModule) -> None:
        old = await store.create("alice", {"n": 1})
        new = await store.rework(old)
        with pytest.raises(JamSessionNotFound):
            await store.update(old, {"n": 2})
        with pytest.raises(JamSessionNotFound):
            await store.rework(old)
        assert {"n": 1} == await store.get(new)

    async def test_concurrent_reworks_have_exactly_one_winner(self, store: BaseAsyncSessionModule) -> None:
        old = await store.create("alice", {"n": 1})
        results = await asyncio.gather(*(store.rework(old) for _ in range(8)), return_exceptions=True)
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, JamSessionNotFound)]
        assert (1, 7) == (len(winners), len(losers))
        assert {"n": 1} == await store.get(winners[0])
        assert await store.get(old) is None

    # -- clear ----------------------------------------------------------------------

    async def test_clear_removes_every_session_of_the_key_only(self, store: BaseAsyncSessionModule) -> None:
        alice = [await store.create("alice", {"i": i}) for i in range(5)]
        bob = await store.create("bob", {"b": 1})
        await store.clear("alice")
        assert [None] * 5 == [await store.get(sid) for sid in alice]
        assert {"b": 1} == await store.get(bob)

    async def test_clear_of_an_unknown_key_is_a_no_op(self, store: BaseAsyncSessionModule) -> None:
        kept = await store.create("alice", {})
        await store.clear("nobody")
        assert {} == await store.get(kept)

    async def test_clear_racing_create_leaves_a_consistent_state(self, store: BaseAsyncSessionModule) -> None:
        results = await asyncio.gather(
            *(store.create("alice", {"i": i}) for i in range(20)), store.clear("alice")
        )
        created = [r for r in results if isinstance(r, str)]
        after = [await store.get(sid) for sid in created]
        # Each session either survived intact or is gone; a second clear removes all.
        assert all(data is None or set(data) == {"i"} for data in after)
        await store.clear("alice")
        assert [None] * 20 == [await store.get(sid) for sid in created]

    # -- encryption -----------------------------------------------------------------

    async def test_every_bit_flip_of_an_encrypted_id_is_rejected(self, store: BaseAsyncSessionModule) -> None:
        if not store.is_session_crypt:
            pytest.skip("crypt is off for this store")
        from jamsession._crypto import b64decode, b64encode

        session_id = await store.create("alice", {"n": 1})
        raw = bytearray(b64decode(session_id))
        for bit in range(len(raw) * 8):
            raw[bit // 8] ^= 1 << (bit % 8)
            assert await store.get(b64encode(bytes(raw))) is None
            raw[bit // 8] ^= 1 << (bit % 8)
        assert {"n": 1} == await store.get(session_id)

    async def test_ids_encrypted_under_another_key_are_rejected(self, store: BaseAsyncSessionModule) -> None:
        if not store.is_session_crypt:
            pytest.skip("crypt is off for this store")
        from jamsession._crypto import PURPOSE_ID, KeyRing, b64encode, generate_key

        session_id = await store.create("alice", {})
        raw = store.__decode_session_id__(session_id)
        forged = b64encode(KeyRing(generate_key()).encrypt(raw.encode(), PURPOSE_ID))
        assert await store.get(forged) is None
        assert {} == await store.get(session_id)

    # -- lifecycle ------------------------------------------------------------------

    async def test_aclose_twice_is_safe(self, store: BaseAsyncSessionModule) -> None:
        await store.create("alice", {})
        await store.aclose()
        await store.aclose()

    # -- optional: expiry -----------------------------------------------------------

    def _expiring(self, store: BaseAsyncSessionModule, ttl: float = 60) -> FakeClock:
        if not store.supports_ttl:
            pytest.skip(f"{type(store).__name__} does not declare supports_ttl")
        clock = FakeClock()
        store.clock = clock  # type: ignore[attr-defined]
        store.default_ttl = ttl  # type: ignore[attr-defined]
        return clock

    async def test_expired_sessions_are_never_returned(self, store: BaseAsyncSessionModule) -> None:
        clock = self._expiring(store)
        session_id = await store.create("alice", {"n": 1})
        clock.advance(59)
        assert {"n": 1} == await store.get(session_id)
        clock.advance(2)
        assert await store.get(session_id) is None

    async def test_update_of_an_expired_session_raises_and_does_not_resurrect(
        self, store: BaseAsyncSessionModule
    ) -> None:
        clock = self._expiring(store)
        session_id = await store.create("alice", {"n": 1})
        clock.advance(61)
        with pytest.raises(JamSessionNotFound):
            await store.update(session_id, {"n": 2})
        clock.now -= 30  # even a clock that steps back does not see it again as updated
        assert {"n": 2} != await store.get(session_id)

    async def test_rework_of_an_expired_session_raises(self, store: BaseAsyncSessionModule) -> None:
        clock = self._expiring(store)
        session_id = await store.create("alice", {})
        clock.advance(61)
        with pytest.raises(JamSessionNotFound):
            await store.rework(session_id)

    async def test_rework_keeps_the_absolute_expiry(self, store: BaseAsyncSessionModule) -> None:
        clock = self._expiring(store)
        old = await store.create("alice", {"n": 1})
        clock.advance(40)
        new = await store.rework(old)
        clock.advance(19)
        assert {"n": 1} == await store.get(new)
        clock.advance(2)
        assert await store.get(new) is None

    async def test_no_ttl_means_no_expiry(self, store: BaseAsyncSessionModule) -> None:
        clock = self._expiring(store)
        store.default_ttl = None  # type: ignore[attr-defined]
        session_id = await store.create("alice", {"n": 1})
        clock.advance(10 * 365 * 86400)
        assert {"n": 1} == await store.get(session_id)

    async def test_sliding_expiry_extends_on_read(self, store: BaseAsyncSessionModule) -> None:
        if not store.supports_sliding_expiry:
            pytest.skip(f"{type(store).__name__} does not declare supports_sliding_expiry")
        clock = self._expiring(store)
        store.sliding_expiry = True  # type: ignore[attr-defined]
        session_id = await store.create("alice", {"n": 1})
        for _ in range(3):
            clock.advance(50)
            assert {"n": 1} == await store.get(session_id)
        clock.advance(61)
        assert await store.get(session_id) is None

    # -- optional: listing and purging ----------------------------------------------

    async def test_list_sessions_gives_the_live_sessions_of_a_key(
        self, store: BaseAsyncSessionModule
    ) -> None:
        if not store.supports_listing:
            pytest.skip(f"{type(store).__name__} does not declare supports_listing")
        first = await store.create("alice", {"device": "phone"})
        await store.create("alice", {"device": "laptop"})
        await store.create("bob", {"device": "tablet"})
        listed = await store.list_sessions("alice")  # type: ignore[attr-defined]
        assert ["phone", "laptop"] == [info.data["device"] for info in listed]
        assert {"alice"} == {info.session_key for info in listed}
        if getattr(store, "supports_entries", False):
            # The listed handle ends that one session, as a "your devices" page does.
            assert await store.revoke("alice", listed[0].handle) is True  # type: ignore[attr-defined]
            assert await store.get(first) is None
            assert 1 == len(await store.list_sessions("alice"))  # type: ignore[attr-defined]
        assert [] == await store.list_sessions("nobody")  # type: ignore[attr-defined]

    async def test_list_sessions_leaves_out_expired_ones(self, store: BaseAsyncSessionModule) -> None:
        if not store.supports_listing:
            pytest.skip(f"{type(store).__name__} does not declare supports_listing")
        clock = self._expiring(store)
        await store.create("alice", {"n": 1})
        clock.advance(30)
        await store.create("alice", {"n": 2})
        clock.advance(31)
        assert [{"n": 2}] == [i.data for i in await store.list_sessions("alice")]  # type: ignore[attr-defined]

    async def test_purge_removes_expired_sessions_only(self, store: BaseAsyncSessionModule) -> None:
        if not store.supports_purge:
            pytest.skip(f"{type(store).__name__} does not declare supports_purge")
        clock = self._expiring(store)
        for i in range(5):
            await store.create("alice", {"i": i})
        clock.advance(30)
        live = await store.create("alice", {"live": True})
        clock.advance(31)
        assert 5 == await store.purge_expired()  # type: ignore[attr-defined]
        assert 0 == await store.purge_expired()  # type: ignore[attr-defined]
        assert {"live": True} == await store.get(live)
