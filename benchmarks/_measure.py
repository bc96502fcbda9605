"""Timing: a session's whole life, phase by phase, with the subjects taking turns.

One *repeat* runs the five operations in order, each as a *phase* over the
same number of sessions: ``create`` makes them, ``get`` reads them,
``update`` rewrites them, ``rework`` moves each to a new ID and ``delete``
ends them, so a store holds as many sessions after a repeat as before it.

A phase is cut into *chunks* of a few dozen operations (a millisecond or so
each), and the subjects of the group take turns chunk by chunk, in an order
that rotates from chunk to chunk. A subject and its baseline are so timed
moments apart, and a burst of load from elsewhere on a shared machine lands
on one chunk pair, not on one subject: every ratio is the median of these
paired chunk ratios, over all chunks of all repeats.

Where one subject's operation takes thousands of times another's (a file
rewritten whole against an indexed row), a chunk of the slow one lasts tens
of milliseconds, and the fast one, timed right after it for one operation,
runs on caches and a core the slow one has just left cold. The fast one then
takes a *multiple* of the chunk per turn (and of the sessions per phase), so
each subject is timed in the steady state of its own work, still turn by turn.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: The operations, in the order one repeat runs them.
OPS = ("create", "get", "update", "rework", "delete")


class Subject(Protocol):
    """Anything with Jam's five per-session methods: a jamsession store, a baseline, a peer."""

    async def create(self, session_key: str, data: dict[str, Any], /) -> str: ...
    async def get(self, session_id: str, /) -> dict[str, Any] | None: ...
    async def update(self, session_id: str, data: dict[str, Any], /) -> None: ...
    async def rework(self, session_id: str, /) -> str: ...
    async def delete(self, session_id: str, /) -> None: ...
    async def aclose(self) -> None: ...


SubjectFactory = Callable[[], Awaitable[Subject]]


class BenchmarkError(RuntimeError):
    """A subject did not do what it was asked (a lost session, say): its timings would lie."""


@dataclass
class Group:
    """Subjects timed side by side on one workload."""

    backend: str
    payload: str
    concurrency: int
    #: Sessions per phase.
    sessions: int
    #: Operations per chunk.
    chunk: int
    data: dict[str, Any]
    subjects: dict[str, SubjectFactory]
    repeats: int
    #: Sessions already stored in every subject before the first repeat (informational).
    stored: int = 0
    #: Subject -> how many times the chunk (and the sessions per phase) it runs per turn; 1 if absent.
    multiple: dict[str, int] = field(default_factory=dict)

    @property
    def title(self) -> str:
        mode = "sequential" if self.concurrency == 1 else f"{self.concurrency} concurrent"
        return f"{self.backend} · {self.payload} · {mode}"


@dataclass
class GroupResult:
    """Seconds per operation for each subject and operation: per repeat, and per chunk."""

    group: Group
    #: One sample per repeat: the whole phase's time over its operations.
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: One sample per chunk, aligned across subjects: chunk ``i`` of each ran side by side.
    chunks: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: Longest session ID each subject handed out.
    token_lengths: dict[str, int] = field(default_factory=dict)

    def median(self, subject: str, op: str) -> float:
        return statistics.median(self.samples[subject][op])


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """``numerator[i] / denominator[i]`` for each pair ``i`` (timed side by side)."""
    if len(numerator) != len(denominator):
        raise ValueError("paired samples must come from the same repeats")
    return [n / d for n, d in zip(numerator, denominator, strict=True)]


def rotated(names: Sequence[T], repeat: int) -> list[T]:
    """``names`` rotated by ``repeat``: each subject leads some turns, trails others."""
    if not names:
        return []
    shift = repeat % len(names)
    return [*names[shift:], *names[:shift]]


async def run_group(group: Group, advance: Callable[[int], None]) -> GroupResult:
    """Build the subjects, warm them up, and time ``group.repeats`` repeats of the five phases."""
    result = GroupResult(group)
    subjects: dict[str, Subject] = {}
    try:
        for name, factory in group.subjects.items():
            subjects[name] = await factory()
            result.samples[name] = {op: [] for op in OPS}
            result.chunks[name] = {op: [] for op in OPS}
            result.token_lengths[name] = 0
        names = list(subjects)
        # Connections, pools, indexes and caches are made before any timing.
        warm_up = min(group.sessions, max(group.concurrency, 20))
        for name in names:
            await _lifecycle(subjects[name], group, warm_up)
        advance(1)
        turn = 0
        size = {name: group.multiple.get(name, 1) for name in names}
        for _ in range(group.repeats):
            tokens = {name: _keys(group.sessions * size[name]) for name in names}
            for op in OPS:
                # Garbage from the last phase is collected before, not during, this one.
                gc.collect()
                produced: dict[str, list[str]] = {name: [] for name in names}
                spent = dict.fromkeys(names, 0.0)
                for start in range(0, group.sessions, group.chunk):
                    turn += 1
                    for name in rotated(names, turn):
                        items = tokens[name][start * size[name] : (start + group.chunk) * size[name]]
                        elapsed, out = await timed_phase(
                            subjects[name], op, items, group.data, group.concurrency
                        )
                        produced[name] += out
                        spent[name] += elapsed
                        result.chunks[name][op].append(elapsed / len(items))
                for name in names:
                    tokens[name] = produced[name]
                    result.samples[name][op].append(spent[name] / (group.sessions * size[name]))
                    if op in ("create", "rework"):
                        longest = max(map(len, tokens[name]))
                        result.token_lengths[name] = max(result.token_lengths[name], longest)
            advance(1)
    finally:
        for subject in subjects.values():
            await subject.aclose()
    return result


async def _lifecycle(subject: Subject, group: Group, sessions: int) -> None:
    tokens: list[str] = _keys(sessions)
    for op in OPS:
        _, tokens = await timed_phase(subject, op, tokens, group.data, group.concurrency)


def _keys(count: int) -> list[str]:
    return [f"user-{i}" for i in range(count)]


async def timed_phase(
    subject: Subject, op: str, items: list[str], data: dict[str, Any], concurrency: int
) -> tuple[float, list[str]]:
    """Run ``op`` over ``items`` from ``concurrency`` coroutines; seconds taken and the live IDs.

    ``items`` are session keys for ``create`` and session IDs otherwise.
    """
    if concurrency <= 1:
        started = time.perf_counter()
        tokens = await _run(subject, op, items, data)
        return time.perf_counter() - started, tokens
    shares = [items[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    results = await asyncio.gather(*(_run(subject, op, share, data) for share in shares))
    elapsed = time.perf_counter() - started
    return elapsed, [token for share in results for token in share]


async def _run(subject: Subject, op: str, items: list[str], data: dict[str, Any]) -> list[str]:
    # One loop per operation, with the bound method looked up once, so the
    # loop itself costs every subject the same few tens of nanoseconds.
    if op == "create":
        create = subject.create
        return [await create(key, data) for key in items]
    if op == "get":
        get = subject.get
        for token in items:
            if await get(token) is None:
                raise BenchmarkError(f"{type(subject).__name__}.get lost a session it had just stored")
        return items
    if op == "update":
        update = subject.update
        for token in items:
            await update(token, data)
        return items
    if op == "rework":
        rework = subject.rework
        return [await rework(token) for token in items]
    if op == "delete":
        delete = subject.delete
        for token in items:
            await delete(token)
        return []
    raise ValueError(f"unknown operation {op!r}")
