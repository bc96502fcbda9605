"""Event-loop fairness: a store's operations let the application's other tasks run.

A store that does I/O keeps three promises to the event loop it runs on:

* every operation suspends the awaiting coroutine at least once, so a
  coroutine awaiting operations back to back never starves the others;
* many coroutines running operations at once still leave turns to others;
* work proportional to a session key's sessions (``list_sessions``,
  ``clear``, ``purge_expired``) runs off the event loop or in bounded
  slices, however many sessions the key holds.

:func:`check_event_loop_fairness` checks them with a :class:`Ticker`, a task
that counts the event loop's turns, and reports what did not hold. It
asserts that the loop ran, never how long anything took, so it gives the
same answer on a fast machine and a loaded one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession.testing._clock import FakeClock


class Ticker:
    """Counts the event loop's turns: a task that yields (``asyncio.sleep(0)``) in a loop.

    Usage::

        async with Ticker() as ticker:
            before = ticker.ticks
            await store.get(session_id)
            assert ticker.ticks > before  # the loop ran other tasks meanwhile

    ``on_tick``, if given, is called on every tick (to reset a counter of
    work done between two turns, for example).

    .. versionadded:: 0.1
    """

    def __init__(self, on_tick: Any = None) -> None:
        self.ticks = 0
        self._on_tick = on_tick
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        # The ticker's first turn, so that it is running before any measurement.
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            # Gives up the GIL for a moment too: a busy ticker would otherwise
            # starve the threads of the store's driver (or of an in-process server).
            time.sleep(0)  # noqa: ASYNC251 - zero seconds: it only releases the GIL
            await asyncio.sleep(0)
            self.ticks += 1
            if self._on_tick is not None:
                self._on_tick()


@dataclass
class FairnessReport:
    """What :func:`check_event_loop_fairness` ran, and every promise that did not hold.

    ``whole_key`` maps each whole-key operation checked to the event loop's
    turns during it and the most sessions it decoded between two turns.

    .. versionadded:: 0.1
    """

    operations: int = 0
    whole_key: dict[str, tuple[int, int]] = field(default_factory=dict)
    not_checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _CountingSerializer:
    """Stands in for a store's serializer, counting the sessions decoded since the last tick."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.since_tick = 0
        self.most_between_ticks = 0

    def loads(self, data: Any, /) -> Any:
        self.since_tick += 1
        self.most_between_ticks = max(self.most_between_ticks, self.since_tick)
        return self._inner.loads(data)

    def tick(self) -> None:
        self.since_tick = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def check_event_loop_fairness(
    store: BaseAsyncSessionModule,
    *,
    operations: int = 50,
    concurrency: int = 100,
    sessions_per_key: int = 3000,
    slice_limit: int = 1000,
) -> FairnessReport:
    """Check that ``store``'s operations let other tasks run; a report of what did not hold.

    Args:
        store: An open, empty store that does I/O. Sessions made here are
            removed again, except with a store that cannot clear keys.
        operations: Rounds of create/get/update/rework/delete awaited back
            to back by one coroutine; each must suspend it at least once.
        concurrency: Coroutines doing those rounds at once (one round each).
        sessions_per_key: Sessions of the one key the whole-key operations
            work on.
        slice_limit: The most sessions a whole-key operation may work
            through without letting the event loop turn: it must turn at
            least ``sessions_per_key // slice_limit`` times, and decode at
            most ``slice_limit`` sessions between two turns.

    ``purge_expired`` is checked where the store supports it and its clock
    is a :class:`FakeClock` with ``default_ttl`` set; otherwise the report's
    ``not_checked`` says so.

    Usage::

        async def test_store_is_fair(store):
            report = await check_event_loop_fairness(store)
            assert [] == report.problems

    .. versionadded:: 0.1
    """
    report = FairnessReport()
    async with Ticker() as ticker:
        await _back_to_back(store, ticker, operations, report)
        await _concurrent(store, ticker, concurrency, report)
    await _whole_key(store, sessions_per_key, slice_limit, report)
    return report


async def _suspends(ticker: Ticker, report: FairnessReport, name: str, call: Any) -> Any:
    before = ticker.ticks
    result = await call
    report.operations += 1
    if ticker.ticks == before:
        report.problems.append(f"{name} completed without letting the event loop run another task")
    return result


async def _back_to_back(
    store: BaseAsyncSessionModule, ticker: Ticker, rounds: int, report: FairnessReport
) -> None:
    for n in range(rounds):
        session_id = await _suspends(ticker, report, "create", store.create("fair-seq", {"n": n}))
        await _suspends(ticker, report, "get", store.get(session_id))
        await _suspends(ticker, report, "update", store.update(session_id, {"n": n + 1}))
        session_id = await _suspends(ticker, report, "rework", store.rework(session_id))
        await _suspends(ticker, report, "delete", store.delete(session_id))
    # One problem per operation kind is enough to say what is wrong.
    report.problems = list(dict.fromkeys(report.problems))


async def _concurrent(
    store: BaseAsyncSessionModule, ticker: Ticker, coroutines: int, report: FairnessReport
) -> None:
    async def one(n: int) -> None:
        session_id = await store.create("fair-conc", {"n": n})
        await store.get(session_id)
        await store.update(session_id, {"n": n + 1})
        await store.delete(await store.rework(session_id))

    before = ticker.ticks
    await asyncio.gather(*(one(n) for n in range(coroutines)))
    report.operations += 5 * coroutines
    # Each coroutine awaited five operations in turn, each suspending it at least once.
    if ticker.ticks - before < 5:
        report.problems.append(
            f"{coroutines} coroutines ran five operations each with only "
            f"{ticker.ticks - before} turns of the event loop for other tasks"
        )


async def _whole_key(
    store: BaseAsyncSessionModule, sessions: int, slice_limit: int, report: FairnessReport
) -> None:
    key = "fair-whole-key"
    clock = getattr(store, "clock", None)
    ttl = getattr(store, "default_ttl", None)
    purge = bool(getattr(store, "supports_purge", False))
    expire = (clock, float(ttl)) if purge and isinstance(clock, FakeClock) and ttl else None
    for n in range(sessions):
        await store.create(key, {"n": n})
    checks: list[tuple[str, Any]] = []
    if getattr(store, "supports_listing", False):
        checks.append(("list_sessions", lambda: store.list_sessions(key)))  # type: ignore[attr-defined]
    else:
        report.not_checked.append("list_sessions: the store does not list sessions")
    if expire is not None:
        checks.append(("purge_expired", lambda: _expire_then_purge(store, *expire)))
    else:
        report.not_checked.append("purge_expired: needs supports_purge, a FakeClock and default_ttl")
    checks.append(("clear", lambda: store.clear(key)))
    for name, call in checks:
        if name == "clear" and expire is not None:
            # The purge removed them: the key is filled again for clear.
            for n in range(sessions):
                await store.create(key, {"n": n})
        counting = _CountingSerializer(store.serializer)
        store.serializer = counting  # type: ignore[assignment]  # stands in for it, delegating
        try:
            async with Ticker(on_tick=counting.tick) as ticker:
                before = ticker.ticks
                await call()
                turns = ticker.ticks - before
        finally:
            store.serializer = counting._inner
        report.whole_key[name] = (turns, counting.most_between_ticks)
        wanted = sessions // slice_limit
        if turns < wanted:
            report.problems.append(
                f"{name} over one key's {sessions} sessions let the event loop turn {turns} times "
                f"(at least {wanted}: once per {slice_limit} sessions)"
            )
        if counting.most_between_ticks > slice_limit:
            report.problems.append(
                f"{name} decoded {counting.most_between_ticks} sessions without letting the event "
                f"loop turn (at most {slice_limit})"
            )


async def _expire_then_purge(store: BaseAsyncSessionModule, clock: FakeClock, ttl: float) -> None:
    clock.advance(ttl + 1)
    await store.purge_expired()  # type: ignore[attr-defined]
