"""Deadlines for a store's calls, kept by one timer however many calls run.

``asyncio.timeout`` arms a timer of the event loop for every call and cancels
it when the call is done. For a call that is one round trip to Redis, arming
and cancelling that timer costs about as much as all of the store's own
work around the round trip. :class:`Deadlines` keeps one timer per store
instead, set for the earliest deadline of the calls running: a call only
notes its task and deadline as it starts and forgets them as it ends.

When a deadline passes, the call's task is cancelled, as ``asyncio.timeout``
does, and :meth:`Deadlines.leave` tells the call that the cancellation was
its deadline's (undoing it), so that it raises a timeout instead.
"""

from __future__ import annotations

import asyncio


class Deadlines:
    """The deadlines of the calls running; see the module."""

    __slots__ = ("_expired", "_loop", "_running", "_timer")

    def __init__(self) -> None:
        #: Running calls: their task, deadline (loop time) and the task's cancellations at the start.
        self._running: dict[asyncio.Task[object], tuple[float, int]] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def enter(self, seconds: float) -> asyncio.Task[object]:
        """Start the deadline of a call, ``seconds`` from now; its task, to give :meth:`leave`."""
        loop = asyncio.get_running_loop()
        task: asyncio.Task[object] | None = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a store's calls run in a task")
        deadline = loop.time() + seconds
        self._running[task] = (deadline, task.cancelling())
        if self._timer is None or self._loop is not loop:
            # No timer yet, or one on another event loop (a store used from a new loop).
            self._loop = loop
            self._timer = loop.call_at(deadline, self._expire)
        return task

    def leave(self, task: asyncio.Task[object]) -> bool:
        """End a call's deadline; whether it cancelled the call (then undone, to raise a timeout)."""
        deadline = self._running.pop(task, None)
        if task not in self._expired:
            return False
        self._expired.discard(task)
        # As asyncio.timeout: the cancellation was the deadline's unless someone else's came too.
        return deadline is not None and task.uncancel() <= deadline[1]

    def _expire(self) -> None:
        """Cancel the calls past their deadline; set the timer for the next deadline, if any."""
        self._timer = None
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        now = loop.time()
        earliest: float | None = None
        for task, (deadline, _) in list(self._running.items()):
            if deadline <= now:
                if task not in self._expired and not task.done():
                    self._expired.add(task)
                    task.cancel()
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self._timer = loop.call_at(earliest, self._expire)
