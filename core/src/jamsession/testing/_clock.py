"""A clock that tests move by hand."""

from __future__ import annotations

import time


class FakeClock:
    """Callable like :func:`time.time`; starts at the real time, then moves only by :meth:`advance`.

    .. versionadded:: 0.1
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
