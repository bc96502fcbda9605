"""Group commit: the statements of many coroutines in one thread hop and one transaction.

aiosqlite runs each call on the connection's own thread; the hop there and
back costs far more than SQLite's work on a session row. So the statements
of all coroutines that are ready at once go over in one hop, and when any of
them writes, in one ``BEGIN IMMEDIATE ... COMMIT``.

The batching needs no timer and no extra task. The first caller to find the
connection idle becomes the *leader*: it sends its statement at once (a lone
caller pays exactly one hop, nothing more). Callers arriving while a batch is
in flight wait in line. When the batch ends, its followers are woken, and
only after them the leader, which then hands the lead to the first one in
line; by then every woken caller has queued its next statement, so under
load each hop carries about one statement per concurrent caller.

Each statement still succeeds or fails on its own: a failing statement is
undone alone and reported to its caller only. A failure of the transaction
itself (the disk is full, the lock cannot be had within ``busy_timeout``)
fails every statement of the batch, and nothing of it is committed.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite

from jamsession import BackendUnavailableError, JamSessionError

from jamsession_sqlite._schema import is_busy

# aiosqlite hands every call to the connection's thread through
# ``Connection._execute(fn, *args)``; it is the only way to run one function
# there (a statement and its commit, or a whole batch) in a single hop.
# Checked here so that an aiosqlite without it fails at import, by name.
if not callable(getattr(aiosqlite.Connection, "_execute", None)):  # pragma: no cover - other aiosqlite
    raise ImportError(
        f"jamsession-sqlite needs aiosqlite's Connection._execute, which aiosqlite "
        f"{getattr(aiosqlite, '__version__', '?')} lacks: install a supported aiosqlite (>=0.20,<0.23)"
    )

#: Most statements sent in one hop: keeps each write transaction, during
#: which other processes wait for the lock, short.
MAX_BATCH = 256


class Returns(enum.Enum):
    """What a statement gives back to its caller."""

    NOTHING = enum.auto()
    ROWCOUNT = enum.auto()
    ROWS = enum.auto()


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement and what its caller gets back."""

    sql: str
    writes: bool
    returns: Returns


class Failed:
    """The outcome of a statement that raised; carried back instead of a result."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


#: Sent to a waiting caller instead of an outcome: it leads the next batch.
_LEAD = object()


class _Entry:
    __slots__ = ("future", "outcome", "params", "statement")

    def __init__(self, statement: Statement, params: tuple[Any, ...]) -> None:
        self.statement = statement
        self.params = params
        self.future: asyncio.Future[Any] | None = None
        self.outcome: Any = None


class GroupCommit:
    """Runs statements on one aiosqlite connection, batching concurrent callers.

    Args:
        connect: Opens and configures the :mod:`sqlite3` connection; runs on
            aiosqlite's thread, once, on first use.
        translate: Turns an exception from SQLite into the typed error callers get.
        busy_timeout: Seconds a batch keeps retrying when the file is locked.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        translate: Callable[[BaseException], JamSessionError],
        busy_timeout: float,
    ) -> None:
        self._connect = connect
        self._translate = translate
        self._busy_timeout = busy_timeout
        self._connection: aiosqlite.Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._leading = False
        self._waiting: deque[_Entry] = deque()
        self._closed = False
        self._idle: asyncio.Event | None = None
        #: Hops made to the connection's thread so far.
        self.hops = 0

    async def run(self, statement: Statement, *params: Any) -> Any:
        """Execute ``statement``; its result as ``statement.returns`` says, or its typed error."""
        if self._closed:
            raise BackendUnavailableError("the session store is closed")
        entry = _Entry(statement, params)
        if self._leading:
            future = entry.future = asyncio.get_running_loop().create_future()
            self._waiting.append(entry)
            try:
                outcome = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled() and future.result() is _LEAD:
                    # Cancelled right after being handed the lead: pass it on.
                    self._pass_lead()
                raise
            if outcome is not _LEAD:
                return self._unwrap(outcome)
        else:
            self._leading = True
        try:
            await self._lead(entry)
        finally:
            self._pass_lead()
        return self._unwrap(entry.outcome)

    async def connect(self) -> None:
        """Open the connection now rather than on first use."""
        await self._open()

    async def aclose(self) -> None:
        """Let queued statements finish, then close the connection. Safe to call twice."""
        self._closed = True
        while self._leading:
            self._idle = asyncio.Event()
            await self._idle.wait()
        connection, self._connection, self._raw = self._connection, None, None
        if connection is not None:
            await connection.close()

    # -- the leader -----------------------------------------------------------------

    async def _lead(self, entry: _Entry) -> None:
        batch = [entry]
        waiting = self._waiting
        while waiting and len(batch) < MAX_BATCH:
            follower = waiting.popleft()
            if not cast("asyncio.Future[Any]", follower.future).cancelled():
                batch.append(follower)
        try:
            connection, raw = await self._open()
        except asyncio.CancelledError:
            # Nothing was sent: the followers go back to the head of the line.
            waiting.extendleft(reversed(batch[1:]))
            raise
        except Exception as exc:  # noqa: BLE001 - every caller of the batch gets it, typed
            self._fail(batch, exc)
            return
        loop = asyncio.get_running_loop()
        execute = cast("Callable[..., Awaitable[None]]", connection._execute)  # noqa: SLF001 - see top
        self.hops += 1
        try:
            # Once awaited, the batch is on the thread's queue: if this caller
            # is cancelled now, the batch still runs and the thread still
            # delivers the followers' outcomes.
            await execute(_run_batch, raw, batch, self._busy_timeout, loop, self._deliver)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the thread is gone; every caller gets it, typed
            self._fail(batch, exc)

    def _pass_lead(self) -> None:
        waiting = self._waiting
        while waiting:
            future = cast("asyncio.Future[Any]", waiting.popleft().future)
            if not future.done():
                future.set_result(_LEAD)
                return
        self._leading = False
        if self._idle is not None:
            self._idle.set()

    def _fail(self, batch: list[_Entry], exc: BaseException) -> None:
        failed = Failed(exc)
        for entry in batch:
            entry.outcome = failed
        self._deliver(batch)

    @staticmethod
    def _deliver(batch: list[_Entry]) -> None:
        for entry in batch[1:]:
            future = cast("asyncio.Future[Any]", entry.future)
            if not future.done():
                future.set_result(entry.outcome)

    def _unwrap(self, outcome: Any) -> Any:
        if type(outcome) is not Failed:
            return outcome
        cause = outcome.error
        if isinstance(cause, JamSessionError):
            # Already typed, and maybe shared by a whole batch: each caller
            # raises its own copy, chained to the original's cause.
            raise copy.copy(cause) from cause.__cause__
        raise self._translate(cause) from cause

    async def _open(self) -> tuple[aiosqlite.Connection, sqlite3.Connection]:
        if self._connection is None or self._raw is None:
            if self._closed:
                raise BackendUnavailableError("the session store is closed")
            opened: list[sqlite3.Connection] = []

            def connector() -> sqlite3.Connection:
                raw = self._connect()
                opened.append(raw)
                return raw

            connection = aiosqlite.Connection(connector, iter_chunk_size=64)
            try:
                await connection
            except Exception as exc:
                raise self._translate(exc) from exc
            self._connection, self._raw = connection, opened[0]
        return self._connection, self._raw


# -- on the connection's thread -------------------------------------------------------


def _run_batch(
    raw: sqlite3.Connection,
    batch: list[_Entry],
    busy_timeout: float,
    loop: asyncio.AbstractEventLoop,
    deliver: Callable[[list[_Entry]], None],
) -> None:
    outcomes = _execute(raw, batch, time.monotonic() + busy_timeout)
    for entry, outcome in zip(batch, outcomes, strict=True):
        entry.outcome = outcome
    if len(batch) > 1:
        # The leader learns its own outcome from aiosqlite; the followers
        # are woken from here, before it.
        try:
            loop.call_soon_threadsafe(deliver, batch)
        except RuntimeError:  # pragma: no cover - the loop closed under us; no one is waiting
            pass


def _execute(raw: sqlite3.Connection, batch: list[_Entry], deadline: float) -> list[Any]:
    attempt = 0
    while True:
        try:
            if len(batch) == 1:
                # One statement is atomic on its own: no BEGIN/COMMIT needed.
                return [_apply(raw, batch[0])]
            return _transaction(raw, batch)
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
    for entry in batch:
        try:
            outcomes.append(_apply(raw, entry))
        except sqlite3.Error as exc:
            if is_busy(exc) or not raw.in_transaction:
                raise  # the transaction itself failed: the whole batch retries or fails
            outcomes.append(Failed(exc))  # only this statement was undone
        except Exception as exc:  # noqa: BLE001 - a value sqlite3 cannot bind; nothing was run
            outcomes.append(Failed(exc))
    raw.execute("COMMIT")
    return outcomes


def _apply(raw: sqlite3.Connection, entry: _Entry) -> Any:
    statement = entry.statement
    cursor = raw.execute(statement.sql, entry.params)
    if statement.returns is Returns.ROWS:
        return cursor.fetchall()
    if statement.returns is Returns.ROWCOUNT:
        return cursor.rowcount
    return None


def _rollback(raw: sqlite3.Connection) -> None:
    try:
        raw.execute("ROLLBACK")
    except sqlite3.Error:  # pragma: no cover - SQLite rolled back already
        pass
