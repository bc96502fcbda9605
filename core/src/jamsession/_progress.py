"""The progress of a long command: a bar on a terminal, a quiet line now and then elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between two redraws of the bar: often enough to look live, seldom enough to cost nothing.
REDRAW_SECONDS = 0.1
#: Seconds between two lines when the output is not a terminal (a log, a cron mail).
LINE_SECONDS = 10.0
_WIDTH = 24


class ProgressBar:
    """Implements :class:`~jamsession.operations.Progress` on ``stream``.

    On a terminal, one line redrawn in place: a bar, the count, the rate and
    the time left (when the total is known). Elsewhere, a line every
    :data:`LINE_SECONDS` and one at the end of each pass.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.clock = clock
        self.label = ""
        self.total: int | None = None
        self.count = 0
        self._started = self._shown = 0.0

    def start(self, label: str, total: int | None) -> None:
        self.label, self.total, self.count = label, total, 0
        self._started = self._shown = self.clock()
        if self.interactive:
            self._draw(self._started)

    def advance(self, count: int) -> None:
        self.count += count
        now = self.clock()
        if now - self._shown >= (REDRAW_SECONDS if self.interactive else LINE_SECONDS):
            self._shown = now
            self._draw(now)

    def finish(self) -> None:
        now = self.clock()
        if self.interactive:
            self._draw(now)
            self.stream.write("\n")
        else:
            elapsed = now - self._started
            self.stream.write(
                f"{self.label}: {self.count:,} done in {elapsed:.1f} s ({self._rate(now):,.0f}/s)\n"
            )
        self.stream.flush()

    def _rate(self, now: float) -> float:
        elapsed = now - self._started
        return self.count / elapsed if elapsed > 0 else 0.0

    def _draw(self, now: float) -> None:
        rate = self._rate(now)
        total = self.total
        if total:
            done = min(self.count / total, 1.0)
            filled = round(done * _WIDTH)
            left = max(total - self.count, 0) / rate if rate else None
            eta = "--:--" if left is None else _clock_time(left)
            text = (
                f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] "
                f"{self.count:,}/~{total:,} {rate:,.0f}/s {eta} left"
            )
        else:
            text = f"{self.label} {self.count:,} {rate:,.0f}/s"
        if self.interactive:
            # \r and erase-line: the bar is redrawn where it stands.
            self.stream.write(f"\r\x1b[2K{text}")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()


def _clock_time(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
