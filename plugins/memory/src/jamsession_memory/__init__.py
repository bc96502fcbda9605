"""The in-process memory backend for jamsession."""

from jamsession_memory._store import MemorySessions

__all__ = ["MemorySessions"]
