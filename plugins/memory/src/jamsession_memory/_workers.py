"""Telling when this process is one of several web workers, where a memory store is the wrong choice.

Only settings that name a worker count are read: ``WEB_CONCURRENCY`` (read
by gunicorn and uvicorn, set by hosting platforms) and the ``--workers``
argument of a web server's command line (a forked or spawned worker keeps its
parent's). A count given in a server's configuration file is not seen; the
docs, the store's repr and ``jamsession check`` say it in every case.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jamsession import BaseLogger

#: Web servers whose ``-w``/``--workers`` argument is a count of worker processes.
SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "granian"})

_warned = False


def several_workers(argv: Sequence[str] | None = None) -> str | None:
    """The setting that makes this process one of several workers (``"WEB_CONCURRENCY=4"``), or ``None``."""
    concurrency = os.environ.get("WEB_CONCURRENCY", "").strip()
    if concurrency.isdigit() and int(concurrency) > 1:
        return f"WEB_CONCURRENCY={concurrency}"
    argv = sys.argv if argv is None else argv
    if not argv or _server(argv[0]) is None:
        return None
    workers = _workers(argv[1:])
    return f"{_server(argv[0])} --workers {workers}" if workers > 1 else None


def _server(program: str) -> str | None:
    path = Path(program)
    # `python -m uvicorn` runs uvicorn/__main__.py.
    name = path.parent.name if path.stem == "__main__" else path.stem
    return name if name in SERVERS else None


def _workers(arguments: Sequence[str]) -> int:
    for index, argument in enumerate(arguments):
        if argument in ("-w", "--workers") and index + 1 < len(arguments):
            value = arguments[index + 1]
        elif argument.startswith("--workers="):
            value = argument.removeprefix("--workers=")
        elif argument.startswith("-w") and argument[2:].isdigit():
            value = argument[2:]
        else:
            continue
        return int(value) if value.isdigit() else 0
    return 0


def warn_once_if_several_workers(logger: BaseLogger) -> None:
    """Log, once per process, that a memory store in one of several workers loses users' sessions."""
    global _warned  # noqa: PLW0603 - once per process, whatever the number of stores
    if _warned:
        return
    reason = several_workers()
    if reason is None:
        return
    _warned = True
    logger.warning(
        "the memory backend keeps sessions in this process only, and this process looks like one of "
        "several web workers (%s): each worker has its own sessions, so users are logged out at "
        "random; use a shared backend (sqlite, mongodb, redis)",
        reason,
    )
