"""Group commit: the statements of many coroutines in one thread hop and one transaction.

aiosqlite runs each call on the connection's own thread; the hop there and
back costs far more than SQLite's work on a session row. So:

* A caller that finds nothing in flight sends its statement alone, at once,
  in one hop: a lone caller pays exactly one hop, nothing more.
* Callers arriving while something is in flight queue their statement in a
  line and start one *drain*: a single hop whose function, on the
  connection's thread, takes everything in the line, runs it as one batch
  (one ``BEGIN IMMEDIATE ... COMMIT`` when any statement writes; a run of
  reads as one statement where the statement knows how), wakes that
  batch's callers, and takes the line again, until it finds it empty.
  While a batch runs, the callers of the previous one are woken and queue
  their next statements, so under load each batch carries about one
  statement per concurrent caller, and the thread never waits to be woken.

Each statement still succeeds or fails on its own: a failing statement is
undone alone and reported to its caller only. A failure of the transaction
itself (the disk is full, the lock cannot be had within ``busy_timeout``)
fails every statement of the batch, and nothing of it is committed. A
caller learns its outcome only after its batch has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import operator
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import aiosqlite

from jamsession import BackendUnavailableError, JamSessionError
from jamsession_sqlite._checkpoint import Checkpointer
from jamsession_sqlite._schema import is_busy

# aiosqlite hands every call to the connection's thread through
# ``Connection._execute(fn, *args)``; it is the only way to run one function
# there (a statement and its commit, or a whole batch) in a single hop.
# Checked here so that an aiosqlite without it fails at import, by name.
if not callable(getattr(aiosqlite.Connection, "_execute", None)):  # pragma: no cover - other aiosqlite
    raise ImportError(
        f"jamsession-sqlite needs aiosqlite's Connection._execute, which aiosqlite "
        f"{getattr(aiosqlite, '__version__', '?')} lacks: install aiosqlite 0.20 to 0.22"
    )

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
    """

    sql: str
    writes: bool
    returns: Returns
    many: Callable[[sqlite3.Connection, list[tuple[Any, ...]]], list[Any]] | None = None


class Failed:
    """The outcome of a statement that raised; carried back instead of a result."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_fetchall = operator.methodcaller("fetchall")


def _alone(raw: sqlite3.Connection, statement: Statement, params: tuple[Any, ...]) -> Iterator[Any]:
    """``statement`` as a lazy iterator whose first item is its outcome, for ``next`` on the thread.

    Sent as ``next`` and a ``map``, the call runs in C from end to end: the
    thread is cold when it wakes, and a Python wrapper there cost a
    sequential update 5% of its time. A ``map``'s repr also shows none of
    its arguments, which matters because aiosqlite logs every call it runs
    at DEBUG, and a statement's arguments are a session ID and its data.

    In autocommit mode a statement commits as it completes. A write without
    rows completes within ``execute``, and its row count is read on the
    event loop. A statement with rows completes only once they are all
    fetched, so the fetch is chained on, to run on the thread too.
    """
    executed = map(raw.execute, (statement.sql,), (params,))
    return map(_fetchall, executed) if statement.returns is Returns.ROWS else executed


class _Entry:
    __slots__ = ("future", "outcome", "params", "statement")

    def __init__(
        self, statement: Statement, params: tuple[Any, ...], future: asyncio.Future[Any] | None = None
    ) -> None:
        self.statement = statement
        self.params = params
        self.future = future
        self.outcome: Any = None


class _Line:
    """Statements waiting for the drain; shared by the event loop and the connection's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[_Entry] = deque()
        #: A drain is running, or about to: it will take what is put in the line.
        self.draining = False

    def put(self, entry: _Entry) -> bool:
        """Queue ``entry``; ``True`` when the caller must start a drain."""
        with self._lock:
            self._entries.append(entry)
            start = not self.draining
            self.draining = True
        return start

    def take(self, limit: int) -> list[_Entry]:
        """Up to ``limit`` entries; when none are left, the drain ends (atomically with finding so)."""
        with self._lock:
            entries = self._entries
            if not entries:
                self.draining = False
                return []
            return [entries.popleft() for _ in range(min(limit, len(entries)))]


class GroupCommit:
    """Runs statements on one aiosqlite connection, batching concurrent callers.

    Args:
        connect: Opens and configures the :mod:`sqlite3` connection; runs on
            aiosqlite's thread, once, on first use.
        translate: Turns an exception from SQLite into the typed error callers get.
        busy_timeout: Seconds a batch keeps retrying when the file is locked.
        checkpointer: Started with the connection, told of every write, stopped with it.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        translate: Callable[[BaseException], JamSessionError],
        busy_timeout: float,
        checkpointer: Checkpointer,
    ) -> None:
        self._connect = connect
        self._checkpointer = checkpointer
        self._translate = translate
        self._busy_timeout = busy_timeout
        self._connection: aiosqlite.Connection | None = None
        self._raw: sqlite3.Connection | None = None
        # The connection's ``_execute``, bound once it is open (see top).
        self._execute: Callable[..., Awaitable[Any]] | None = None
        self._opening = asyncio.Lock()
        self._line = _Line()
        self._single_in_flight = False
        self._drains: set[asyncio.Task[None]] = set()
        # Closing: new statements are refused; shut: the connection is gone for good.
        self._closed = False
        self._shut = False
        #: Hops made to the connection's thread so far.
        self.hops = 0

    async def run(self, statement: Statement, *params: Any) -> Any:
        """Execute ``statement``; its result as ``statement.returns`` says, or its typed error."""
        execute, raw = self._execute, self._raw
        line = self._line
        if (
            execute is not None
            and raw is not None
            and not self._single_in_flight
            and not line.draining
            and not self._closed
        ):
            # Nothing in flight: this statement goes alone, at once.
            self._single_in_flight = True
            self.hops += 1
            started = time.monotonic()
            try:
                # One statement is atomic on its own: no BEGIN/COMMIT needed.
                outcome = await execute(next, _alone(raw, statement, params))
            except sqlite3.Error as exc:
                deadline = started + self._busy_timeout
                # SQLite's busy handler has usually waited all of busy_timeout
                # already; another attempt would wait it all over again.
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise self._translate(exc) from exc
                # Locked: the general path retries for what is left of busy_timeout.
                return await self._retry(statement, params, deadline)
            except Exception as exc:
                raise self._translate(exc) from exc
            finally:
                self._single_in_flight = False
            if statement.writes:
                self._checkpointer.wrote(1)
            return _result(statement, outcome)
        if self._closed:
            raise BackendUnavailableError("the session store is closed")
        future = asyncio.get_running_loop().create_future()
        if line.put(_Entry(statement, params, future)):
            drain = asyncio.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        # If this caller is cancelled now, its statement may still run.
        outcome = await future
        if type(outcome) is Failed:
            self._raise(outcome)
        return outcome

    async def connect(self) -> None:
        """Open the connection now rather than on first use."""
        await self._open()

    async def aclose(self) -> None:
        """Let queued statements finish, then close the connection. Safe to call twice."""
        self._closed = True
        while self._drains:
            await asyncio.wait(list(self._drains))
        # An open still in flight (``connect()``, or a retry) would otherwise
        # install its connection after this returns, and aiosqlite's thread,
        # not a daemon, would then keep the process from exiting.
        async with self._opening:
            self._shut = True
            connection, execute = self._connection, self._execute
            self._connection, self._raw, self._execute = None, None, None
        if connection is not None and execute is not None:
            # Both queued behind any statement still on the thread.
            await execute(self._checkpointer.stop)
            await connection.close()

    # -- the drain ------------------------------------------------------------------

    async def _drain(self) -> None:
        try:
            execute, raw = await self._open()
        except asyncio.CancelledError as exc:
            self._fail_line(exc)
            raise
        except Exception as exc:  # noqa: BLE001 - the callers get it, typed
            self._fail_line(exc)
            return
        self.hops += 1
        try:
            # The drain keeps the thread until the line is empty; each batch's
            # callers are woken from there, as soon as it has committed.
            await execute(
                _drain_line,
                raw,
                self._line,
                self._busy_timeout,
                self._checkpointer,
                asyncio.get_running_loop(),
            )
        except asyncio.CancelledError:
            raise  # the loop is closing; the thread finishes the line on its own
        except Exception as exc:  # noqa: BLE001 - the thread is gone; the callers get it, typed
            self._fail_line(exc)

    def _fail_line(self, exc: BaseException) -> None:
        failed = Failed(exc)
        while batch := self._line.take(MAX_BATCH):
            for entry in batch:
                entry.outcome = failed
            _deliver(batch)

    def _raise(self, outcome: Failed) -> NoReturn:
        cause = outcome.error
        if isinstance(cause, asyncio.CancelledError):
            raise BackendUnavailableError("the session store was closed before the operation ran")
        if isinstance(cause, JamSessionError):
            # Already typed, and maybe shared by a whole batch: each caller
            # raises its own copy, chained to the original's cause.
            raise copy.copy(cause) from cause.__cause__
        raise self._translate(cause) from cause

    async def _retry(self, statement: Statement, params: tuple[Any, ...], deadline: float) -> Any:
        """Run a statement that found the file locked, retrying on the thread until ``deadline``."""
        execute, raw = await self._open()
        (outcome,) = await execute(
            _execute_batch, raw, [_Entry(statement, params)], deadline, self._checkpointer
        )
        if type(outcome) is Failed:
            self._raise(outcome)
        return outcome

    async def _open(self) -> tuple[Callable[..., Awaitable[Any]], sqlite3.Connection]:
        async with self._opening:  # one connection, however many callers wait for it
            if self._execute is None or self._raw is None:
                if self._shut:
                    raise BackendUnavailableError("the session store is closed")
                opened: list[sqlite3.Connection] = []

                def connector() -> sqlite3.Connection:
                    raw = self._connect()
                    opened.append(raw)
                    self._checkpointer.start()
                    return raw

                connection = aiosqlite.Connection(connector, iter_chunk_size=64)
                try:
                    await connection
                except Exception as exc:
                    raise self._translate(exc) from exc
                self._connection, self._raw = connection, opened[0]
                self._execute = cast("Callable[..., Awaitable[Any]]", connection._execute)
            return self._execute, self._raw


def _deliver(batch: list[_Entry]) -> None:
    for entry in batch:
        future = entry.future
        if future is not None and not future.done():
            future.set_result(entry.outcome)


# -- on the connection's thread -------------------------------------------------------


def _drain_line(
    raw: sqlite3.Connection,
    line: _Line,
    busy_timeout: float,
    checkpointer: Checkpointer,
    loop: asyncio.AbstractEventLoop,
) -> None:
    while batch := line.take(MAX_BATCH):
        outcomes = _execute_batch(raw, batch, time.monotonic() + busy_timeout, checkpointer)
        for entry, outcome in zip(batch, outcomes, strict=True):
            entry.outcome = outcome
        try:
            loop.call_soon_threadsafe(_deliver, batch)
        except RuntimeError:  # pragma: no cover - the loop has closed: no one is waiting any more
            while line.take(MAX_BATCH):
                pass
            return


def _execute_batch(
    raw: sqlite3.Connection, batch: list[_Entry], deadline: float, checkpointer: Checkpointer
) -> list[Any]:
    attempt = 0
    while True:
        try:
            if len(batch) == 1:
                outcome = _apply(raw, batch[0].statement, batch[0].params)
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


def _transaction(raw: sqlite3.Connection, batch: list[_Entry]) -> list[Any]:
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


def _apply_many(raw: sqlite3.Connection, run: list[_Entry]) -> list[Any]:
    many = cast("Callable[[sqlite3.Connection, list[tuple[Any, ...]]], list[Any]]", run[0].statement.many)
    try:
        return many(raw, [entry.params for entry in run])
    except Exception as exc:  # retried one by one below, each caller getting its own outcome
        if isinstance(exc, sqlite3.Error) and (is_busy(exc) or not raw.in_transaction):
            raise  # the transaction itself failed: the whole batch retries or fails
    return [_apply_one(raw, entry) for entry in run]


def _apply_one(raw: sqlite3.Connection, entry: _Entry) -> Any:
    try:
        return _apply(raw, entry.statement, entry.params)
    except sqlite3.Error as exc:
        if is_busy(exc) or not raw.in_transaction:
            raise  # the transaction itself failed: the whole batch retries or fails
        return Failed(exc)  # only this statement was undone
    except Exception as exc:  # noqa: BLE001 - a value sqlite3 cannot bind; nothing was run
        return Failed(exc)


def _apply(raw: sqlite3.Connection, statement: Statement, params: tuple[Any, ...]) -> Any:
    cursor = raw.execute(statement.sql, params)
    return _result(statement, cursor.fetchall() if statement.returns is Returns.ROWS else cursor)


def _result(statement: Statement, executed: Any) -> Any:
    """What the caller gets, from the statement's rows (``Returns.ROWS``) or else its cursor."""
    if statement.returns is Returns.ROWCOUNT:
        return executed.rowcount
    return None if statement.returns is Returns.NOTHING else executed


def _rollback(raw: sqlite3.Connection) -> None:
    # An error here means SQLite has rolled back already.
    with contextlib.suppress(sqlite3.Error):
        raw.execute("ROLLBACK")
