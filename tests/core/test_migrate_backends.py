"""``migrate`` between every pair of built-in backends, crypt on and off, on real storage.

SQLite on files, MongoDB on the suite's SecantusDB server, Redis on a real
``redis-server``; memory in this process. Small counts: the matrix is wide.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from tests.plugins.mongodb.conftest import mongodb_url  # noqa: F401 - the server fixture
from tests.plugins.redis.conftest import redis_server, redis_url  # noqa: F401 - the server fixtures
from tests.plugins.redis.redis_alone import flavour  # noqa: F401 - Redis alone, not each flavour

import jamsession
from jamsession import RecordSessionModule, StoredSession
from jamsession.operations import migrate, rekey, store_stats

BACKENDS = ["memory", "sqlite", "mongodb", "redis"]
KEY, NEW_KEY = jamsession.generate_key(), jamsession.generate_key()
SESSIONS = 12


def _options(backend: str, request: pytest.FixtureRequest, tmp_path: Path, role: str) -> dict[str, Any]:
    if backend == "sqlite":
        return {"path": tmp_path / f"{role}.db"}
    if backend == "mongodb":
        return {"url": request.getfixturevalue("mongodb_url"), "collection": f"{role}_{uuid.uuid4().hex}"}
    if backend == "redis":
        return {"url": request.getfixturevalue("redis_url"), "prefix": f"{role}-{uuid.uuid4().hex}:"}
    return {}


@pytest.fixture
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[..., RecordSessionModule]]:
    async with AsyncExitStack() as stack:

        def make(backend: str, role: str, crypt: bool, **extra: Any) -> RecordSessionModule:
            options = _options(backend, request, tmp_path, role)
            if crypt:
                options.update(is_session_crypt=True, session_aes_secret=KEY)
            options.update(extra)
            store = jamsession.open(backend, **options)
            stack.push_async_callback(store.aclose)
            assert isinstance(store, RecordSessionModule)
            return store

        yield make


async def _fill(store: RecordSessionModule) -> dict[str, tuple[str, dict[str, Any]]]:
    tokens = {}
    for n in range(SESSIONS):
        key = f"user-{n % 3}"
        data = {"n": n, "name": "Zoë", "nested": {"list": [n, None, True]}}
        tokens[await store.create(key, data)] = (key, data)
    # One expired record, not yet removed where the backend keeps them: left behind.
    now = store.clock()
    raw_id = store.adopt_raw_id(f"expired-{uuid.uuid4()}", "user-0")
    await store.insert_record(StoredSession(raw_id, "user-0", store._dump_data({}), now - 100, now - 10))
    return tokens


@pytest.mark.parametrize("crypt", [False, True], ids=["plain", "crypt"])
@pytest.mark.parametrize("target_backend", BACKENDS)
@pytest.mark.parametrize("source_backend", BACKENDS)
async def test_migrate_carries_every_live_session_between_backends(
    source_backend: str,
    target_backend: str,
    crypt: bool,
    open_store: Callable[..., RecordSessionModule],
) -> None:
    source = open_store(source_backend, "source", crypt, default_ttl=3600)
    target = open_store(target_backend, "target", crypt)
    tokens = await _fill(source)
    report = await migrate(source, target, batch_size=5)

    # Redis IDs carry the hash tag of their session key: IDs of other backends get one.
    renamed = target_backend == "redis" and source_backend != "redis"
    assert (SESSIONS, 0, SESSIONS if renamed else 0) == (report.copied, report.present, report.new_ids)
    assert report.tokens_kept
    assert report.verification is not None
    assert report.verification.ok
    assert (SESSIONS, SESSIONS) == (report.verification.source_live, report.verification.target_live)
    for token, (_, data) in tokens.items():
        assert (None if renamed else data) == await target.get(token)
    # Every session is there under its key, with its data and times, tokens or not.
    for key in {key for key, _ in tokens.values()}:
        expected = sorted(
            (data["n"], info.created_at, info.expires_at)
            for info in await source.list_sessions(key)
            for data in [info.data]
        )
        actual = sorted(
            (info.data["n"], info.created_at, info.expires_at) for info in await target.list_sessions(key)
        )
        assert [n for n, _, _ in expected] == [n for n, _, _ in actual]
        for (_, created, expires), (_, copied_created, copied_expires) in zip(expected, actual, strict=True):
            assert abs(created - copied_created) < 0.002
            assert expires is not None
            assert copied_expires is not None
            assert abs(expires - copied_expires) < 0.002

    again = await migrate(source, target, batch_size=5)
    assert SESSIONS == again.carried
    if target_backend != "redis":
        assert (0, SESSIONS) == (again.copied, again.present)
    # Nothing twice: Redis takes an identical resend as done, the others find it there.
    assert again.verification is not None
    assert (SESSIONS, SESSIONS) == (again.verification.source_live, again.verification.target_live)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_rekey_and_stats_on_every_backend(
    backend: str, open_store: Callable[..., RecordSessionModule]
) -> None:
    store = open_store(backend, "rotating", True, session_aes_secret=[KEY, NEW_KEY])
    old = jamsession.open("memory", is_session_crypt=True, session_aes_secret=KEY)
    newest = jamsession.open("memory", is_session_crypt=True, session_aes_secret=NEW_KEY)
    now = store.clock()
    for n in range(10):
        key = f"user-{n % 2}"
        raw_id = store.adopt_raw_id(f"written-under-the-old-key-{n}", key)
        await store.insert_record(StoredSession(raw_id, key, old._dump_data({"n": n}), now, now + 3600))
    fresh = await store.create("user-0", {"n": 10})

    report = await rekey(store, batch_size=3)
    assert (10, 1, 0) == (report.rekeyed, report.current, report.left)
    found = await store_stats(store, batch_size=4)
    assert (11, 0, [("user-0", 6), ("user-1", 5)]) == (found.live, found.expired, found.top_keys)
    assert (10, 1) == (found.expiries["< 1 h"], found.expiries["never"])
    # Every record reads under the newest key alone; the token of the fresh one is untouched.
    records = []
    after = None
    while True:
        batch = await store.scan_records(after, 100)
        records += batch.records
        if batch.cursor is None:
            break
        after = batch.cursor
    assert list(range(11)) == sorted({r.raw_id: newest._load_data(r.blob)["n"] for r in records}.values())
    assert {"n": 10} == await store.get(fresh)
