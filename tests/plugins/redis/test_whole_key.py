"""Work over one session key with many sessions leaves the event loop to other tasks as it goes.

On Redis a key's whole work is one script (``LIST``, ``REMOVE_KEY``), run by
the server; what the loop does is turn the reply into records and decode
them, both in slices. A ticker task samples a progress count each time it
gets the loop: between two of its turns, the work may advance only by a
bounded slice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from tests.reliability.support import CountingJson, largest_step, progress_between_turns

from jamsession_redis import RedisSessions

#: At most this many records decoded between two turns of the ticker (the core's list slice).
SLICE = 256


@pytest.fixture(params=[20_000, pytest.param(100_000, marks=pytest.mark.slow)])
def sessions(request: pytest.FixtureRequest) -> int:
    return request.param  # type: ignore[no-any-return]


@pytest_asyncio.fixture
async def crowded(redis_url: str, prefix: str, sessions: int) -> AsyncIterator[RedisSessions]:
    async with RedisSessions(url=redis_url, prefix=prefix, serializer=CountingJson, default_ttl=600) as store:
        for start in range(0, sessions, 500):
            await asyncio.gather(*(store.create("alice", {"n": n}) for n in range(start, start + 500)))
        yield store


async def test_list_sessions_of_one_key_yields_as_it_goes(crowded: RedisSessions, sessions: int) -> None:
    CountingJson.decoded = 0
    listing: list[Any] = []

    async def list_them() -> None:
        listing.extend(await crowded.list_sessions("alice"))

    samples = await progress_between_turns(lambda: CountingJson.decoded, list_them())
    assert (0, sessions, sessions) == (samples[0], samples[-1], len(listing))
    assert largest_step(samples) <= SLICE


async def test_clear_of_one_key_leaves_the_loop_free(crowded: RedisSessions) -> None:
    turns = await progress_between_turns(lambda: 1, crowded.clear("alice"))
    assert len(turns) > 2
    assert [] == await crowded.list_sessions("alice")


class SmallPages(RedisSessions):
    key_slice_size = 50


async def test_pages_list_and_clear_every_session_of_the_key_once(redis_url: str, prefix: str) -> None:
    async with SmallPages(url=redis_url, prefix=prefix) as store:
        # Past 128 members a sorted set is a skiplist, which ZSCAN walks a page at a time.
        tokens = await asyncio.gather(*(store.create("alice", {"n": n}) for n in range(1_000)))
        other = await store.create("bob", {"n": -1})
        listed = await store.list_sessions("alice")
        assert list(range(1_000)) == sorted(info.data["n"] for info in listed)
        await store.clear("alice")
        assert [] == await store.list_sessions("alice")
        assert [None] * 5 == [await store.get(token) for token in tokens[:5]]
        assert {"n": -1} == await store.get(other)


@pytest.mark.parametrize("operation", ["list_sessions", "clear"])
async def test_no_script_handles_more_than_a_page_of_a_key(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    async with RedisSessions(url=redis_url, prefix=prefix) as store:
        await asyncio.gather(*(store.create("alice", {}) for _ in range(3 * RedisSessions.key_slice_size)))
        handled: list[int] = []
        run = store._run

        async def counting_run(script: Any, keys: Any, args: Any) -> Any:
            reply = await run(script, keys, args)
            if script.name in {"list", "remove_key"}:
                # A listing replies with a cursor and four items a session; a clear, with a count.
                handled.append((len(reply) - 1) // 4 if isinstance(reply, list) else reply)
            return reply

        monkeypatch.setattr(store, "_run", counting_run)
        await getattr(store, operation)("alice")
        assert 3 * RedisSessions.key_slice_size <= sum(handled)
        assert max(handled) <= RedisSessions.key_slice_size * 1.1  # ZSCAN's COUNT is a hint
        assert len(handled) >= 3
