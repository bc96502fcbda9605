"""SQLite backend."""

from jamsession_sqlite._store import SqliteSessions

__all__ = ["SqliteSessions"]
