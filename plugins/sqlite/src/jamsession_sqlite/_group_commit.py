"""Where each statement runs: on the event loop when it is alone, in batches on aiosqlite's thread when not.

aiosqlite runs each call on the connection's own thread; the hop there and
back (about 0.1 ms) costs far more than SQLite's work on a session row (a
few microseconds). So:

* A read that finds nothing in flight runs at once on the event loop's
  thread, on a second connection that never waits for a lock. In WAL mode a
  read waits for no writer, so it costs the event loop only SQLite's work.
* A write joins the line. At the end of the current turn of the event loop,
  a write still alone there runs on the event loop the same way and commits
  at once; writes from several coroutines go to the thread together.
  Writes stay off the event loop where a commit waits for the disk
  (``synchronous`` "full" or "extra"); each then goes to the thread alone,
  in one hop, when nothing else is in flight.
* A statement that finds the file locked on the event loop goes to the
  thread, which waits for the lock up to ``busy_timeout``.
* On the thread, a *drain* takes everything in the line and runs it as one
  batch in one transaction (see :mod:`jamsession_sqlite._batch`), wakes that
  batch's callers, and takes the line again, until it finds it empty. While
  a batch runs, the callers of the previous one are woken and queue their
  next statements, so under load each batch carries about one statement per
  concurrent caller, and the thread never waits to be woken.
"""

from __future__ import annotations

import asyncio
import copy
import operator
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NoReturn, cast

import aiosqlite

from jamsession import BackendUnavailableError, JamSessionError
from jamsession_sqlite._batch import (
    MAX_BATCH,
    Entry,
    Failed,
    Line,
    Returns,
    Statement,
    apply,
    deliver,
    drain_line,
    execute_batch,
    result,
)
from jamsession_sqlite._checkpoint import Checkpointer, restart_wal
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

_fetchall = operator.methodcaller("fetchall")

#: What a statement run on the event loop gives when it finds the file locked.
_LOCKED: Any = object()


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


class GroupCommit:
    """Runs statements on one SQLite file: alone on the event loop, together on aiosqlite's thread.

    Args:
        connect: Opens and configures the :mod:`sqlite3` connection; runs on
            aiosqlite's thread, once, on first use.
        translate: Turns an exception from SQLite into the typed error callers get.
        busy_timeout: Seconds a batch keeps retrying when the file is locked.
        checkpointer: Started with the connection, told of every write, stopped with it.
        connect_inline: Opens the connection used on the event loop's thread,
            which must never wait for a lock (``timeout=0``); ``None`` sends
            every statement to aiosqlite's thread.
        inline_writes: Whether writes may run on the event loop too (only
            where a commit does not wait for the disk).
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        translate: Callable[[BaseException], JamSessionError],
        busy_timeout: float,
        checkpointer: Checkpointer,
        *,
        connect_inline: Callable[[], sqlite3.Connection] | None = None,
        inline_writes: bool = False,
    ) -> None:
        self._connect = connect
        self._connect_inline = connect_inline
        self._inline_writes = inline_writes
        self._checkpointer = checkpointer
        self._translate = translate
        self._busy_timeout = busy_timeout
        self._connection: aiosqlite.Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        # The connection's ``_execute``, bound once it is open (see top).
        self._execute: Callable[..., Awaitable[Any]] | None = None
        self._opening = asyncio.Lock()
        self._line = Line()
        self._single_in_flight = False
        self._flush_pending = False
        self._drains: set[asyncio.Task[None]] = set()
        # Closing: new statements are refused; shut: the connection is gone for good.
        self._closed = False
        self._shut = False
        #: Hops made to the connection's thread so far.
        self.hops = 0
        #: Statements run on the event loop's thread so far.
        self.inline_runs = 0

    async def run(self, statement: Statement, *params: Any) -> Any:
        """Execute ``statement``; its result as ``statement.returns`` says, or its typed error."""
        if self._closed:
            raise BackendUnavailableError("the session store is closed")
        idle = not self._line.draining and not self._single_in_flight
        inline = self._inline if statement.inline else None
        if inline is not None and idle:
            if not statement.writes:
                # A read in WAL mode waits for no writer: it runs here, with no hop.
                try:
                    outcome = self._run_inline(inline, statement, params)
                except Exception as exc:
                    raise self._translate(exc) from exc
                if outcome is not _LOCKED:
                    return outcome
                # Locked after all (another process is recovering the WAL): the thread waits.
            elif self._inline_writes:
                return await self._queue(statement, params)
        if idle and self._execute is not None and self._raw is not None:
            return await self._run_alone(self._execute, self._raw, statement, params)
        return await self._queue(statement, params)

    async def _run_alone(
        self,
        execute: Callable[..., Awaitable[Any]],
        raw: sqlite3.Connection,
        statement: Statement,
        params: tuple[Any, ...],
    ) -> Any:
        """Nothing in flight: ``statement`` goes to the thread alone, at once, in one hop."""
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
        return result(statement, outcome)

    async def _queue(self, statement: Statement, params: tuple[Any, ...]) -> Any:
        """Put ``statement`` in the line and wait for the batch it goes in."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._line.put(Entry(statement, params, future)):
            if self._inline is not None and self._inline_writes and statement.inline:
                # Whatever joins the line in this turn of the event loop goes with it.
                self._flush_pending = True
                loop.call_soon(self._flush)
            else:
                self._start_drain()
        # If this caller is cancelled now, its statement may still run.
        outcome = await future
        if type(outcome) is Failed:
            self._raise(outcome)
        return outcome

    def _flush(self) -> None:
        """Run a lone statement in the line here, on the event loop; more than one go to the thread."""
        self._flush_pending = False
        line, inline = self._line, self._inline
        entry = line.take_lone() if inline is not None else None
        if entry is None or inline is None:
            self._start_drain()
            return
        try:
            entry.outcome = self._run_inline(inline, entry.statement, entry.params)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, typed there
            entry.outcome = Failed(exc)
        if entry.outcome is _LOCKED:
            # The thread waits for the lock, up to busy_timeout.
            if line.put(entry):
                self._start_drain()
            return
        deliver([entry])

    def _run_inline(self, inline: sqlite3.Connection, statement: Statement, params: tuple[Any, ...]) -> Any:
        """``statement`` run here, on the event loop; :data:`_LOCKED` if another connection holds the lock."""
        try:
            outcome = apply(inline, statement, params)
        except sqlite3.Error as exc:
            if is_busy(exc):
                return _LOCKED
            raise
        self.inline_runs += 1
        if statement.writes:
            self._checkpointer.wrote(1)
        return outcome

    def _start_drain(self) -> None:
        drain = asyncio.create_task(self._drain())
        self._drains.add(drain)
        drain.add_done_callback(self._drains.discard)

    async def connect(self) -> None:
        """Open the connection now rather than on first use."""
        await self._open()

    async def aclose(self) -> None:
        """Let queued statements finish, then close the connection. Safe to call twice."""
        self._closed = True
        while self._drains or self._flush_pending:
            if self._drains:
                await asyncio.wait(list(self._drains))
            else:
                await asyncio.sleep(0)
        # An open still in flight (``connect()``, or a retry) would otherwise
        # install its connection after this returns, and aiosqlite's thread,
        # not a daemon, would then keep the process from exiting.
        async with self._opening:
            self._shut = True
            connection, execute = self._connection, self._execute
            self._connection, self._raw, self._execute = None, None, None
            inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
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
                drain_line,
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
            deliver(batch)

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
            execute_batch, raw, [Entry(statement, params)], deadline, self._checkpointer
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
                    try:
                        opened.append(self._connect())
                        if self._connect_inline is not None:
                            opened.append(self._connect_inline())
                            # An empty WAL's first write syncs its header: done here, not on the event loop.
                            restart_wal(opened[0])
                        self._checkpointer.start()
                    except BaseException:
                        for made in opened:
                            made.close()
                        raise
                    return opened[0]

                connection = aiosqlite.Connection(connector, iter_chunk_size=64)
                try:
                    await connection
                except Exception as exc:
                    raise self._translate(exc) from exc
                self._connection, self._raw = connection, opened[0]
                self._inline = opened[1] if len(opened) > 1 else None
                self._execute = cast("Callable[..., Awaitable[Any]]", connection._execute)
            return self._execute, self._raw
