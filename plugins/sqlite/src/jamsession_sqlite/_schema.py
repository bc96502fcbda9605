"""The file's schema, its version, and how a file is brought up to it.

The file belongs to jamsession: ``PRAGMA application_id`` marks it as ours
and ``PRAGMA user_version`` holds the schema version, so a file written by
another application, or by a newer jamsession-sqlite, is refused instead of
being altered.
"""

from __future__ import annotations

import sqlite3
import time

#: "JamS" in ASCII: what ``PRAGMA application_id`` holds in a jamsession file.
APPLICATION_ID = 0x4A616D53

#: The schema version this code reads and writes.
SCHEMA_VERSION = 2

#: RETURNING (3.35) and STRICT tables (3.37).
MIN_SQLITE_VERSION = (3, 37, 0)

#: ``MIGRATIONS[n]`` brings a file from version ``n - 1`` to version ``n``;
#: version 0 is a new, empty file. A later schema appends its step here and
#: bumps :data:`SCHEMA_VERSION`; files are migrated in place when opened.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # STRICT: a value of the wrong type is refused rather than stored.
        # The session key is a BLOB (UTF-8, lone surrogates kept) so that any
        # Python string can be a key.
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY NOT NULL,
            session_key BLOB NOT NULL,
            data BLOB NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            expires_at REAL
        ) STRICT
        """,
        # Listing and clearing are lookups in this index: O(sessions of the key).
        "CREATE INDEX sessions_by_key ON sessions (session_key)",
        # Purging walks this index from the oldest expiry; sessions that never
        # expire are left out of it entirely.
        "CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL",
    ),
    2: (
        # What wrote each row's data (serializer, and key with crypt on), so a
        # statement skips, in the same step, a row its store cannot read: a
        # file shared by stores of another serializer or key. Rows written
        # before have none, and are read as before.
        "ALTER TABLE sessions ADD COLUMN data_format TEXT",
    ),
}


class SchemaError(Exception):
    """The file cannot be used as it is; the message says why and what to do."""


def check_sqlite_version() -> None:
    """Refuse an SQLite library too old for the statements used here."""
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        wanted = ".".join(map(str, MIN_SQLITE_VERSION))
        raise SchemaError(
            f"jamsession-sqlite needs SQLite {wanted} or newer; this Python uses "
            f"{sqlite3.sqlite_version}: use a Python built against a newer SQLite"
        )


def prepare(connection: sqlite3.Connection, deadline: float) -> None:
    """Put the file in WAL mode and bring its schema to :data:`SCHEMA_VERSION`.

    Safe to run from several processes at once: the version is read and
    migrated inside one write transaction, so exactly one of them migrates.
    ``connection`` must be in autocommit mode (``isolation_level=None``).
    """
    # Before WAL: the journal mode is stored in the file, so switching a
    # file that is not ours would alter it even though it is then refused.
    _check_owner(connection)
    _enable_wal(connection, deadline)
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
    try:
        _migrate(connection)
        connection.execute("COMMIT")
    except BaseException:
        connection.rollback()
        raise


def _enable_wal(connection: sqlite3.Connection, deadline: float) -> None:
    # WAL lets readers run while one process writes, and makes a commit a
    # single append to the log. The mode is stored in the file, so this is a
    # no-op once any process has set it.
    while True:
        try:
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            # Switching needs a moment alone with the file; the busy handler
            # does not cover it, so wait here.
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
    if str(mode).lower() != "wal":
        raise SchemaError(
            f"the file cannot be put in WAL mode (journal mode stays {mode!r}); "
            f"use a file on a local file system"
        )


def _check_owner(connection: sqlite3.Connection) -> tuple[int, int]:
    """The file's application ID and schema version; refuses a file of another application."""
    (application_id,) = connection.execute("PRAGMA application_id").fetchone()
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if application_id != APPLICATION_ID:
        (objects,) = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if application_id != 0 or version != 0 or objects != 0:
            raise SchemaError(
                "the file is an SQLite database of another application; give jamsession a file of its own"
            )
    return application_id, version


def _migrate(connection: sqlite3.Connection) -> None:
    # Checked again: another process may have written the file since.
    application_id, version = _check_owner(connection)
    if application_id != APPLICATION_ID:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the file has schema version {version}, written by a newer jamsession-sqlite "
            f"(this one knows up to {SCHEMA_VERSION}): upgrade jamsession-sqlite"
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[step]:
            connection.execute(statement)
    # Written even when unchanged: a file this process cannot write opens
    # read-only without complaint, and would otherwise fail only at the
    # first session written. PRAGMA takes no parameters; the value is ours.
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock we need."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
