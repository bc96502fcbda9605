"""Concurrent mixed operations on one store, and what must hold once they are all done."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import JamSessionNotFound
from jamsession.testing._clock import FakeClock

#: Concurrent reworks of one session; exactly one may win.
REWORKS_PER_SESSION = 5
#: Concurrent updates of one session; the data ends as one of them.
UPDATES_PER_SESSION = 3
#: Creates racing each ``clear`` of their key.
CREATES_PER_CLEAR = 5
#: Concurrent patches of one session, each of its own key; all must persist.
PATCHES_PER_SESSION = 4
#: Concurrent moves of one session to a session key of their own; exactly one may win.
LOGINS_PER_SESSION = 3

#: A fake time far ahead, on a whole second, for the expiry phase.
_EXPIRY_CLOCK_START = float(4_000_000_000)


@dataclass
class ConcurrencyReport:
    """What :func:`check_concurrent_operations` ran at once, and what did not hold afterwards.

    ``operations`` counts the calls made concurrently (both phases);
    ``by_kind`` splits them by method; ``largest_batch`` is the most calls
    started together.

    .. versionadded:: 0.1
    """

    operations: int = 0
    largest_batch: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)


class _Batch:
    """Calls started together, in a seeded shuffled order, each outcome kept."""

    def __init__(self, report: ConcurrencyReport, rng: random.Random) -> None:
        self.report = report
        self.rng = rng
        self.calls: list[tuple[str, Awaitable[Any]]] = []

    def add(self, kind: str, call: Awaitable[Any]) -> int:
        self.calls.append((kind, call))
        return len(self.calls) - 1

    async def run(self) -> list[Any]:
        self.report.largest_batch = max(self.report.largest_batch, len(self.calls))
        order = list(range(len(self.calls)))
        self.rng.shuffle(order)
        outcomes = await asyncio.gather(*(self.calls[i][1] for i in order), return_exceptions=True)
        results: list[Any] = [None] * len(self.calls)
        for index, outcome in zip(order, outcomes, strict=True):
            results[index] = outcome
        for (kind, _), outcome in zip(self.calls, results, strict=True):
            self.report.operations += 1
            self.report.by_kind[kind] += 1
            if isinstance(outcome, BaseException) and not isinstance(outcome, JamSessionNotFound):
                self.report.problems.append(f"{kind} raised {type(outcome).__name__}: {outcome}")
        return results


async def check_concurrent_operations(
    store: BaseAsyncSessionModule, *, operations: int = 1000, seed: int = 0
) -> ConcurrencyReport:
    """Run about ``operations`` mixed calls on ``store`` at once, then check what they left.

    What must hold: every acknowledged create is readable with its data; a
    session deleted, cleared or expired never comes back, whatever update
    raced it; of concurrent reworks of one session exactly one wins and the
    old ID is dead; concurrent updates leave one of the written values;
    ``clear`` racing ``create`` of its key removes every session that existed
    before it and leaves each racing one intact or gone. Where the store
    declares ``supports_entries``: concurrent patches of one session, some
    from a stale entry, all persist; of concurrent moves of one session to
    different keys (logins) exactly one wins, with its key and data. ``store``
    must be empty. Expiry is exercised when the store declares ``supports_ttl``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       Patches and logins, where the store supports entries.
    """
    rng = random.Random(seed)  # noqa: S311 - replayable interleavings, not secrets
    report = ConcurrencyReport()
    share = max(1, operations // 20)
    phase = _MainPhase(store, report, share)
    await phase.prepare()
    batch = _Batch(report, rng)
    phase.schedule(batch, operations)
    await phase.verify(await batch.run())
    if store.supports_ttl:
        await _expiry_phase(store, report, rng, share)
    return report


class _MainPhase:
    """Creates, reads, updates, deletes, reworks and clears, all at once, on sessions made beforehand."""

    def __init__(self, store: BaseAsyncSessionModule, report: ConcurrencyReport, share: int) -> None:
        self.store = store
        self.report = report
        self.share = share
        self.racers = max(1, share // (CREATES_PER_CLEAR + 1))

    async def _make(self, session_key: str, field_name: str, count: int) -> list[str]:
        return [await self.store.create(session_key, {field_name: i}) for i in range(count)]

    async def prepare(self) -> None:
        share = self.share
        self.stable = await self._make("stable", "stable", share)
        self.updated = await self._make("updated", "u", share // UPDATES_PER_SESSION)
        self.doomed = await self._make("doomed", "d", share)
        self.reworked = await self._make("reworked", "r", 2 * share // REWORKS_PER_SESSION)
        self.before_clear = [
            token for j in range(self.racers) for token in await self._make(f"racer{j}", "before", 2)
        ]
        self.entries = getattr(self.store, "supports_entries", False)
        if self.entries:
            entries: Any = self.store
            self.patched = await self._make("patched", "p", share // PATCHES_PER_SESSION)
            self.stale = [await entries.load(token) for token in self.patched]
            self.logins = await self._make("anonymous", "a", share // LOGINS_PER_SESSION)

    def schedule(self, batch: _Batch, total: int) -> None:
        store = self.store
        for token in self.stable:
            batch.add("get", store.get(token))
        for i, token in enumerate(self.updated):
            for v in range(UPDATES_PER_SESSION):
                batch.add("update", store.update(token, {"u": i, "v": v}))
        for token in self.doomed:
            batch.add("delete", store.delete(token))
            batch.add("update", store.update(token, {"resurrected": True}))
            batch.add("get", store.get(token))
        self.rework_calls = [
            [batch.add("rework", store.rework(token)) for _ in range(REWORKS_PER_SESSION)]
            for token in self.reworked
        ]
        self.racing: list[tuple[dict[str, int], int]] = []
        for j in range(self.racers):
            batch.add("clear", store.clear(f"racer{j}"))
            for n in range(CREATES_PER_CLEAR):
                data = {"racer": j, "n": n}
                self.racing.append((data, batch.add("create", store.create(f"racer{j}", data))))
        if self.entries:
            self._schedule_entries(batch)
        self.creates: list[tuple[dict[str, int], int]] = []
        while len(batch.calls) < total:
            data = {"c": len(self.creates)}
            self.creates.append((data, batch.add("create", store.create(f"user{data['c'] % 10}", data))))

    def _schedule_entries(self, batch: _Batch) -> None:
        entries: Any = self.store
        self.patch_calls = [
            [
                # Every other patch starts from the entry read before any of them.
                batch.add("patch", entries.patch(token, {f"k{n}": n}, expected=stale if n % 2 else None))
                for n in range(PATCHES_PER_SESSION)
            ]
            for token, stale in zip(self.patched, self.stale, strict=True)
        ]
        self.login_calls = [
            [
                batch.add("login", entries.rework(token, session_key=f"login{i}-{n}", data={"login": n}))
                for n in range(LOGINS_PER_SESSION)
            ]
            for i, token in enumerate(self.logins)
        ]

    async def _verify_entries(self, results: list[Any]) -> None:
        entries: Any = self.store
        expect = self.report.expect
        for i, (token, indexes) in enumerate(zip(self.patched, self.patch_calls, strict=True)):
            final = await entries.get(token)
            written = {f"k{n}": n for n, k in enumerate(indexes) if not isinstance(results[k], BaseException)}
            expect({"p": i, **written} == final, f"concurrent patches left {final!r}: a patch was lost")
        for i, (token, indexes) in enumerate(zip(self.logins, self.login_calls, strict=True)):
            won = [(n, results[k]) for n, k in enumerate(indexes) if isinstance(results[k], str)]
            expect(1 == len(won), f"{len(won)} of {LOGINS_PER_SESSION} concurrent logins of one session won")
            expect(await entries.get(token) is None, "the old ID is live after a login")
            for n, winner in won:
                entry = await entries.load(winner)
                expect(
                    entry is not None and (f"login{i}-{n}", {"login": n}) == (entry.session_key, entry.data),
                    "a login's session lacks its new key or data",
                )
            if entries.supports_listing:
                keys = [f"login{i}-{n}" for n in range(LOGINS_PER_SESSION)]
                listed = [len(await entries.list_sessions(key)) for key in keys]
                expect(len(won) == sum(listed), "a losing login left a session under its key")

    async def verify(self, results: list[Any]) -> None:
        store, expect = self.store, self.report.expect
        if self.entries:
            await self._verify_entries(results)
        for data, index in self.creates:
            token = results[index]
            expect(isinstance(token, str) and data == await store.get(token), f"create {data} was lost")
        for i, token in enumerate(self.stable):
            expect({"stable": i} == await store.get(token), f"untouched session {i} changed")
        for i, token in enumerate(self.updated):
            final = await store.get(token)
            written = [{"u": i, "v": v} for v in range(UPDATES_PER_SESSION)]
            expect(final in written, f"concurrent updates left {final!r}, none of the values written")
        for token in self.doomed:
            expect(await store.get(token) is None, "a deleted session came back")
        for i, (token, indexes) in enumerate(zip(self.reworked, self.rework_calls, strict=True)):
            winners = [results[k] for k in indexes if isinstance(results[k], str)]
            expect(
                1 == len(winners) and all(isinstance(results[k], (str, JamSessionNotFound)) for k in indexes),
                f"{len(winners)} of {REWORKS_PER_SESSION} concurrent reworks of one session won",
            )
            expect(await store.get(token) is None, "the old ID is live after a rework")
            for winner in winners:
                expect({"r": i} == await store.get(winner), "a rework lost the session's data")
        await self._verify_clears(results)

    async def _verify_clears(self, results: list[Any]) -> None:
        store, expect = self.store, self.report.expect
        for token in self.before_clear:
            expect(await store.get(token) is None, "a session created before clear survived it")
        survivors = [(data, results[index]) for data, index in self.racing if isinstance(results[index], str)]
        for data, token in survivors:
            expect(await store.get(token) in (None, data), "clear racing create garbled a session")
        for j in range(self.racers):
            await store.clear(f"racer{j}")
        for _, token in survivors:
            expect(await store.get(token) is None, "a session survived a second clear")


async def _expiry_phase(
    store: BaseAsyncSessionModule, report: ConcurrencyReport, rng: random.Random, share: int
) -> None:
    settings: Any = store
    clock = FakeClock(_EXPIRY_CLOCK_START)
    saved = settings.clock, settings.default_ttl
    settings.clock, settings.default_ttl = clock, 60
    try:
        expiring = [await store.create("expiring", {"e": i}) for i in range(share)]
        settings.default_ttl = None
        lasting = [await store.create("lasting", {"l": i}) for i in range(share)]
        clock.advance(61)
        batch = _Batch(report, rng)
        refused = [batch.add("update", store.update(t, {"resurrected": True})) for t in expiring]
        refused += [batch.add("rework", store.rework(t)) for t in expiring]
        unread = [batch.add("get", store.get(t)) for t in expiring]
        for i, token in enumerate(lasting):
            batch.add("update", store.update(token, {"l": i, "updated": True}))
        results = await batch.run()
        report.expect(
            all(isinstance(results[k], JamSessionNotFound) for k in refused)
            and all(results[k] is None for k in unread),
            "an expired session was read, updated or reworked",
        )
        for token in expiring:
            report.expect(await store.get(token) is None, "an expired session came back")
        for i, token in enumerate(lasting):
            report.expect({"l": i, "updated": True} == await store.get(token), "a lasting session was lost")
        if store.supports_listing:
            listed = await store.list_sessions("expiring")  # type: ignore[attr-defined]
            report.expect([] == listed, "an expired session is still listed")
    finally:
        settings.clock, settings.default_ttl = saved
