"""On a real three-master Redis Cluster: slots, one user's sessions together, a master lost and back."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time

import redis.asyncio as redis
from redis.crc import key_slot
from tests.plugins.redis.conftest import RedisCluster, RedisServer

from jamsession import BackendUnavailableError, JamSessionNotFound
from jamsession_redis import RedisSessions

TIMEOUT = 1.5


async def _slot_owners(cluster: RedisCluster) -> dict[int, int]:
    """The port of the master that owns each slot."""
    client = redis.Redis(port=cluster.nodes[0].port)
    try:
        ranges = await client.execute_command("CLUSTER", "SLOTS")
    finally:
        await client.aclose()
    return {slot: int(start[2][1]) for start in ranges for slot in range(start[0], start[1] + 1)}


def _slot_of(prefix: str, token: str) -> int:
    return key_slot(f"{prefix}{{{token[-4:]}}}s:{token}".encode())


async def test_one_keys_sessions_share_a_slot_and_clear_and_list_work_across_masters(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    async with RedisSessions(url=redis_cluster.url, prefix=prefix, default_ttl=600) as store:
        users = [f"user-{number}" for number in range(30)]
        tokens = {user: [await store.create(user, {"n": n}) for n in range(3)] for user in users}
        owners = await _slot_owners(redis_cluster)
        assert 3 == len({owners[_slot_of(prefix, token)] for user in users for token in tokens[user]})
        for user in users:
            assert 1 == len({_slot_of(prefix, token) for token in tokens[user]})
            assert 3 == len(await store.list_sessions(user))
        reworked = await store.rework(tokens["user-0"][0])
        assert _slot_of(prefix, tokens["user-0"][0]) == _slot_of(prefix, reworked)
        await store.clear("user-1")
        assert [] == await store.list_sessions("user-1")
        assert {"n": 0} == await store.get(tokens["user-2"][0])


async def test_a_master_lost_mid_load_gives_typed_errors_loses_no_acknowledged_write_elsewhere_and_recovers(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    victim: RedisServer = redis_cluster.nodes[1]
    owners = await _slot_owners(redis_cluster)
    acknowledged: dict[str, dict[str, int]] = {}
    failures: list[BaseException] = []
    slowest = 0.0
    stop = asyncio.Event()

    async def client_loop(store: RedisSessions, worker: int) -> None:
        nonlocal slowest
        number = 0
        while not stop.is_set():
            number += 1
            data = {"worker": worker, "n": number}
            started = time.monotonic()
            try:
                token = await store.create(f"user-{worker}-{number}", data)
            except BackendUnavailableError as exc:
                failures.append(exc)
            else:
                acknowledged[token] = data
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0)

    async with RedisSessions(url=redis_cluster.url, prefix=prefix, timeout=TIMEOUT) as store:
        workers = [asyncio.create_task(client_loop(store, worker)) for worker in range(20)]
        try:
            await asyncio.sleep(0.5)
            victim.stop()
            await asyncio.sleep(1.5)
            failed_while_down = len(failures)
            # In a thread: the load goes on, and its timings stay honest.
            await asyncio.to_thread(victim.start)
            await asyncio.to_thread(redis_cluster.wait_until_ok)
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await asyncio.gather(*workers)

        # While the master was down, the calls to its slots failed, typed and in bounded time.
        assert failed_while_down > 0
        assert all(isinstance(exc, BackendUnavailableError) for exc in failures)
        assert slowest < TIMEOUT + 1.0
        # Every acknowledged write on a master that stayed up is still there.
        survivors = {
            token: data
            for token, data in acknowledged.items()
            if owners[_slot_of(prefix, token)] != victim.port
        }
        assert survivors
        for token, data in survivors.items():
            assert data == await store.get(token)
        # The restarted master serves its slots again (it kept no data: the servers run without persistence).
        recovered = []
        for worker in range(30):
            with contextlib.suppress(BackendUnavailableError):
                token = await store.create(f"after-{worker}", {"n": worker})
                recovered.append(owners[_slot_of(prefix, token)])
        assert victim.port in recovered
        assert 30 == len(recovered)


def _keys_in_other_slots(prefix: str) -> tuple[str, str]:
    """Two session keys whose tags hash to different slots."""
    first = "anonymous"
    first_slot = key_slot(hashlib.sha256(first.encode()).hexdigest()[:4].encode())
    for number in range(100):
        other = f"user-{number}"
        if key_slot(hashlib.sha256(other.encode()).hexdigest()[:4].encode()) != first_slot:
            return first, other
    raise AssertionError("no key in another slot")


async def test_login_to_a_key_in_another_slot_moves_data_key_and_expiry(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    anonymous, user = _keys_in_other_slots(prefix)
    async with RedisSessions(url=redis_cluster.url, prefix=prefix, default_ttl=600) as store:
        token = await store.create(anonymous, {"cart": [1]})
        before = await store.load(token)
        assert before is not None
        new = await store.rework(token, session_key=user, data={"cart": [1], "user": True})
        assert _slot_of(prefix, token) != _slot_of(prefix, new)
        assert await store.get(token) is None
        after = await store.load(new)
        assert after is not None
        assert (user, {"cart": [1], "user": True}) == (after.session_key, after.data)
        assert (before.created_at, before.expires_at) == (after.created_at, after.expires_at)
        assert [] == await store.list_sessions(anonymous)
        assert [after.handle] == [info.handle for info in await store.list_sessions(user)]
        # Of two concurrent logins from one session, one wins.
        second = await store.create(anonymous, {})
        outcomes = await asyncio.gather(
            store.rework(second, session_key=user),
            store.rework(second, session_key=user),
            return_exceptions=True,
        )
        assert 1 == sum(isinstance(outcome, str) for outcome in outcomes)
        assert 1 == sum(isinstance(outcome, JamSessionNotFound) for outcome in outcomes)
