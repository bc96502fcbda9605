"""Batches of statements, run on the connection's thread as one transaction.

Callers queue their statements in a :class:`Line`; a *drain*, on the
connection's thread, takes everything in the line, runs it as one batch (one
``BEGIN IMMEDIATE ... COMMIT`` when any statement writes; a run of reads as
one statement where the statement knows how), wakes that batch's callers,
and takes the line again, until it finds it empty.

Each statement still succeeds or fails on its own: a failing statement is
undone alone and reported to its caller only. A failure of the transaction
itself (the disk is full, the lock cannot be had within ``busy_timeout``)
fails every statement of the batch, and nothing of it is committed. A
caller learns its outcome only after its batch has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from jamsession_sqlite._checkpoint import Checkpointer
from jamsession_sqlite._schema import is_busy

#: Most statements run in one transaction: keeps each write transaction,
#: during which other processes wait for the lock, short.
MAX_BATCH = 256


class Returns(enum.Enum):
    """What a statement gives back to its caller."""

    NOTHING = enum.auto()
    ROWCOUNT = enum.auto()
    ROWS = enum.auto()


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement and what its caller gets back.

    ``many``, for a read, runs a whole run of its calls in one statement:
    given the calls' parameters, it returns their results in order. If it
    fails, the calls are retried one by one, so that each caller gets its
    own outcome.

    ``inline``: whether it may run on the event loop's thread. Only for a
    statement whose work is bounded by one session key's rows, never one
    that may scan or delete thousands.
    """

    sql: str
    writes: bool
    returns: Returns
    many: Callable[[sqlite3.Connection, list[tuple[Any, ...]]], list[Any]] | None = None
    inline: bool = True


class Failed:
    """The outcome of a statement that raised; carried back instead of a result."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Entry:
    __slots__ = ("future", "outcome", "params", "statement")

    def __init__(
        self, statement: Statement, params: tuple[Any, ...], future: asyncio.Future[Any] | None = None
    ) -> None:
        self.statement = statement
        self.params = params
        self.future = future
        self.outcome: Any = None


class Line:
    """Statements waiting for the drain; shared by the event loop and the connection's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque()
        #: A drain is running, or about to: it will take what is put in the line.
        self.draining = False

    def put(self, entry: Entry) -> bool:
        """Queue ``entry``; ``True`` when the caller must start a drain."""
        with self._lock:
            self._entries.append(entry)
            start = not self.draining
            self.draining = True
        return start

    def take_lone(self) -> Entry | None:
        """The line's only entry, ending the drain; ``None`` (and the drain goes on) if it holds more."""
        with self._lock:
            if len(self._entries) != 1:
                return None
            self.draining = False
            return self._entries.popleft()

    def take(self, limit: int) -> list[Entry]:
        """Up to ``limit`` entries; when none are left, the drain ends (atomically with finding so)."""
        with self._lock:
            entries = self._entries
            if not entries:
                self.draining = False
                return []
            return [entries.popleft() for _ in range(min(limit, len(entries)))]


def deliver(batch: list[Entry]) -> None:
    for entry in batch:
        future = entry.future
        if future is not None and not future.done():
            future.set_result(entry.outcome)


# -- on the connection's thread -------------------------------------------------------


def drain_line(
    raw: sqlite3.Connection,
    line: Line,
    busy_timeout: float,
    checkpointer: Checkpointer,
    loop: asyncio.AbstractEventLoop,
) -> None:
    while batch := line.take(MAX_BATCH):
        outcomes = execute_batch(raw, batch, time.monotonic() + busy_timeout, checkpointer)
        for entry, outcome in zip(batch, outcomes, strict=True):
            entry.outcome = outcome
        try:
            loop.call_soon_threadsafe(deliver, batch)
        except RuntimeError:  # pragma: no cover - the loop has closed: no one is waiting any more
            while line.take(MAX_BATCH):
                pass
            return


def execute_batch(
    raw: sqlite3.Connection, batch: list[Entry], deadline: float, checkpointer: Checkpointer
) -> list[Any]:
    attempt = 0
    while True:
        try:
            if len(batch) == 1:
                outcome = apply(raw, batch[0].statement, batch[0].params)
                checkpointer.wrote(batch[0].statement.writes)
                return [outcome]
            outcomes = _transaction(raw, batch)
            checkpointer.wrote(sum(entry.statement.writes for entry in batch))
            return outcomes
        except sqlite3.Error as exc:
            if raw.in_transaction:
                _rollback(raw)
            # SQLite's busy handler has waited already; this covers the few
            # lock waits it does not (e.g. another process recovering the WAL).
            if is_busy(exc) and time.monotonic() < deadline:
                attempt += 1
                time.sleep(min(0.001 * attempt, 0.02))
                continue
            return [Failed(exc)] * len(batch)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, typed there
            return [Failed(exc)] * len(batch)


def _transaction(raw: sqlite3.Connection, batch: list[Entry]) -> list[Any]:
    writes = any(entry.statement.writes for entry in batch)
    # IMMEDIATE takes the write lock up front, waiting in the busy handler;
    # a read transaction that later wants to write could only fail instead.
    raw.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
    outcomes: list[Any] = []
    start, end = 0, len(batch)
    while start < end:
        statement = batch[start].statement
        stop = start + 1
        if statement.many is not None:
            while stop < end and batch[stop].statement is statement:
                stop += 1
        if stop - start > 1:
            outcomes.extend(_apply_many(raw, batch[start:stop]))
        else:
            outcomes.append(_apply_one(raw, batch[start]))
        start = stop
    raw.execute("COMMIT")
    return outcomes


def _apply_many(raw: sqlite3.Connection, run: list[Entry]) -> list[Any]:
    many = cast("Callable[[sqlite3.Connection, list[tuple[Any, ...]]], list[Any]]", run[0].statement.many)
    try:
        return many(raw, [entry.params for entry in run])
    except Exception as exc:  # retried one by one below, each caller getting its own outcome
        if isinstance(exc, sqlite3.Error) and (is_busy(exc) or not raw.in_transaction):
            raise  # the transaction itself failed: the whole batch retries or fails
    return [_apply_one(raw, entry) for entry in run]


def _apply_one(raw: sqlite3.Connection, entry: Entry) -> Any:
    try:
        return apply(raw, entry.statement, entry.params)
    except sqlite3.Error as exc:
        if is_busy(exc) or not raw.in_transaction:
            raise  # the transaction itself failed: the whole batch retries or fails
        return Failed(exc)  # only this statement was undone
    except Exception as exc:  # noqa: BLE001 - a value sqlite3 cannot bind; nothing was run
        return Failed(exc)


def apply(raw: sqlite3.Connection, statement: Statement, params: tuple[Any, ...]) -> Any:
    cursor = raw.execute(statement.sql, params)
    return result(statement, cursor.fetchall() if statement.returns is Returns.ROWS else cursor)


def result(statement: Statement, executed: Any) -> Any:
    """What the caller gets, from the statement's rows (``Returns.ROWS``) or else its cursor."""
    if statement.returns is Returns.ROWCOUNT:
        return executed.rowcount
    return None if statement.returns is Returns.NOTHING else executed


def _rollback(raw: sqlite3.Connection) -> None:
    # An error here means SQLite has rolled back already.
    with contextlib.suppress(sqlite3.Error):
        raw.execute("ROLLBACK")
