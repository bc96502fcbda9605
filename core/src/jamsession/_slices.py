"""Building a long list on the event loop in bounded slices, without full garbage collections.

One session key may hold any number of sessions, so listing them makes
objects in proportion. Building them all at once would hold the event
loop; :func:`build_in_slices` yields to it between slices instead.

Slicing alone is not enough. Python's cyclic garbage collector walks the
whole heap (a *full* collection) each time the objects that survived its
younger generations reach a quarter of the old ones, and a long list is
nothing but survivors: building 100,000 sessions triggers several full
collections, the last ones walking every object of the process, each in
one piece on whichever slice allocated last. So while a long list is built,
automatic collection is paused, and when the last such build ends, what was
allocated meanwhile (and whatever was still young when it began) joins the
oldest generation without being walked (``gc.freeze()`` then
``gc.unfreeze()``). The list costs a full collection only if it is still
alive when the application's own allocations trigger one, as any data the
application holds would; cycles that became garbage during the pause are
collected by that collection instead of a younger one.

The pause is skipped when the application has turned automatic collection
off or keeps objects frozen (``gc.freeze()`` before forking workers, say):
thawing would undo that.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

__all__ = ["build_in_slices"]

_T = TypeVar("_T")
_R = TypeVar("_R")

#: Most items built between two yields to the event loop.
SLICE_ITEMS = 256

#: Seconds after which a slice ends early (large items).
SLICE_SECONDS = 0.002

#: Items from which automatic garbage collection pauses while the list is built:
#: below this, the collections a build triggers walk few objects.
PAUSE_FROM = 1024

_pause_lock = threading.Lock()
#: Builds under way that paused collection, and whether the first of them turned it off.
_pausing = 0
_paused = False


async def build_in_slices(
    items: Sequence[_T], build: Callable[[_T], _R | None], *, release: bool = False
) -> list[_R]:
    """``[build(item) for item in items]`` without the ``None`` results, yielding to the event loop.

    For storage primitives and other code that turns a number of items
    without bound (the sessions of one key, say) into objects on the event
    loop: each slice takes at most a couple of milliseconds, and a long list
    triggers no full garbage collection while it is built (see the module's
    documentation).

    Example::

        async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
            rows = await self._db.fetch_all(LIST_KEY, session_key, now)
            return await build_in_slices(
                rows, lambda row: StoredSession(row[0], session_key, *row[1:]), release=True
            )

    Args:
        items: What to build from.
        build: Turns one item into the object to list, or ``None`` to leave it out.
        release: Empty ``items`` (a list nothing else needs) slice by slice,
            so that freeing them is sliced too: freed at once, a list of
            100,000 rows holds the event loop for tens of milliseconds.

    Returns:
        The built objects, in the order of ``items``.

    .. versionadded:: 0.2
    """
    releasing = items if release and isinstance(items, list) else None
    if release and releasing is None:
        raise TypeError(f"release=True empties a list, not a {type(items).__name__}")
    built: list[_R] = []
    with _collection_paused(len(items) >= PAUSE_FROM):
        start = 0
        first = True
        while start < len(items):
            if not first:
                await asyncio.sleep(0)
            first = False
            slice_ends = time.monotonic() + SLICE_SECONDS
            stop = min(start + SLICE_ITEMS, len(items))
            index = start
            while index < stop:
                result = build(items[index])
                index += 1
                if result is not None:
                    built.append(result)
                if time.monotonic() > slice_ends:
                    break
            if releasing is not None:
                del releasing[:index]
            else:
                start = index
    return built


@contextlib.contextmanager
def _collection_paused(pause: bool) -> Iterator[None]:
    global _pausing, _paused  # noqa: PLW0603 - one collector per process, shared by every build
    if not pause:
        yield
        return
    with _pause_lock:
        if not _pausing:
            _paused = gc.isenabled() and not gc.get_freeze_count()
            if _paused:
                gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausing -= 1
            if not _pausing and _paused:
                # Into the oldest generation, unwalked: no full collection on account of this list.
                gc.freeze()
                gc.unfreeze()
                gc.enable()
                _paused = False
