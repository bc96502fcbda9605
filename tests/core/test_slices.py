"""build_in_slices: long lists built on the event loop in slices, with no garbage collection meanwhile."""

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from jamsession import build_in_slices
from jamsession._slices import PAUSE_FROM, SLICE_ITEMS
from jamsession.testing import Ticker


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every garbage collection that starts while the test runs."""
    started: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(watch)
    try:
        yield started
    finally:
        gc.callbacks.remove(watch)


def nested(n: int) -> dict[str, Any] | None:
    # Containers, as decoded sessions are: each one is tracked by the collector.
    return None if n % 7 == 0 else {"n": n, "roles": [str(n)], "cart": [{"qty": n}]}


async def test_builds_in_order_without_the_none_results_letting_the_loop_turn_between_slices() -> None:
    items = range(10 * SLICE_ITEMS)
    async with Ticker() as ticker:
        before = ticker.ticks
        built = await build_in_slices(items, nested)
        turns = ticker.ticks - before
    assert [nested(n) for n in items if n % 7] == built
    assert 9 <= turns  # at least once between two of the (at least) ten slices


async def test_a_long_list_is_built_without_any_garbage_collection(collections: list[int]) -> None:
    built = await build_in_slices(range(4 * PAUSE_FROM), nested)
    assert [] == collections
    assert gc.isenabled()
    assert 0 == gc.get_freeze_count()
    # Afterwards collection runs as before, and the list is intact.
    gc.collect()
    assert [nested(n) for n in range(4 * PAUSE_FROM) if n % 7] == built


async def test_a_short_list_leaves_collection_as_it_is(collections: list[int]) -> None:
    await build_in_slices(range(PAUSE_FROM - 1), nested)
    assert [] != collections


async def test_objects_the_application_froze_stay_frozen(collections: list[int]) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        await build_in_slices(range(4 * PAUSE_FROM), nested)
        # Some frozen objects may have been freed meanwhile; thawed, none would be left.
        assert frozen // 2 < gc.get_freeze_count()
        assert [] != collections  # no pause: thawing would have undone the application's freeze
        assert gc.isenabled()
    finally:
        gc.unfreeze()


async def test_collection_turned_off_by_the_application_stays_off() -> None:
    gc.disable()
    try:
        await build_in_slices(range(4 * PAUSE_FROM), nested)
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_overlapping_builds_resume_collection_when_the_last_ends() -> None:
    first_done = asyncio.Event()
    paused_after_first: list[bool] = []

    async def first() -> None:
        await build_in_slices(range(PAUSE_FROM), nested)
        first_done.set()

    async def second() -> list[dict[str, Any]]:
        def build(n: int) -> dict[str, Any] | None:
            if first_done.is_set() and not paused_after_first:
                paused_after_first.append(not gc.isenabled())
            return nested(n)

        return await build_in_slices(range(20 * PAUSE_FROM), build)

    await asyncio.gather(first(), second())
    assert [True] == paused_after_first
    assert gc.isenabled()
    assert 0 == gc.get_freeze_count()


async def test_a_cancelled_build_resumes_collection() -> None:
    cancelled = asyncio.Event()

    def build(n: int) -> dict[str, Any] | None:
        if n == 2 * SLICE_ITEMS:
            task.cancel()
            cancelled.set()
        return nested(n)

    task = asyncio.create_task(build_in_slices(range(4 * PAUSE_FROM), build))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
    assert gc.isenabled()
    assert 0 == gc.get_freeze_count()


async def test_release_empties_the_list_slice_by_slice() -> None:
    total = 3 * SLICE_ITEMS + 5
    items = list(range(total))
    seen: dict[int, int] = {}

    def build(n: int) -> dict[str, Any] | None:
        seen[n] = len(items)
        return nested(n)

    built = await build_in_slices(items, build, release=True)
    assert [nested(n) for n in range(total) if n % 7] == built
    assert [] == items
    # Building item n, the slices before its own are gone, and a slice holds at most SLICE_ITEMS.
    assert [] == [n for n, left in seen.items() if not total - n <= left < total - n + SLICE_ITEMS]


async def test_release_of_what_is_not_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="release=True empties a list, not a tuple"):
        await build_in_slices((1, 2), nested, release=True)
