"""Every shipped backend's operations reach the telemetry, named by the backend as OpenTelemetry names it.

Real servers: SQLite on a file, MongoDB on the suite's test server, Redis on a
``redis-server`` started on 127.0.0.1 (skipped, saying why, where it is not installed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.plugins.mongodb.conftest import mongodb_url  # noqa: F401 - the session fixture, shared
from tests.plugins.redis.conftest import redis_server, redis_url  # noqa: F401 - the session fixtures, shared
from tests.plugins.redis.redis_alone import flavour  # noqa: F401 - Redis alone, not each flavour
from tests.plugins.telemetry.conftest import Telemetry

import jamsession
from jamsession import JamSessionNotFound
from jamsession._crypto import b64decode, b64encode

Opener = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture(params=["memory", "sqlite", "mongodb", "redis"])
def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Opener]:
    """The backend's installed name, and a function opening an empty store of it."""
    name: str = request.param
    if name == "sqlite":
        options: dict[str, Any] = {"path": tmp_path / "sessions.db"}
    elif name == "mongodb":
        url = request.getfixturevalue("mongodb_url")
        options = {"url": url, "database": "jamsession_telemetry", "collection": tmp_path.name}
    elif name == "redis":
        options = {"url": request.getfixturevalue("redis_url"), "prefix": f"{tmp_path.name}:"}
    else:
        options = {}

    @asynccontextmanager
    async def open_store(**more: Any) -> AsyncIterator[Any]:
        async with jamsession.open(name, **options, **more) as store:
            yield store

    return name, open_store


class Clock:
    # Starts at the real time: MongoDB's TTL monitor removes records whose expiry is past by the real clock.
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_every_operation_is_a_span_and_a_sample_named_by_its_backend(
    telemetry: Telemetry, open_backend: tuple[str, Opener]
) -> None:
    backend, open_store = open_backend
    key = jamsession.generate_key()
    async with open_store(is_session_crypt=True, session_aes_secret=key, default_ttl=3600) as store:
        token = await store.create("anonymous", {"cart": 1})
        assert {"cart": 1} == await store.get(token)
        entry = await store.load(token)
        await store.patch(token, {"cart": 2}, expected=entry)
        await store.update(token, {"cart": 3})
        user_token = await store.rework(token, session_key="alice", data={"cart": 3})  # a login
        assert None is await store.load(token)
        with pytest.raises(JamSessionNotFound):
            await store.patch(token, {"cart": 4})
        [info] = await store.list_sessions("alice")
        assert False is await store.revoke("bob", info.handle)
        assert True is await store.revoke("alice", info.handle)
        second = await store.create("alice", {})
        await store.delete(second)
        await store.clear("alice")
        assert None is await store.get(user_token)

    operations = [
        ("create", "ok"),
        ("get", "ok"),
        ("load", "ok"),
        ("patch", "ok"),
        ("update", "ok"),
        ("rework", "ok"),
        ("load", "miss"),
        ("patch", "miss"),
        ("list_sessions", "ok"),
        ("revoke", "miss"),
        ("revoke", "ok"),
        ("create", "ok"),
        ("delete", "ok"),
        ("clear", "ok"),
        ("get", "miss"),
    ]
    spans = telemetry.spans()
    assert [f"{operation} sessions" for operation, _ in operations] == [span.name for span in spans]
    assert [(backend, operation, outcome) for operation, outcome in operations] == [
        (
            span.attributes["db.system.name"],  # type: ignore[index]
            span.attributes["db.operation.name"],  # type: ignore[index]
            span.attributes["jamsession.outcome"],  # type: ignore[index]
        )
        for span in spans
    ]
    expected: dict[tuple[str, str, str], float] = {}
    for operation, outcome in operations:
        expected[backend, operation, outcome] = expected.get((backend, operation, outcome), 0) + 1
    samples = telemetry.samples(
        "jamsession_operation_duration_seconds_count", "backend", "operation", "outcome"
    )
    assert expected == {labels: value for labels, value in samples.items() if value}
    histogram = {
        (point.attributes["db.system.name"], point.attributes["db.operation.name"]): point.count
        for point in telemetry.points("db.client.operation.duration")
    }
    assert {(backend, operation) for operation, _ in operations} == set(histogram)
    assert len(operations) == sum(histogram.values())
    # Counters of the lifecycle: two sessions made, one login, a revoke and a delete, one log-out everywhere.
    assert {(backend,): 2.0} == telemetry.samples("jamsession_sessions_created_total", "backend")
    assert {(backend,): 1.0} == telemetry.samples("jamsession_sessions_reworked_total", "backend")
    assert {(backend,): 2.0} == telemetry.samples("jamsession_sessions_deleted_total", "backend")
    assert {(backend,): 1.0} == telemetry.samples("jamsession_session_keys_cleared_total", "backend")


async def test_rejection_reasons_on_every_backend(
    telemetry: Telemetry, open_backend: tuple[str, Opener]
) -> None:
    backend, open_store = open_backend
    clock = Clock()
    # Redis expires its keys by its own clock: the sessions expire in real time there.
    ttl = 1 if backend == "redis" else 60
    options = {"is_session_crypt": True, "default_ttl": ttl}
    async with (
        # Fixed keys, of different ids: a random pair shares its id once in 128.
        open_store(session_aes_secret=bytes([0]) * 32, **options) as store,
        open_store(session_aes_secret=bytes([1]) * 32, **options) as foreign,
    ):
        if backend != "redis":
            store.clock = clock
        tokens = [await store.create("alice", {"n": n}) for n in range(5)]
        foreign_token = await foreign.create("alice", {})
        assert None is await store.get("not a token")
        assert None is await store.get(foreign_token)
        sealed = b64decode(await store.create("mallory", {}))
        assert None is await store.get(b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1])))
        clock.now += 61
        if backend == "redis":
            await asyncio.sleep(1.1)
        expired_on_read = backend in ("sqlite", "mongodb")  # see docs/telemetry.md: until purged
        assert None is await store.get(tokens[0])
        assert None is await store.load(tokens[1])
        with pytest.raises(JamSessionNotFound):
            await store.update(tokens[2], {"n": 0})
        with pytest.raises(JamSessionNotFound):
            await store.patch(tokens[3], {"n": 0})
        with pytest.raises(JamSessionNotFound):
            await store.rework(tokens[4])

    rejected = telemetry.samples("jamsession_tokens_rejected_total", "backend", "reason")
    expected = {(backend, "malformed"): 1.0, (backend, "unknown key"): 1.0, (backend, "tampered"): 1.0}
    if expired_on_read:
        expected[backend, "expired"] = 5.0
    # memory: the first read reclaims what expired (a slice per operation): nothing is left to report.
    assert expected == {labels: value for labels, value in rejected.items() if value}
    expired = telemetry.samples("jamsession_sessions_expired_total", "backend")
    assert {labels: value for labels, value in expired.items() if value} == (
        {(backend,): expected[backend, "expired"]} if (backend, "expired") in expected else {}
    )
