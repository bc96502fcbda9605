"""A Redis backend for jamsession (``backend="redis"``)."""

from jamsession_redis._store import RedisSessions

__all__ = ["RedisSessions"]
