"""The SQLite backend for jamsession: durable sessions in one file, shared by processes."""

from jamsession_sqlite._store import SqliteSessions

__all__ = ["SqliteSessions"]
