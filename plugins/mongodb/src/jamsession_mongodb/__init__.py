"""The MongoDB backend for jamsession, on PyMongo's async API (Motor clients accepted).

The package imports PyMongo only when :class:`MongoSessions` is first used, so
loading the plugin's command-line hook costs a ``jamsession`` command nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jamsession_mongodb._store import MongoSessions

__all__ = ["MongoSessions"]


def __getattr__(name: str) -> Any:
    if name == "MongoSessions":
        from jamsession_mongodb._store import MongoSessions

        return MongoSessions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
