"""Turning what sqlite3 raises into jamsession's typed errors, each with its fix.

Messages name the file and the cause; SQLite's own messages never hold
bound values, so no session data, ID or key reaches them.
"""

from __future__ import annotations

import sqlite3

from jamsession import (
    BackendUnavailableError,
    ConfigError,
    DuplicateSessionIdError,
    JamSessionError,
    SerializationError,
)
from jamsession_sqlite._schema import SchemaError, is_busy


def open_error(path: str, exc: BaseException) -> JamSessionError:
    """The error for a file that cannot be opened or prepared when the store is built."""
    if isinstance(exc, SchemaError):
        return ConfigError(f"SQLite file {path!r}: {exc}")
    if isinstance(exc, sqlite3.Error):
        code = _primary_code(exc)
        if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            return ConfigError(
                f"{path!r} is not an SQLite database (or is damaged): point `path` at a new file, "
                f"or at a file jamsession created"
            )
        if code == sqlite3.SQLITE_CANTOPEN:
            return ConfigError(
                f"cannot open or create SQLite file {path!r}: the directory must exist and be "
                f"writable by this process (SQLite also creates {path}-wal and {path}-shm next to it)"
            )
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
            return ConfigError(
                f"SQLite file {path!r} is read-only for this process: give it (and its directory) "
                f"write permission"
            )
    return operation_error(path, exc)


def operation_error(path: str, exc: BaseException) -> JamSessionError:
    """The error for an operation that failed against an already opened file."""
    if isinstance(exc, JamSessionError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError):
        # Only the primary key can conflict: a fresh ID that is already taken.
        return DuplicateSessionIdError()
    if isinstance(exc, (UnicodeEncodeError, sqlite3.InterfaceError, sqlite3.ProgrammingError)):
        # Binding failed: an ID that is not text, or not encodable.
        return ConfigError(f"id_factory must return text IDs ({type(exc).__name__})")
    if isinstance(exc, sqlite3.Error):
        return _sqlite_error(path, exc)
    if isinstance(exc, ValueError):
        # aiosqlite's word for a connection whose thread has stopped.
        return BackendUnavailableError(f"the connection to SQLite file {path!r} is closed")
    return BackendUnavailableError(f"SQLite file {path!r}: operation failed ({type(exc).__name__})")


def _sqlite_error(path: str, exc: sqlite3.Error) -> JamSessionError:
    if is_busy(exc):
        return BackendUnavailableError(
            f"SQLite file {path!r} stayed locked by another connection for longer than "
            f"busy_timeout: raise busy_timeout, or find the process holding a long transaction"
        )
    code = _primary_code(exc)
    if code == sqlite3.SQLITE_TOOBIG:
        return SerializationError("session data is too large for SQLite to store")
    for codes, message in _UNAVAILABLE:
        if code in codes:
            return BackendUnavailableError(message.format(path=path))
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return BackendUnavailableError(f"SQLite file {path!r}: operation failed ({name})")


_UNAVAILABLE: tuple[tuple[frozenset[int], str], ...] = (
    (frozenset({sqlite3.SQLITE_FULL}), "the disk holding SQLite file {path!r} is full"),
    (
        frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN}),
        "SQLite file {path!r} (or its -wal/-shm files) cannot be written by this process: "
        "check the permissions of the file and its directory",
    ),
    (
        frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}),
        "SQLite file {path!r} is damaged: run `PRAGMA integrity_check` on it, "
        "or move it aside so a new one is created",
    ),
)


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF
