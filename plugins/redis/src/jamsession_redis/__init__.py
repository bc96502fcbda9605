"""The Redis plugin for jamsession (``backend="redis"``): Redis or Valkey, one server, Sentinel or Cluster."""

from jamsession_redis._client import DEFAULT_URL
from jamsession_redis._store import DEFAULT_TIMEOUT, RedisSessions

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_URL", "RedisSessions"]
