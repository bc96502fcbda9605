"""What the Redis plugin does beyond the shared contract, checked on the server itself."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import math
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as redis

import jamsession
from jamsession import BackendUnavailableError, ConfigError, InvalidSessionKeyError, JamSessionNotFound
from jamsession.testing import FakeClock
from jamsession_redis import RedisSessions

PLUGIN = Path(__file__).parents[3] / "plugins" / "redis"


def session_name(prefix: str, raw_id: str) -> str:
    """The documented key of a session's hash: its raw ID ends with a dot and its tag."""
    return f"{prefix}{{{raw_id[-4:]}}}s:{raw_id}"


def index_name(prefix: str, session_key: str) -> str:
    """The documented key of a session key's index."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"{prefix}{{{digest[:4]}}}k:{digest}"


@pytest_asyncio.fixture
async def server(redis_url: str) -> AsyncIterator[redis.Redis]:
    """A plain client, to look at what the store wrote."""
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_session_keys_expire_in_redis_at_the_session_expiry(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    clock = FakeClock()
    async with RedisSessions(url=redis_url, prefix=prefix, default_ttl=60, clock=clock) as store:
        session_id = await store.create("alice", {"n": 1})
        expire_at = math.ceil((clock.now + 60) * 1000)
        assert expire_at == await server.pexpiretime(session_name(prefix, session_id))
        assert expire_at == await server.pexpiretime(index_name(prefix, "alice"))


async def test_sessions_without_ttl_never_expire_in_redis(
    store: RedisSessions, prefix: str, server: redis.Redis
) -> None:
    session_id = await store.create("alice", {"n": 1})
    assert -1 == await server.pexpiretime(session_name(prefix, session_id))
    assert -1 == await server.pexpiretime(index_name(prefix, "alice"))


async def test_a_session_redis_has_expired_is_gone(redis_url: str, prefix: str, server: redis.Redis) -> None:
    # A clock two minutes behind: the session's Redis TTL has run out as it is written.
    clock = FakeClock()
    clock.advance(-120)
    store = RedisSessions(url=redis_url, prefix=prefix, default_ttl=60, clock=clock)
    async with store:
        session_id = await store.create("alice", {"n": 1})
        assert 0 == await server.exists(session_name(prefix, session_id))
        assert await store.get(session_id) is None
        assert [] == await store.list_sessions("alice")
        with pytest.raises(JamSessionNotFound):
            await store.update(session_id, {"n": 2})
        assert await store.get(session_id) is None


async def test_the_index_forgets_sessions_redis_has_expired(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    clock = FakeClock()
    clock.advance(-120)
    async with RedisSessions(url=redis_url, prefix=prefix, default_ttl=60, clock=clock) as store:
        for _ in range(3):
            await store.create("alice", {})
        clock.advance(120)
        await store.create("alice", {})
        assert 1 == await server.zcard(index_name(prefix, "alice"))


async def test_sliding_expiry_moves_the_redis_expiry(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    clock = FakeClock()
    async with RedisSessions(
        url=redis_url, prefix=prefix, default_ttl=60, sliding_expiry=True, clock=clock
    ) as store:
        session_id = await store.create("alice", {"n": 1})
        clock.advance(50)
        assert {"n": 1} == await store.get(session_id)
        expire_at = math.ceil((clock.now + 60) * 1000)
        assert expire_at == await server.pexpiretime(session_name(prefix, session_id))
        assert expire_at == await server.pexpiretime(index_name(prefix, "alice"))


async def test_rework_keeps_the_redis_expiry(redis_url: str, prefix: str, server: redis.Redis) -> None:
    clock = FakeClock()
    async with RedisSessions(url=redis_url, prefix=prefix, default_ttl=60, clock=clock) as store:
        old = await store.create("alice", {"n": 1})
        before = await server.pexpiretime(session_name(prefix, old))
        clock.advance(30)
        new = await store.rework(old)
        assert 0 == await server.exists(session_name(prefix, old))
        assert before == await server.pexpiretime(session_name(prefix, new))
        assert [new.encode()] == await server.zrange(index_name(prefix, "alice"), 0, -1)


async def test_data_is_encrypted_at_rest_and_the_key_stays_out_of_the_id(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    secret = jamsession.generate_key()
    async with RedisSessions(
        url=redis_url, prefix=prefix, is_session_crypt=True, session_aes_secret=secret
    ) as store:
        token = await store.create("alice@example.com", {"secret": "hunter2"})
        assert "alice" not in token
        (session_key,) = await server.keys(f"{prefix}*}}s:*")
        stored = await server.hgetall(session_key)
        assert b"alice@example.com" == stored[b"k"]
        assert b"hunter2" not in stored[b"d"]
        assert token.encode() not in session_key


async def test_stores_with_different_prefixes_do_not_meet(redis_url: str) -> None:
    async with (
        RedisSessions(url=redis_url, prefix="app-one:") as one,
        RedisSessions(url=redis_url, prefix="app-two:") as two,
    ):
        kept = await two.create("alice", {"app": 2})
        await one.clear("alice")
        assert await one.get(kept) is None
        assert {"app": 2} == await two.get(kept)
        await two.clear("alice")


async def test_an_unreachable_server_gives_a_typed_error() -> None:
    # Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    async with RedisSessions(url="redis://127.0.0.1:1/0", timeout=2) as store:
        with pytest.raises(BackendUnavailableError) as caught:
            await store.get("0b8c2d61-9f24-4c1e-8a9e-3f1d8c1b2a4e.3fa9")
        with pytest.raises(BackendUnavailableError):
            await store.create("alice", {"n": 1})
    assert isinstance(caught.value, ConnectionError)
    assert "0b8c2d61" not in str(caught.value)


async def test_a_client_passed_in_is_left_open(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisSessions(client=client, prefix=prefix, default_ttl=60)
    async with store:
        session_id = await store.create("alice", {"n": 1})
        assert {"n": 1} == await store.get(session_id)
        assert [{"n": 1}] == [info.data for info in await store.list_sessions("alice")]
    assert await client.ping()
    await client.aclose()


async def test_a_client_passed_in_lends_the_store_a_connection_for_one_call_only(
    redis_url: str, prefix: str
) -> None:
    # A pool of one connection: had the store kept it, the application's own call would find none.
    client = redis.Redis.from_url(redis_url, max_connections=1)
    async with RedisSessions(client=client, prefix=prefix) as store:
        session_id = await store.create("alice", {"n": 1})
        assert {"n": 1} == await store.get(session_id)
        assert await client.ping()
    await client.aclose()


async def test_a_client_on_a_single_connection_works(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, single_connection_client=True)
    async with RedisSessions(client=client, prefix=prefix) as store:
        session_id = await store.create("alice", {"n": 1})
        assert {"n": 1} == await store.get(session_id)
        await store.update(session_id, {"n": 2})
        assert [{"n": 2}] == [info.data for info in await store.list_sessions("alice")]
    await client.aclose()


async def test_calls_beyond_max_connections_wait_for_one_and_open_no_more(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    before = len(await server.client_list())
    async with RedisSessions(url=redis_url, prefix=prefix, max_connections=2) as store:
        tokens = await asyncio.gather(*(store.create(f"user{n}", {"n": n}) for n in range(40)))
        assert [{"n": n} for n in range(40)] == await asyncio.gather(*(store.get(token) for token in tokens))
        assert len(await server.client_list()) - before <= 2


async def test_a_client_answering_text_is_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ConfigError, match="decode_responses=False"):
        RedisSessions(client=client)
    await client.aclose()


async def test_a_session_key_that_is_not_text_gets_the_core_typed_error(store: RedisSessions) -> None:
    with pytest.raises(InvalidSessionKeyError):
        await store.create(42, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidSessionKeyError):
        await store.clear(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "redis://127.0.0.1:6379/0", "client": object()}, "url or client, not both"),
        ({"url": "http://user:hunter2@example.com/"}, "redis://"),
        ({"prefix": ""}, "prefix"),
        ({"prefix": "app{1}:"}, "without braces"),
        ({"timeout": 0}, "timeout"),
        ({"default_ttl": math.nan}, "default_ttl"),
        ({"client": object()}, "redis.asyncio.Redis"),
        ({"url": "redis+sentinel://127.0.0.1:26379"}, "redis\\+sentinel://"),
        ({"max_connections": 0}, "max_connections"),
        ({"default_ttl": -5}, "default_ttl"),
        ({"sliding_expiry": True}, "sliding_expiry needs a default_ttl"),
    ],
)
def test_bad_options_give_a_config_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        RedisSessions(**options)  # type: ignore[arg-type]
    assert "hunter2" not in str(caught.value)


async def test_raw_ids_carry_the_tag_of_their_session_key_and_keep_the_factory_id(
    redis_url: str, prefix: str
) -> None:
    made = []

    def factory() -> str:
        made.append(str(uuid.uuid4()))
        return made[-1]

    async with RedisSessions(url=redis_url, prefix=prefix, id_factory=factory) as store:
        token = await store.create("alice", {"n": 1})
        tag = hashlib.sha256(b"alice").hexdigest()[:4]
        assert f"{made[-1]}.{tag}" == token
        reworked = await store.rework(token)
        assert f"{made[-1]}.{tag}" == reworked
        assert {"n": 1} == await store.get(reworked)


async def test_an_id_without_a_tag_is_no_session(store: RedisSessions) -> None:
    token = await store.create("alice", {"n": 1})
    assert await store.get(token[:-5]) is None
    assert await store.get(token[:-4] + "zzzz") is None
    with pytest.raises(JamSessionNotFound):
        await store.rework(token[:-5])


async def test_opened_by_name_from_its_entry_point(redis_url: str, prefix: str) -> None:
    async with jamsession.open("redis", url=redis_url, prefix=prefix, default_ttl=60) as store:
        assert isinstance(store, RedisSessions)
        session_id = await store.create("alice", {"n": 1})
        assert {"n": 1} == await store.get(session_id)


def test_listed_by_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jamsession._cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {
        "kind": "backend",
        "name": "redis",
        "distribution": "jamsession-redis",
        "version": "0.1.0",
        "target": "jamsession_redis:RedisSessions",
    } in json.loads(result.stdout)


def test_uses_only_the_public_api() -> None:
    """Written as a third party would: no private module, no private name of the core."""
    # Its own helpers may have any name that its base class does not use.
    base_class = jamsession.RecordSessionModule
    probe = type("Probe", (base_class,), dict.fromkeys(base_class.__abstractmethods__))
    base = probe(is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    core_private = {name for name in [*dir(base), *vars(base)] if name.startswith("_")}
    contract_dunders = {name for name in core_private if name.startswith("__") and name.endswith("__")}
    for path in sorted((PLUGIN / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jamsession"):
                assert node.module is not None
                assert not node.module.startswith("jamsession._"), f"{path.name}: {node.module}"
                if node.module == "jamsession":
                    assert all(not alias.name.startswith("_") for alias in node.names), path.name
            if isinstance(node, ast.Import):
                assert all(not alias.name.startswith("jamsession._") for alias in node.names), path.name
            if isinstance(node, ast.Attribute) and node.attr in core_private - contract_dunders:
                pytest.fail(f"{path.name}:{node.lineno} uses the core's private {node.attr}")


async def test_login_to_another_key_keeps_the_redis_expiry_and_moves_the_index(
    redis_url: str, prefix: str, server: redis.Redis
) -> None:
    clock = FakeClock()
    async with RedisSessions(url=redis_url, prefix=prefix, default_ttl=60, clock=clock) as store:
        old = await store.create("anonymous", {"cart": [1]})
        before = await server.pexpiretime(session_name(prefix, old))
        clock.advance(30)
        new = await store.rework(old, session_key="alice", data={"cart": [1], "user": "alice"})
        assert 0 == await server.exists(session_name(prefix, old))
        assert before == await server.pexpiretime(session_name(prefix, new))
        assert [new.encode()] == await server.zrange(index_name(prefix, "alice"), 0, -1)
        assert 0 == await server.zcard(index_name(prefix, "anonymous"))
        assert b"alice" == await server.hget(session_name(prefix, new), "k")


async def test_nothing_to_purge_redis_expires_sessions_itself(store: RedisSessions) -> None:
    await store.create("alice", {"n": 1})
    assert (False, 0) == (store.supports_purge, await store.purge_expired())
