"""What the memory backend offers beyond the shared contract."""

import pytest

from jamsession import ConfigError, JamSessionNotFound
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


async def test_max_sessions_reclaims_an_expired_reworked_session_before_evicting_a_live_one() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=100, clock=clock, max_sessions=3)
    a = await store.create("alice", {"n": "a"})  # expires at 100
    clock.advance(10)
    b = await store.create("alice", {"n": "b"})  # expires at 110
    clock.advance(10)
    c = await store.create("alice", {"n": "c"})  # expires at 120
    clock.advance(10)
    reworked_a = await store.rework(a)  # keeps its expiry at 100
    clock.advance(75)  # now 105: the reworked session has expired, b and c have not
    d = await store.create("alice", {"n": "d"})
    assert [None, {"n": "b"}, {"n": "c"}, {"n": "d"}] == [
        await store.get(sid) for sid in (reworked_a, b, c, d)
    ]
    assert 3 == len(store)


async def test_rework_keeps_a_sessions_place_in_the_eviction_order() -> None:
    store = MemorySessions(max_sessions=3)
    a, b, c = [await store.create("alice", {"n": n}) for n in "abc"]
    reworked_a = await store.rework(a)
    d = await store.create("alice", {"n": "d"})
    assert [None, {"n": "b"}, {"n": "c"}, {"n": "d"}] == [
        await store.get(sid) for sid in (reworked_a, b, c, d)
    ]


async def test_a_session_without_expiry_does_not_stop_reclaiming() -> None:
    clock = FakeClock()
    store = MemorySessions(clock=clock)  # no default_ttl: this session never expires
    forever = await store.create("service", {})
    store.default_ttl = 10
    for _ in range(1000):
        clock.advance(1)
        await store.create("churn", {})
    # The session without expiry, and those of the last ten seconds.
    assert 11 == len(store)
    assert {} == await store.get(forever)


async def test_a_purge_batch_removes_at_most_its_limit_of_expired_sessions_only() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=100, clock=clock)
    await store.create("service", {})  # a long TTL, first in line
    store.default_ttl = 10
    expired = [await store.create("alice", {}) for _ in range(250)]
    store.default_ttl = None
    forever = await store.create("service", {})
    store.default_ttl = 100
    live = [await store.create("bob", {}) for _ in range(100)]
    clock.advance(10)
    # No write since: alice's expired sessions sit among live ones and one without expiry.
    assert (100, 252) == (await store.purge_records(clock(), 100), len(store))
    assert (150, 102) == (await store.purge_expired(), len(store))
    assert (0, 102) == (await store.purge_expired(), len(store))
    assert [None] * 250 == [await store.get(sid) for sid in expired]
    assert [{}] * 101 == [await store.get(sid) for sid in (forever, *live)]


async def test_a_reworked_sessions_old_id_reaches_nothing_although_it_names_its_slot() -> None:
    store = MemorySessions(default_ttl=100)
    old = await store.create("alice", {"n": 1})
    new = await store.rework(old)
    await store.delete(old)
    with pytest.raises(JamSessionNotFound):
        await store.update(old, {"n": 2})
    assert (None, {"n": 1}, 1) == (await store.get(old), await store.get(new), len(store))
    newer = await store.rework(new)
    await store.update(newer, {"n": 3})
    assert ([None, None, {"n": 3}], 1) == ([await store.get(sid) for sid in (old, new, newer)], len(store))
    await store.delete(newer)
    assert (0, {}) == (len(store), store._slots)


async def test_a_mass_expiry_is_reclaimed_a_slice_per_operation_not_by_one_write() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=10, clock=clock)
    for _ in range(10_000):
        await store.create("alice", {})
    clock.advance(11)
    tokens = [await store.create("bob", {})]
    # One write reclaimed one slice of the 10,000 expired sessions, not all of them.
    assert 10_000 + 1 - MemorySessions.reclaim_batch_size == len(store)
    tokens.extend([await store.create("bob", {}) for _ in range(10_000 // MemorySessions.reclaim_batch_size)])
    assert len(tokens) == len(store)
    assert len(tokens) == len(await store.list_sessions("bob"))


async def test_reads_reclaim_expired_sessions_too() -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=10, clock=clock)
    tokens = [await store.create("alice", {}) for _ in range(200)]
    clock.advance(11)
    assert await store.get(tokens[-1]) is None
    assert 200 - MemorySessions.reclaim_batch_size == len(store)


def test_max_sessions_is_bounded_by_default() -> None:
    from jamsession_memory import DEFAULT_MAX_SESSIONS

    assert (100_000, 100_000) == (DEFAULT_MAX_SESSIONS, MemorySessions().max_sessions)
    assert MemorySessions(max_sessions=None).max_sessions is None


async def test_evicting_live_sessions_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    store = MemorySessions(max_sessions=2)
    with caplog.at_level("WARNING", logger="jamsession"):
        for _ in range(4):
            await store.create("alice", {})
    [record] = caplog.records
    assert "max_sessions=2" in record.getMessage()
    assert 2 == len(store)


@pytest.mark.parametrize(("operation", "removed"), [("load", 0), ("patch", 0), ("rework", 0), ("revoke", 1)])
async def test_the_store_features_reclaim_a_slice_of_a_mass_expiry_each(operation: str, removed: int) -> None:
    clock = FakeClock()
    store = MemorySessions(default_ttl=10, clock=clock)
    for _ in range(1000):
        await store.create("alice", {})
    clock.advance(11)
    token = await store.create("bob", {"n": 1})
    entry = await store.load(token)
    assert entry is not None
    held = len(store)
    if operation == "load":
        await store.load(token)
    elif operation == "patch":
        await store.patch(token, {"m": 2}, expected=entry)
    elif operation == "rework":
        await store.rework(token, session_key="carol", data={"n": 2})
    else:
        assert await store.revoke("bob", entry.handle)
    assert held - MemorySessions.reclaim_batch_size - removed == len(store)


# Resident bytes of 20,000 sessions of ~700 bytes of JSON, measured in a fresh
# process so the test's own heap does not blur it. The data is stored by the
# operation named in argv[1]; the others start from an empty session.
_RESIDENT_PER_SESSION = """
import asyncio, gc, os, sys
from jamsession_memory import MemorySessions

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

async def main(operation):
    store = MemorySessions(serializer="json")
    data = {"note": "n" * 400, "prefs": {f"k{i}": i * 1.5 for i in range(30)}}
    gc.collect()
    before = resident()
    for i in range(20_000):
        if operation == "create":
            await store.create(f"user{i % 100}", data)
            continue
        token = await store.create(f"user{i % 100}", {})
        if operation == "update":
            await store.update(token, data)
        elif operation == "patch":
            await store.patch(token, data)
        else:
            await store.rework(token, data=data)
    gc.collect()
    print((resident() - before) // 20_000)

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize("operation", ["create", "update", "patch", "rework"])
def test_a_json_session_takes_about_its_size_in_memory_not_the_serializers_buffer(operation: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _RESIDENT_PER_SESSION, operation],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    per_session = int(result.stdout)
    # About 700 bytes of data, plus the record, its ID and two index entries;
    # kept as orjson returned it, each took over 4 KB.
    assert per_session < 2000, per_session


def test_max_sessions_is_a_declared_option_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import jamsession

    assert 100_000 == jamsession.options_of(MemorySessions)["max_sessions"].default
    monkeypatch.setenv("JAMSESSION_MAX_SESSIONS", "250")
    store = jamsession.from_config({"backend": "memory"})
    assert isinstance(store, MemorySessions)
    assert 250 == store.max_sessions
    monkeypatch.setenv("JAMSESSION_MAX_SESSIONS", "none")
    store = jamsession.from_config({"backend": "memory"})
    assert isinstance(store, MemorySessions)
    assert store.max_sessions is None
