"""Checkpoints off the request path: the WAL is copied back into the file from a thread of its own.

By default SQLite checkpoints inside whichever commit pushes the WAL past
1000 pages: that one operation then also copies the pages and, with
``synchronous=NORMAL``, waits for two ``fsync`` calls; tens of milliseconds
on a request that would take a tenth of one. Here the store's connection
turns that off and this thread checkpoints instead, once enough has been
written or a moment has passed since the last write.

Checkpoints are ``PASSIVE``: they never wait for or block readers and
writers, in this process or another. Every process sharing the file runs
its own checkpointer; whichever gets there first does the work.

A write that starts the WAL afresh (the first after a checkpoint that copied
all of it back, or into an empty WAL) makes SQLite sync the WAL's header,
even with ``synchronous=NORMAL``. Writes run on the event loop, so this
thread, and aiosqlite's thread when the store opens, write one page first
(:data:`RESTART_WAL`), and take that wait themselves.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable

from jamsession_sqlite._schema import APPLICATION_ID

#: Write statements after which a checkpoint is due (about 1000 WAL pages,
#: SQLite's own default threshold, for session-sized rows).
WRITES_PER_CHECKPOINT = 400

#: Seconds after a write before its pages are checkpointed at the latest.
IDLE_CHECKPOINT_DELAY = 0.5


class Checkpointer:
    """A daemon thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` when nudged.

    Args:
        connect: Opens a connection to the file; called on the thread.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._due = threading.Event()
        # Set by the first write after a checkpoint: wakes the idle thread to time the delay.
        self._wrote = threading.Event()
        self._stopping = threading.Event()
        self._writes = 0
        # Daemon: a process that exits without closing the store must not
        # hang on this thread; a checkpoint cut short is redone later.
        self._thread = threading.Thread(target=self._run, name="jamsession-sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        """Start the thread; a no-op once started (an open cancelled midway may already have)."""
        if self._thread.ident is None:
            self._thread.start()

    def wrote(self, statements: int) -> None:
        """Count write statements just committed, from the event loop or the connection's thread.

        Unlocked: a count lost to a race between them only delays a checkpoint.
        """
        if not self._writes:
            self._wrote.set()
        self._writes += statements
        if self._writes >= WRITES_PER_CHECKPOINT:
            self._writes = 0
            self._due.set()

    def stop(self) -> None:
        """End the thread after its current checkpoint; the file stays consistent either way."""
        self._stopping.set()
        self._wrote.set()
        self._due.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            connection = self._connect()
        except sqlite3.Error:
            # Without it, SQLite still checkpoints when the last connection
            # closes; the store's own errors will say what is wrong.
            return
        try:
            while not self._stopping.is_set():
                # Idle until a write; then a checkpoint within the delay, or
                # as soon as enough has been written.
                self._wrote.wait()
                self._wrote.clear()
                nudged = self._due.wait(IDLE_CHECKPOINT_DELAY)
                self._due.clear()
                if self._stopping.is_set():
                    break
                if nudged or self._writes:
                    self._writes = 0
                    self._checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        # Busy with another process's checkpoint, or a transient I/O error:
        # the next round tries again.
        with contextlib.suppress(sqlite3.Error):
            _, in_wal, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if in_wal == copied:
                restart_wal(connection)


#: Writes one page, so that if this write starts the WAL afresh, it is this one
#: that waits for the disk. The page is the file's header, rewritten unchanged
#: (its application ID never changes). PRAGMA takes no parameters; the value
#: is this package's constant.
RESTART_WAL = f"PRAGMA application_id = {APPLICATION_ID}"


def restart_wal(connection: sqlite3.Connection) -> None:
    """Run :data:`RESTART_WAL`. Best effort: when the file is locked or the write fails,
    a later write starts the WAL instead, as it would have anyway.
    """
    with contextlib.suppress(sqlite3.Error):
        connection.execute(RESTART_WAL)
