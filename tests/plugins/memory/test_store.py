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
