"""``SqliteSessions``: sessions in one SQLite file, shared by every process that opens it."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Literal, Unpack

import aiosqlite

from jamsession import (
    ConfigError,
    Option,
    RecordBatch,
    RecordOptions,
    RecordSessionModule,
    StoredSession,
    build_in_slices,
)
from jamsession_sqlite import _statements as statements
from jamsession_sqlite._checkpoint import RESTART_WAL, Checkpointer
from jamsession_sqlite._engine import Engine, Statement
from jamsession_sqlite._failures import open_error, operation_error
from jamsession_sqlite._schema import SchemaError, check_sqlite_version, prepare

Synchronous = Literal["off", "normal", "full", "extra"]

_SYNCHRONOUS = ("off", "normal", "full", "extra")

#: Bytes the WAL file is truncated back to after a burst of writes.
_WAL_SIZE_LIMIT = 64 * 1024 * 1024


class SqliteSessions(RecordSessionModule):
    """Sessions in an SQLite file: durable, and shared by every process that opens the file.

    The file is created, with its schema, when the store is built; building
    the store also checks that the file is usable (a directory, a file that
    is not SQLite, a read-only location, a schema from a newer version all
    raise :class:`~jamsession.ConfigError` there, before any request). The
    connection itself opens on first use, or on ``async with``; call
    :meth:`aclose` (or leave the ``async with`` block) to close it.

    Several processes, such as the workers of a web server, may share one
    file: SQLite's WAL mode lets readers proceed while one process writes,
    and writers wait for each other up to ``busy_timeout``. A process that
    has the store open must not open and close the file (or its ``-wal`` and
    ``-shm``) with ordinary file calls: on POSIX, closing any descriptor of a
    file drops every lock the process holds on it, SQLite's included, and the
    next process to close the file then deletes the log this one still
    writes to, which damages the file. Do such work in another process.

    The event loop belongs to the application: a statement that touches one
    session's row runs on the event loop's thread only when it needs no lock
    wait and no disk read, and the caller then yields once, so awaiting
    operations back to back lets other tasks run; everything else (lock
    waits, a cold file, whole-key work such as ``clear`` and
    ``list_sessions`` of a key with any number of sessions, purges) runs on
    aiosqlite's thread, one statement after another. See
    :mod:`jamsession_sqlite._engine` for the two routes.

    Args:
        path: The SQLite file. Created when missing; it must not be shared
            with other applications' tables (its ``user_version`` holds the
            schema version). Its ``-wal`` and ``-shm`` companions live next to it.
        synchronous: SQLite's ``PRAGMA synchronous`` in WAL mode:

            * ``"normal"`` (default): an operation that has returned survives a
              crash or kill of the process; a power loss or OS crash may undo
              the last operations before it (the file stays intact).
            * ``"full"``: each commit is flushed to disk (``fsync``) before the
              operation returns, so it also survives power loss; such writes
              run on aiosqlite's thread, one flush each.
            * ``"extra"``: as ``"full"``, and also flushes the directory.
            * ``"off"``: never flushes; a process crash loses nothing, but a
              power loss may corrupt the file. For scratch data only.
        busy_timeout: Seconds to wait for another process's write lock before
            failing with :class:`~jamsession.BackendUnavailableError`.
        mmap_size: Bytes of the file read through a memory map instead of
            ``read`` calls; keeps lookups in large files fast. ``0`` turns it
            off. SQLite caps it at its build's limit (2 GiB less 64 KiB by
            default). It is address space: only pages read take memory, and
            those are the OS's file cache, shared by every process.
        cache_size: SQLite's page cache per connection, in KiB. With
            ``inline_statements``, a store has two connections: one used on
            the event loop's thread and one on aiosqlite's.
        inline_statements: Run per-session statements on the event loop's
            thread, as above (default). Writes do so only with ``synchronous`` "normal"
            or "off", where a commit does not wait for the disk. ``False``
            sends every statement to aiosqlite's thread, so the event loop
            never touches the file: each operation then costs a thread hop,
            but a read of a page that is not in memory never holds up the
            event loop while the disk answers.

    The other arguments are :class:`~jamsession.RecordSessionModule`'s.
    ``jamsession gc`` (or :meth:`purge_expired`) removes expired sessions in
    batches of :attr:`purge_batch_size`, so other processes are never held
    up for long.

    .. versionadded:: 0.1
    """

    supports_entries = True
    supports_scan = True
    # Each row holds the format of its data, checked in the statement that reads or writes it.
    checks_data_format = True
    options = (
        Option(
            "path", str | os.PathLike, Option.REQUIRED, "the SQLite file; created with its schema", path=True
        ),
        Option("synchronous", Synchronous, "normal", "PRAGMA synchronous: what a crash may undo"),
        Option("busy_timeout", float, 5.0, "seconds to wait for another process's write lock"),
        Option("mmap_size", int, 2 * 1024 * 1024 * 1024, "bytes of the file read through a memory map"),
        Option("cache_size", int, 8192, "SQLite's page cache per connection, in KiB"),
        Option("inline_statements", bool, True, "run lone operations on the event loop's thread"),
    )

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        synchronous: Synchronous = "normal",
        busy_timeout: float = 5.0,
        mmap_size: int = 2 * 1024 * 1024 * 1024,
        cache_size: int = 8192,
        inline_statements: bool = True,
        **options: Unpack[RecordOptions],
    ) -> None:
        self.path = _check_path(path)
        self.synchronous: Synchronous = _check_synchronous(synchronous)
        self.busy_timeout = _check_number("busy_timeout", busy_timeout, minimum=0)
        self.mmap_size = _check_int("mmap_size", mmap_size)
        self.cache_size = _check_int("cache_size", cache_size)
        if not isinstance(inline_statements, bool):
            raise ConfigError(f"inline_statements must be True or False, not {inline_statements!r}")
        self.inline_statements = inline_statements
        super().__init__(**options)
        # The formats this store reads, as the statements take them: each between newlines.
        self._readable = "\n" + "\n".join(sorted(self.readable_formats)) + "\n"
        self._prepare_file()
        self._engine = Engine(
            self._connect,
            self._connect_inline if self.inline_statements else None,
            self._operation_error,
            Checkpointer(self._plain_connection),
            # A commit that flushes to disk would hold the event loop for milliseconds.
            inline_writes=self.synchronous in {"off", "normal"},
        )

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]} path={self.path!r}>"

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> SqliteSessions:
        await self._engine.connect()
        return self

    async def aclose(self) -> None:
        """Finish queued operations and close the connection. Safe to call twice.

        .. versionadded:: 0.1
        """
        await self._engine.aclose()

    def _prepare_file(self) -> None:
        """Create or migrate the file now, so a bad ``path`` fails when the store is built."""
        try:
            check_sqlite_version()
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except (sqlite3.Error, SchemaError) as exc:
            raise open_error(self.path, exc) from exc
        try:
            prepare(connection, time.monotonic() + self.busy_timeout)
        except (sqlite3.Error, SchemaError) as exc:
            raise open_error(self.path, exc) from exc
        finally:
            connection.close()

    def _plain_connection(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)

    def _connect_inline(self) -> sqlite3.Connection:
        # Opened on a worker thread, used on the event loop's only. It never
        # waits for a lock (timeout 0): a locked statement takes the queue.
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            for pragma in self._pragmas():
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
        return connection

    async def _connect(self) -> aiosqlite.Connection:
        # Autocommit mode: transactions are the engine's explicit BEGIN/COMMIT,
        # never sqlite3's implicit ones.
        connection = await aiosqlite.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            for pragma in self._pragmas():
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        # An empty WAL's first write syncs its header: done here, off the event loop.
        with contextlib.suppress(sqlite3.Error):
            await connection.execute(RESTART_WAL)
        return connection

    def _pragmas(self) -> list[str]:
        # PRAGMA takes no parameters; every value here was validated above.
        return [
            f"PRAGMA synchronous = {self.synchronous.upper()}",
            f"PRAGMA mmap_size = {self.mmap_size}",
            f"PRAGMA cache_size = {-self.cache_size}",
            # The checkpointer thread does it, off the request path.
            "PRAGMA wal_autocheckpoint = 0",
            # After a burst, the WAL is cut back to this size once reset.
            f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}",
        ]

    def _operation_error(self, exc: BaseException) -> Any:
        return operation_error(self.path, exc)

    # -- the storage primitives ---------------------------------------------------------

    async def insert_record(self, record: StoredSession) -> None:
        await self._engine.run(
            statements.INSERT,
            record.raw_id,
            _key_bytes(record.session_key),
            record.blob,
            record.created_at,
            record.created_at,
            record.expires_at,
            record.data_format,
        )

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        if extend_to is None:
            rows = await self._engine.run(statements.FETCH, raw_id, now, self._readable)
        else:
            rows = await self._engine.run(statements.FETCH_EXTENDING, extend_to, raw_id, now, self._readable)
        return rows[0][0] if rows else None

    async def fetch_full_record(
        self, raw_id: str, now: float, extend_to: float | None
    ) -> StoredSession | None:
        if extend_to is None:
            rows = await self._engine.run(statements.FETCH_FULL, raw_id, now, self._readable)
        else:
            rows = await self._engine.run(
                statements.FETCH_FULL_EXTENDING, extend_to, raw_id, now, self._readable
            )
        if not rows:
            return None
        key, blob, created_at, expires_at, data_format = rows[0]
        return StoredSession(raw_id, _key_text(key), blob, created_at, expires_at, data_format)

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        statement, expiry = _keeping_or_extending(statements.SWAP, statements.SWAP_EXTENDING, extend_to)
        changed: int = await self._engine.run(
            statement, blob, self.data_format, now, *expiry, raw_id, now, self._readable, expected
        )
        if changed == 1:
            return True
        # Nothing was written: tell a row holding other bytes from one that is
        # gone. Gone now means gone for good (IDs are never reused), so reading
        # after the swap gives the same answer as reading within it.
        return False if await self._engine.run(statements.IS_LIVE, raw_id, now, self._readable) else None

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        statement, expiry = _keeping_or_extending(statements.REPLACE, statements.REPLACE_EXTENDING, extend_to)
        changed: int = await self._engine.run(
            statement, blob, self.data_format, now, *expiry, raw_id, now, self._readable
        )
        return changed == 1

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        if session_key is None and blob is None:
            changed: int = await self._engine.run(
                statements.MOVE, new_raw_id, now, raw_id, now, self._readable
            )
        else:
            key = None if session_key is None else _key_bytes(session_key)
            data_format = None if blob is None else self.data_format
            changed = await self._engine.run(
                statements.MOVE_REPLACING,
                new_raw_id,
                now,
                key,
                blob,
                data_format,
                raw_id,
                now,
                self._readable,
            )
        return changed == 1

    async def remove_record(self, raw_id: str) -> None:
        await self._engine.run(statements.REMOVE, raw_id)

    async def remove_key_records(self, session_key: str) -> None:
        await self._engine.run(statements.REMOVE_KEY, _key_bytes(session_key))

    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        rows = await self._engine.run(statements.LIST_KEY, _key_bytes(session_key), now, self._readable)
        return await build_in_slices(
            rows, lambda row: StoredSession(row[0], session_key, row[1], row[2], row[3], row[4]), release=True
        )

    async def purge_records(self, now: float, limit: int) -> int:
        removed: int = await self._engine.run(statements.PURGE, now, limit)
        return removed

    async def scan_records(self, after: str | None, limit: int) -> RecordBatch:
        """The next ``limit`` rows in rowid order: one short read, the cursor the last rowid."""
        try:
            start = 0 if after is None else int(after)
        except ValueError:
            raise ValueError(f"not a cursor of this store: {after!r}") from None
        rows = await self._engine.run(statements.SCAN, start, limit)
        cursor = str(rows[-1][0]) if len(rows) == limit else None
        records = await build_in_slices(
            rows,
            lambda row: StoredSession(row[1], _key_text(row[2]), row[3], row[4], row[5], row[6]),
            release=True,
        )
        return RecordBatch(records, cursor)

    async def estimate_record_count(self) -> int:
        rows = await self._engine.run(statements.COUNT)
        return int(rows[0][0])


def _keeping_or_extending(
    keeping: Statement, extending: Statement, extend_to: float | None
) -> tuple[Statement, tuple[float, ...]]:
    """The statement that writes data and keeps the expiry, or the one that sets it, with its value."""
    return (keeping, ()) if extend_to is None else (extending, (extend_to,))


def _key_bytes(session_key: str) -> bytes:
    # Any str is a valid key, lone surrogates included.
    return session_key.encode("utf-8", "surrogatepass")


def _key_text(stored: bytes) -> str:
    return stored.decode("utf-8", "surrogatepass")


def _check_path(path: object) -> str:
    if path is None:
        raise ConfigError("the sqlite backend needs `path`: the SQLite file to keep sessions in")
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path must be a file path (str or os.PathLike), not {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("path must be a non-empty file path")
    if text == ":memory:" or text.startswith("file:"):
        raise ConfigError(
            f"path must be a file on disk, not {text!r}; for sessions held in memory use backend='memory'"
        )
    if "\x00" in text:
        raise ConfigError(f"path {text!r} contains a NUL character, which no file name can hold")
    # Absolute: the connection opens lazily, perhaps after a chdir.
    resolved = Path(os.path.abspath(Path(text).expanduser()))
    try:
        if resolved.is_dir():
            raise ConfigError(f"path {text!r} is a directory: give a file path, such as {text}/sessions.db")
        if not resolved.parent.is_dir():
            raise ConfigError(f"the directory of path {text!r} does not exist: create it first")
    except PermissionError as exc:
        raise ConfigError(
            f"cannot look up path {text!r}: this process lacks search permission on one of its directories"
        ) from exc
    return str(resolved)


def _check_synchronous(value: object) -> Synchronous:
    if isinstance(value, str) and value.lower() in _SYNCHRONOUS:
        return value.lower()  # type: ignore[return-value]  # checked against the literal's values
    raise ConfigError(f"synchronous must be one of {', '.join(map(repr, _SYNCHRONOUS))}, not {value!r}")


def _check_number(name: str, value: object, *, minimum: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
    ):
        raise ConfigError(f"{name} must be a number of seconds >= {minimum}, not {value!r}")
    return float(value)


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be an int >= 0, not {value!r}")
    return value
