"""The SQL statements of the SQLite backend: one per storage primitive.

Every statement is built from literals only: values are always bound, never formatted in.
A record is live while it has no expiry or its expiry is after "now": no
statement returns an expired row or brings it back to life. A statement that
reads or writes one live session also skips a row whose ``data_format`` is
not one its store reads (the placeholder after "now": the readable formats,
each between newlines), so a store never returns or overwrites data it
cannot decode.
"""

from __future__ import annotations

from jamsession_sqlite._engine import Returns, Statement

#: Where a statement reads or writes one session: a live row in a format this store
#: reads. Its placeholders are "now", then the readable formats, each between newlines.
_LIVE_AND_READABLE = (
    "(expires_at IS NULL OR expires_at > ?)"
    " AND (data_format IS NULL OR instr(?, char(10) || data_format || char(10)) > 0)"
)

INSERT = Statement(
    "INSERT INTO sessions (id, session_key, data, created_at, updated_at, expires_at, data_format)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    writes=True,
    returns=Returns.NOTHING,
)


FETCH = Statement(
    "SELECT data FROM sessions WHERE id = ? AND " + _LIVE_AND_READABLE,
    writes=False,
    returns=Returns.ROWS,
)
FETCH_EXTENDING = Statement(
    "UPDATE sessions SET expires_at = ? WHERE id = ? AND " + _LIVE_AND_READABLE + " RETURNING data",
    writes=True,
    returns=Returns.ROWS,
)
#: Where a write sets a session's data. A write that keeps the expiry leaves
#: ``expires_at`` out of its SET clause: naming it there, even to write the same
#: value back, rewrites the row's entry in the expiry index, and the commit then
#: appends about three times the pages to the WAL. Its ``_EXTENDING`` twin sets
#: the new expiry (placeholder after "now").
_SET_DATA = "UPDATE sessions SET data = ?, data_format = ?, updated_at = ?"
REPLACE = Statement(
    _SET_DATA + " WHERE id = ? AND " + _LIVE_AND_READABLE,
    writes=True,
    returns=Returns.ROWCOUNT,
)
REPLACE_EXTENDING = Statement(
    _SET_DATA + ", expires_at = ? WHERE id = ? AND " + _LIVE_AND_READABLE,
    writes=True,
    returns=Returns.ROWCOUNT,
)
# One statement: of concurrent moves, from this process or another, the first
# to run re-keys the row and the others find no live row under the old ID.
MOVE = Statement(
    "UPDATE sessions SET id = ?, updated_at = ? WHERE id = ? AND " + _LIVE_AND_READABLE,
    writes=True,
    returns=Returns.ROWCOUNT,
)


# The whole record, for load; an extending read sets the expiry and returns it.
FETCH_FULL = Statement(
    "SELECT session_key, data, created_at, expires_at, data_format FROM sessions WHERE id = ? AND "
    + _LIVE_AND_READABLE,
    writes=False,
    returns=Returns.ROWS,
)
FETCH_FULL_EXTENDING = Statement(
    "UPDATE sessions SET expires_at = ? WHERE id = ? AND "
    + _LIVE_AND_READABLE
    + " RETURNING session_key, data, created_at, expires_at, data_format",
    writes=True,
    returns=Returns.ROWS,
)
# Compare-and-swap: the row is written over only if its data is exactly the
# expected bytes (the last placeholder); otherwise nothing is written at all.
SWAP = Statement(
    _SET_DATA + " WHERE id = ? AND " + _LIVE_AND_READABLE + " AND data = ?",
    writes=True,
    returns=Returns.ROWCOUNT,
)
SWAP_EXTENDING = Statement(
    _SET_DATA + ", expires_at = ? WHERE id = ? AND " + _LIVE_AND_READABLE + " AND data = ?",
    writes=True,
    returns=Returns.ROWCOUNT,
)
# After a swap that changed nothing: whether the row is live (its data differs)
# or gone.
IS_LIVE = Statement(
    "SELECT 1 FROM sessions WHERE id = ? AND " + _LIVE_AND_READABLE,
    writes=False,
    returns=Returns.ROWS,
)
# A move that also gives the row another session key and/or data (a login):
# still one statement, so the old ID dies as the new one comes to life.
MOVE_REPLACING = Statement(
    "UPDATE sessions SET id = ?, updated_at = ?, session_key = coalesce(?, session_key),"
    " data = coalesce(?, data), data_format = coalesce(?, data_format) WHERE id = ? AND "
    + _LIVE_AND_READABLE,
    writes=True,
    returns=Returns.ROWCOUNT,
)
REMOVE = Statement("DELETE FROM sessions WHERE id = ?", writes=True, returns=Returns.NOTHING)
# Whole-key statements are never inline: one key may hold any number of sessions.
REMOVE_KEY = Statement(
    "DELETE FROM sessions WHERE session_key = ?", writes=True, returns=Returns.NOTHING, inline=False
)
# Oldest first, sorted on aiosqlite's thread: list_sessions then finds them in order.
LIST_KEY = Statement(
    "SELECT id, data, created_at, expires_at, data_format FROM sessions"
    " WHERE session_key = ? AND " + _LIVE_AND_READABLE + " ORDER BY created_at",
    writes=False,
    returns=Returns.ROWS,
    inline=False,
)
# Oldest expiries first, from the expiry index: each batch touches only the
# rows it removes, so no purge holds the write lock for long.
PURGE = Statement(
    "DELETE FROM sessions WHERE rowid IN"
    " (SELECT rowid FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
    writes=True,
    returns=Returns.ROWCOUNT,
    inline=False,  # a batch of up to purge_batch_size rows: the event loop would wait for it
)
# Keyset pagination over the rowid, which a record keeps when reworked: each
# batch is one short read of the table's own order, holding no lock after it.
SCAN = Statement(
    "SELECT rowid, id, session_key, data, created_at, expires_at, data_format FROM sessions"
    " WHERE rowid > ? ORDER BY rowid LIMIT ?",
    writes=False,
    returns=Returns.ROWS,
    inline=False,  # a batch of rows: the event loop would wait for it
)
# The table's row count (for a progress bar's total); SQLite counts over the
# smallest index, on aiosqlite's thread.
COUNT = Statement("SELECT count(*) FROM sessions", writes=False, returns=Returns.ROWS, inline=False)
