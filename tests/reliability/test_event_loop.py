"""Work over one session key with 100,000 sessions leaves the event loop to other tasks as it goes.

A ticker task samples a progress count each time it gets the loop; between two
of its turns, the work under test may advance only by a bounded slice. No
clock is read: what is asserted is that the loop ran during the work, and how
much work happened between two of its turns.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tests.reliability.support import CountingJson, largest_step, progress_between_turns

from jamsession import StoredSession
from jamsession.testing import FakeClock
from jamsession_memory import MemorySessions

SESSIONS = 100_000
#: The test server takes a millisecond or more per insert: 100,000 in the stress run only.
MONGODB_SESSIONS = 3_000
#: At most this much work between two turns of the ticker.
SLICE = 2_000


# -- memory -------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def memory() -> AsyncIterator[MemorySessions]:
    async with MemorySessions(
        serializer=CountingJson, max_sessions=None, default_ttl=60, clock=FakeClock()
    ) as store:
        for _ in range(SESSIONS):
            await store.create("alice", {"n": 1})
        yield store


async def test_memory_clear_of_one_key_yields_as_it_goes(memory: MemorySessions) -> None:
    samples = await progress_between_turns(lambda: len(memory), memory.clear("alice"))
    assert (SESSIONS, 0) == (samples[0], samples[-1])
    assert largest_step(samples) <= SLICE


async def test_memory_clear_still_ends_every_session_if_its_caller_is_cancelled(
    memory: MemorySessions,
) -> None:
    tokens = [record.raw_id for record in list(memory._records.values())[:10]]
    clearing = asyncio.ensure_future(memory.clear("alice"))
    await asyncio.sleep(0)
    clearing.cancel()
    assert [None] * 10 == [await memory.get(token) for token in tokens]
    # The rest goes a slice per turn of the loop all the same.
    for _ in range(SESSIONS):
        if not len(memory):
            break
        await asyncio.sleep(0)
    assert 0 == len(memory)


async def test_memory_list_sessions_of_one_key_yields_as_it_goes(memory: MemorySessions) -> None:
    CountingJson.decoded = 0
    listing: list[Any] = []

    async def list_them() -> None:
        listing.extend(await memory.list_sessions("alice"))

    samples = await progress_between_turns(lambda: CountingJson.decoded, list_them())
    assert (0, SESSIONS, SESSIONS) == (samples[0], samples[-1], len(listing))
    assert largest_step(samples) <= SLICE


async def test_memory_revoke_among_one_keys_sessions_yields_as_it_goes(
    memory: MemorySessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jamsession._record

    named = 0
    handle_of = jamsession._record.session_handle

    def counting_handle(raw_id: str) -> str:
        nonlocal named
        named += 1
        return handle_of(raw_id)

    monkeypatch.setattr(jamsession._record, "session_handle", counting_handle)
    # A handle no session has: every session of the key is looked at.
    samples = await progress_between_turns(lambda: named, memory.revoke("alice", "0" * 16))
    assert (0, SESSIONS) == (samples[0], samples[-1])
    assert largest_step(samples) <= SLICE


async def test_memory_purge_of_one_key_yields_as_it_goes(memory: MemorySessions) -> None:
    assert isinstance(memory.clock, FakeClock)
    memory.clock.advance(61)
    samples = await progress_between_turns(lambda: len(memory), memory.purge_expired())
    assert (SESSIONS, 0) == (samples[0], samples[-1])
    assert largest_step(samples) <= SLICE


# -- MongoDB ------------------------------------------------------------------------------


# In a process of its own, as a real server would be, and with its TTL monitor
# at rest: the in-process test server would share the interpreter lock with
# the loop under test and rescan the collection every second.
_SERVER = """
import sys
from secantus import SecantusDBServer
server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=sys.argv[1], ttl_sweep_seconds=3600)
server.start()
print(server.address[1], flush=True)
sys.stdin.read()
server.stop()
"""


@pytest.fixture
def mongodb_server(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("secantus")
    pytest.importorskip("jamsession_mongodb")
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        yield f"mongodb://127.0.0.1:{server.stdout.readline().strip()}/"
    finally:
        server.stdin.close()
        server.wait(timeout=60)
        server.stdout.close()


@pytest.fixture(params=[MONGODB_SESSIONS, pytest.param(SESSIONS, marks=pytest.mark.slow)])
def mongodb_sessions(request: pytest.FixtureRequest) -> int:
    return request.param  # type: ignore[no-any-return]


@pytest_asyncio.fixture
async def mongodb(mongodb_server: str, mongodb_sessions: int) -> AsyncIterator[Any]:
    from jamsession_mongodb import MongoSessions
    from jamsession_mongodb._documents import to_document

    async with MongoSessions(
        url=mongodb_server,
        database="jamsession_reliability",
        collection=f"s_{uuid.uuid4().hex}",
        serializer=CountingJson,
        timeout=300,
    ) as store:
        await store.ensure_indexes()
        blob = store._dump_data({"n": 1})
        for start in range(0, mongodb_sessions, 1_000):
            await store.collection.insert_many(
                [
                    to_document(
                        StoredSession(uuid.uuid4().hex, "alice", blob, 1.0 + n, None, store.data_format)
                    )
                    for n in range(start, start + 1_000)
                ]
            )
        yield store


async def test_mongodb_list_sessions_of_one_key_yields_as_it_goes(
    mongodb: Any, mongodb_sessions: int
) -> None:
    CountingJson.decoded = 0
    listing: list[Any] = []

    async def list_them() -> None:
        listing.extend(await mongodb.list_sessions("alice"))

    samples = await progress_between_turns(lambda: CountingJson.decoded, list_them())
    assert (0, mongodb_sessions, mongodb_sessions) == (samples[0], samples[-1], len(listing))
    assert largest_step(samples) <= type(mongodb).key_slice_size


async def test_mongodb_clear_of_one_key_leaves_the_loop_free(mongodb: Any) -> None:
    turns = await progress_between_turns(lambda: 1, mongodb.clear("alice"))
    assert len(turns) > 2
    assert 0 == await mongodb.collection.count_documents({})
