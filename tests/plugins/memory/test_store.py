"""What the memory backend offers beyond the shared contract."""

import pytest

from jamsession import ConfigError
from jamsession.testing import FakeClock
from jamsession_memory import MemorySessions


async def test_expired_records_are_reclaimed_without_a_purge() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=10, clock=clock)
    for _ in range(1000):
        await store.create("churn", {})
        clock.advance(1)
    # Only the sessions of the last ten seconds are still held.
    assert 10 == len(store)


async def test_max_sessions_evicts_the_oldest() -> None:
    store = MemorySessions(max_sessions=3)
    ids = [await store.create("alice", {"i": i}) for i in range(5)]
    assert [None, None, {"i": 2}, {"i": 3}, {"i": 4}] == [await store.get(sid) for sid in ids]
    assert 3 == len(store)


async def test_clear_forgets_the_key_entirely() -> None:
    store = MemorySessions()
    await store.create("alice", {})
    await store.clear("alice")
    assert 0 == len(store)
    assert {} == store._by_key


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3"])
def test_max_sessions_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ConfigError, match="max_sessions"):
        MemorySessions(max_sessions=bad)  # type: ignore[arg-type]


async def test_stored_data_is_encrypted_at_rest_when_crypt_is_on() -> None:
    from jamsession import generate_key

    store = MemorySessions(is_session_crypt=True, session_aes_secret=generate_key())
    await store.create("alice", {"secret": "hunter2"})
    (record,) = store._records.values()
    assert b"hunter2" not in record.blob
    assert "alice" == record.session_key


async def test_a_duplicate_id_from_the_id_factory_is_a_typed_error_and_changes_nothing() -> None:
    store = MemorySessions(id_factory=lambda: "same-id")
    await store.create("alice", {"n": 1})
    with pytest.raises(ConfigError, match="id_factory"):
        await store.create("bob", {"n": 2})
    with pytest.raises(ConfigError, match="id_factory"):
        await store.rework("same-id")
    assert {"n": 1} == await store.get("same-id")
    assert ([], 1) == (await store.list_sessions("bob"), len(store))


async def test_updates_and_sliding_expiry_change_the_stored_record_only() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=10, sliding_expiry=True, clock=clock)
    session_id = await store.create("alice", {"n": 1})
    data = await store.get(session_id)
    assert data is not None
    data["n"] = 99  # a caller's copy: the store must not see this
    clock.advance(8)
    await store.update(session_id, {"n": 2})
    clock.advance(8)  # 16 s after creation, 8 after the update pushed the expiry back
    assert {"n": 2} == await store.get(session_id)
    [info] = await store.list_sessions("alice")
    assert clock() + 10 == info.expires_at
