"""Where each statement runs: a bounded attempt on the event loop, else the queue to aiosqlite's thread.

Every storage primitive is one SQL statement, and it takes one of two routes.

*Inline*: a statement marked ``inline`` (it touches one session's row) runs
on the event loop's thread, on a connection of its own that never waits
for a lock (``timeout=0``): a read at once, a write with the other writes
of its turn (below). A read in WAL mode waits for no writer, and writes
run inline only where a commit does not wait for the disk
(``synchronous`` "normal" or "off"). The attempt
gives up, and the statement takes the queue instead, when it finds the
file locked (another connection is writing), and while the file is cold:
an attempt that took longer than :data:`COLD_AFTER` and had to wait for
the disk (the thread's count of major page faults and block reads grew)
sends the statements of the next :data:`WARM_UP` seconds to the thread,
which warms the cache while the event loop goes on. After an inline
statement, the caller yields to the event loop once before it gets its
result, so a coroutine awaiting operations back to back lets every other
task run between them.

Inline writes are gathered for the rest of the turn of the event loop in
which they are made, and run together at the start of the next, in one
transaction (``BEGIN IMMEDIATE``, which takes the write lock or gives up at
once): each writer yields once, as a reader does, and resumes with its
write committed, or with its error. Under concurrency (a burst of logins,
many requests saving at once) the writes then share one append to the WAL
instead of one each, and the write lock is held only while they run, as
other processes need it too. At most :data:`MAX_SHARED` share one
transaction; a larger burst takes several, one per turn.

*Queue*: every other statement (whole-key work such as ``clear``, listing a
key or purging; writes that wait for the disk; anything the inline attempt
gave up on) joins a queue. One flush task at a time sends what has queued
to aiosqlite's thread, on aiosqlite's public API: the first statement
alone, then the rest together, which the thread runs back to back. Each
statement is its own transaction (autocommit), so the thread holds the
write lock only while a statement runs, never across turns of the event
loop, where it would turn inline writes away. If the first statement waited
all of ``busy_timeout`` for the lock, the rest fail with it rather than
each wait as long again.

The queue has no shared transaction: on aiosqlite's public API each
statement is a call of its own, so a shared transaction is ``BEGIN`` in one
call and ``COMMIT`` in a later one, and the write lock is then held across
turns of the event loop, during which every inline write finds the file
locked and falls back to the queue. Measured at 100 concurrent coroutines,
that made ``update`` slower than raw aiosqlite. Inline writes share theirs
on the event loop's thread, within one turn of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from jamsession import BackendUnavailableError, JamSessionError
from jamsession_sqlite._checkpoint import Checkpointer
from jamsession_sqlite._schema import is_busy

#: Most statements sent to the thread together: keeps each flush, during
#: which the statements of the next turns wait, short.
MAX_BATCH = 256

#: Seconds an inline attempt may take before the file counts as cold.
COLD_AFTER = 0.002

#: Seconds the statements stay off the event loop after a cold attempt.
WARM_UP = 0.05

#: Most inline writes run in one transaction: bounds how long the event loop
#: and the write lock are held for them.
MAX_SHARED = 64


class Returns(enum.Enum):
    """What a statement gives back to its caller."""

    NOTHING = enum.auto()
    ROWCOUNT = enum.auto()
    ROWS = enum.auto()


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement and what its caller gets back.

    ``inline``: whether it may run on the event loop's thread. Only for a
    statement whose work is one session's row, never one that may scan or
    delete thousands.
    """

    sql: str
    writes: bool
    returns: Returns
    inline: bool = True


class _Params(tuple[Any, ...]):
    """Bound values that do not show in a repr: aiosqlite logs every call it queues at DEBUG."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} parameters>"


class _Queued:
    __slots__ = ("future", "params", "statement")

    def __init__(self, statement: Statement, params: tuple[Any, ...], future: asyncio.Future[Any]) -> None:
        self.statement = statement
        self.params = _Params(params)
        self.future = future


#: What an inline attempt gives when it gives up: the file is locked or cold.
_DEFERRED: Any = object()


class _Write:
    """An inline write waiting for the turn's transaction, then what came of it."""

    __slots__ = ("error", "outcome", "params", "statement")

    def __init__(self, statement: Statement, params: tuple[Any, ...]) -> None:
        self.statement = statement
        self.params = params
        #: The statement's result; _PENDING until it ran, _DEFERRED if it is for the queue.
        self.outcome: Any = _PENDING
        self.error: Exception | None = None


#: What a gathered write holds until its transaction ran.
_PENDING: Any = object()


class Engine:
    """Runs statements on one SQLite file: inline when it is quick, else queued to aiosqlite's thread.

    Args:
        connect: Opens the aiosqlite connection, configured, in autocommit mode.
        connect_inline: Opens the :mod:`sqlite3` connection used on the event
            loop's thread (``timeout=0``, ``check_same_thread=False``); called
            on a worker thread. ``None`` sends every statement to the queue.
        translate: Turns an exception from SQLite into the typed error callers get.
        checkpointer: Started with the connection, told of every write, stopped with it.
        inline_writes: Whether writes may run inline (only where a commit does
            not wait for the disk).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[aiosqlite.Connection]],
        connect_inline: Callable[[], sqlite3.Connection] | None,
        translate: Callable[[BaseException], JamSessionError],
        checkpointer: Checkpointer,
        *,
        inline_writes: bool,
    ) -> None:
        self._connect = connect
        self._connect_inline = connect_inline
        self._translate = translate
        self._checkpointer = checkpointer
        self._inline_writes = inline_writes
        self._connection: aiosqlite.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._opening = asyncio.Lock()
        self._queue: list[_Queued] = []
        self._flush: asyncio.Task[None] | None = None
        self._cold_until = 0.0
        self._disk_waits = _disk_waits()
        # The inline writes gathered in this turn, run together at the start of the next.
        self._writes: list[_Write] = []
        # Closing: new statements are refused; shut: the connection is gone for good.
        self._closed = False
        self._shut = False
        #: Batches sent to aiosqlite's thread so far.
        self.hops = 0
        #: Statements run on the event loop's thread so far.
        self.inline_runs = 0
        #: Transactions of inline writes committed so far.
        self.commits = 0

    async def run(self, statement: Statement, *params: Any) -> Any:
        """Execute ``statement``; its result as ``statement.returns`` says, or its typed error."""
        if self._closed:
            raise BackendUnavailableError("the session store is closed")
        inline = self._inline
        if inline is not None and statement.inline:
            if statement.writes:
                if self._inline_writes and time.monotonic() >= self._cold_until:
                    outcome = await self._gathered(statement, params)
                    if outcome is not _DEFERRED:
                        return outcome
            else:
                try:
                    outcome = self._attempt(inline, statement, params)
                except Exception as exc:
                    raise self._translate(exc) from exc
                if outcome is not _DEFERRED:
                    # However quick the statement was, the caller lets other tasks run.
                    await asyncio.sleep(0)
                    return outcome
        return await self._queued(statement, params)

    def _attempt(self, inline: sqlite3.Connection, statement: Statement, params: tuple[Any, ...]) -> Any:
        started = time.monotonic()
        if started < self._cold_until:
            return _DEFERRED
        try:
            cursor = inline.execute(statement.sql, params)
            rows = cursor.fetchall() if statement.returns is Returns.ROWS else None
        except sqlite3.Error as exc:
            if is_busy(exc):
                return _DEFERRED
            raise
        self._note_time(started)
        self.inline_runs += 1
        return _result(statement, cursor, rows)

    def _note_time(self, started: float) -> None:
        if time.monotonic() - started > COLD_AFTER:
            # Slow: read from the disk, or only preempted by the OS (then the
            # inline route stays, as no page was missing).
            waits = _disk_waits()
            if waits != self._disk_waits:
                self._cold_until = time.monotonic() + WARM_UP
            self._disk_waits = waits

    # -- inline writes, a transaction per turn --------------------------------------------

    async def _gathered(self, statement: Statement, params: tuple[Any, ...]) -> Any:
        """Run ``statement`` with the other writes of this turn; its result, or _DEFERRED."""
        write = _Write(statement, params)
        if not self._writes:
            # Scheduled before this writer yields, so it runs before any writer resumes.
            asyncio.get_running_loop().call_soon(self._run_writes)
        self._writes.append(write)
        # One turn, as a reader yields; more for a write past the first MAX_SHARED of
        # a burst, which runs in a later one.
        while write.outcome is _PENDING:  # noqa: ASYNC110 - the wait is for turns of the loop, not an event
            await asyncio.sleep(0)
        if write.error is not None:
            raise self._translate(write.error) from write.error
        return write.outcome

    def _run_writes(self) -> None:
        """Run up to MAX_SHARED gathered writes in one transaction; the rest on the next turn."""
        batch, self._writes = self._writes[:MAX_SHARED], self._writes[MAX_SHARED:]
        if not batch:
            return  # run already, by aclose
        if self._writes:
            asyncio.get_running_loop().call_soon(self._run_writes)
        inline = self._inline
        if inline is None:  # closed meanwhile: the queue says so, typed
            _defer(batch)
            return
        started = time.monotonic()
        try:
            inline.execute("BEGIN IMMEDIATE")  # the write lock, or busy at once
        except sqlite3.Error as exc:
            if is_busy(exc):
                _defer(batch)  # another connection is writing: wait for it on the thread
            else:
                _fail(batch, exc)
            return
        ran = 0
        for write in batch:
            try:
                cursor = inline.execute(write.statement.sql, write.params)
                rows = cursor.fetchall() if write.statement.returns is Returns.ROWS else None
            except sqlite3.Error as exc:
                if inline.in_transaction:
                    write.outcome, write.error = None, exc  # this statement alone was undone
                    continue
                # SQLite rolled the whole transaction back: what ran is lost, the rest queues.
                _fail([entry for entry in batch if entry.outcome is not _PENDING], exc)
                write.outcome, write.error = None, exc
                _defer([entry for entry in batch if entry.outcome is _PENDING])
                return
            write.outcome = _result(write.statement, cursor, rows)
            ran += 1
        try:
            inline.execute("COMMIT")
        except sqlite3.Error as exc:
            if inline.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    inline.execute("ROLLBACK")
            _fail([entry for entry in batch if entry.error is None], exc)
            return
        self._note_time(started)
        self.inline_runs += ran
        self.commits += 1
        if ran:
            self._checkpointer.wrote(ran)

    # -- the queue ----------------------------------------------------------------------

    async def _queued(self, statement: Statement, params: tuple[Any, ...]) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(statement, params, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_queue())
        # If this caller is cancelled now, its statement may still run.
        return await future

    async def _flush_queue(self) -> None:
        try:
            try:
                connection = await self._open()
            except Exception as exc:  # noqa: BLE001 - every queued caller gets it, typed
                self._fail(self._queue, exc)
                self._queue = []
                return
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self._run_batch(connection, batch)
                except Exception as exc:  # noqa: BLE001 - the batch's callers get it, typed
                    self._fail(batch, exc)
        finally:
            self._flush = None

    async def _run_batch(self, connection: aiosqlite.Connection, batch: list[_Queued]) -> None:
        self.hops += 1
        # The first alone: if it waited all of busy_timeout for the lock, the
        # others fail with it instead of each waiting as long again.
        first, rest = batch[0], batch[1:]
        outcomes: list[Any] = list(
            await asyncio.gather(_call(connection, first.statement, first.params), return_exceptions=True)
        )
        if rest and _is_busy(outcomes[0]):
            outcomes += [outcomes[0]] * len(rest)
        elif rest:
            # Sent together: aiosqlite's thread runs them back to back, each
            # statement its own transaction, so the write lock is never held
            # across turns of the event loop (where inline writes would find it).
            outcomes += await asyncio.gather(
                *(_call(connection, entry.statement, entry.params) for entry in rest), return_exceptions=True
            )
        writes = sum(entry.statement.writes for entry in batch)
        if writes:
            self._checkpointer.wrote(writes)
        for entry, outcome in zip(batch, outcomes, strict=True):
            if entry.future.done():
                continue
            if isinstance(outcome, BaseException):
                entry.future.set_exception(self._typed(outcome))
            else:
                entry.future.set_result(outcome)

    def _fail(self, batch: list[_Queued], exc: BaseException) -> None:
        for entry in batch:
            if not entry.future.done():
                entry.future.set_exception(self._typed(exc))

    def _typed(self, exc: BaseException) -> BaseException:
        if isinstance(exc, asyncio.CancelledError):
            return BackendUnavailableError("the session store was closed before the operation ran")
        typed = self._translate(exc)
        if typed is not exc:
            typed.__cause__ = exc
        return typed

    # -- opening and closing ------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connections now rather than on first use."""
        await self._open()

    async def _open(self) -> aiosqlite.Connection:
        async with self._opening:  # one connection, however many callers wait for it
            if self._connection is None:
                if self._shut:
                    raise BackendUnavailableError("the session store is closed")
                try:
                    connection = await self._connect()
                except Exception as exc:
                    raise self._translate(exc) from exc
                try:
                    if self._connect_inline is not None:
                        self._inline = await asyncio.to_thread(self._connect_inline)
                    self._checkpointer.start()
                except BaseException as exc:
                    await connection.close()
                    if isinstance(exc, Exception):
                        raise self._translate(exc) from exc
                    raise
                self._connection = connection
            return self._connection

    async def aclose(self) -> None:
        """Let queued statements finish, then close the connections. Safe to call twice."""
        self._closed = True
        while self._flush is not None:
            await asyncio.wait([self._flush])
        # An open still in flight would otherwise install its connection after
        # this returns, and aiosqlite's thread would keep the process alive.
        async with self._opening:
            self._shut = True
            while self._writes:  # gathered this turn, and their writers wait for them
                self._run_writes()
            connection, self._connection = self._connection, None
            inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        if connection is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            await connection.close()


async def _call(connection: aiosqlite.Connection, statement: Statement, params: tuple[Any, ...]) -> Any:
    if statement.returns is Returns.ROWS:
        return list(await connection.execute_fetchall(statement.sql, params))
    cursor = await connection.execute(statement.sql, params)
    return _result(statement, cursor, None)


def _defer(batch: list[_Write]) -> None:
    for write in batch:
        write.outcome = _DEFERRED


def _fail(batch: list[_Write], exc: Exception) -> None:
    for write in batch:
        write.outcome, write.error = None, exc


def _is_busy(outcome: object) -> bool:
    return isinstance(outcome, sqlite3.Error) and is_busy(outcome)


def _disk_waits() -> int:
    """Major page faults and block reads of the calling thread so far (of the process, off Linux)."""
    try:
        # Imported here: absent on Windows, and only needed on a slow attempt.
        import resource
    except ImportError:  # pragma: no cover - Windows: every slow attempt counts as cold
        return time.monotonic_ns()
    usage = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return usage.ru_majflt + usage.ru_inblock


def _result(statement: Statement, cursor: Any, rows: list[Any] | None) -> Any:
    if statement.returns is Returns.ROWS:
        return rows
    return cursor.rowcount if statement.returns is Returns.ROWCOUNT else None
