"""Operations over a whole store: migrate, re-encrypt, count, purge (``jamsession`` commands).

Each walks the store in bounded batches with constant memory, never holds
another process's writes for long, and leaves the store consistent if
interrupted at any point::

    from jamsession.operations import migrate, rekey, store_stats

    async with jamsession.from_config("old.toml") as old, jamsession.from_config("new.toml") as new:
        report = await migrate(old, new)

.. versionadded:: 0.3
"""

from jamsession._migrate import MigrationReport, Verification, migrate
from jamsession._purge import purge
from jamsession._rekey import RekeyReport, rekey
from jamsession._scanning import NoProgress, Progress
from jamsession._stats import BUCKETS, StoreStats, store_stats

__all__ = [
    "BUCKETS",
    "MigrationReport",
    "NoProgress",
    "Progress",
    "RekeyReport",
    "StoreStats",
    "Verification",
    "migrate",
    "purge",
    "rekey",
    "store_stats",
]
