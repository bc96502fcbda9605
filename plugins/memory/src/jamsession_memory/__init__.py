"""The in-process memory backend for jamsession."""

from jamsession_memory._store import DEFAULT_MAX_SESSIONS, MemorySessions

__all__ = ["DEFAULT_MAX_SESSIONS", "MemorySessions"]
