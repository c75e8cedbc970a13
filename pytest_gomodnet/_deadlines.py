"""Deadlines for the proxies' waits, all on one timer per loop.

``asyncio.timeout`` schedules and cancels a timer for every wait: at a proxy, that is
every request head and every block of a body, and it cost more than reading the head
itself. Here the waits of one duration are queued in the order they expire, so one
timer, set for the earliest, serves them all; a wait that ends just marks itself done.
An expired wait cancels its task and, as ``asyncio.timeout`` does, raises TimeoutError
in its place (an outside cancel still comes through as a cancel).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from types import TracebackType

__all__ = ["Deadlines", "within"]

_WAITING, _EXPIRED, _DONE = range(3)


class _Wait:
    """One wait of one task, in the ``with`` block it guards."""

    __slots__ = ("_cancelling", "_state", "_task", "when")

    def __init__(self, task: asyncio.Task[object], when: float) -> None:
        self._task: asyncio.Task[object] | None = task
        self._cancelling = task.cancelling()
        self._state = _WAITING
        self.when = when

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def expire(self) -> None:
        if self._state == _WAITING and self._task is not None:
            self._state = _EXPIRED
            self._task.cancel()

    def __enter__(self) -> _Wait:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        expired = self._state == _EXPIRED
        self._state = _DONE
        task, self._task = self._task, None  # a done wait may sit in its queue a while
        # As asyncio.timeout: the cancel is taken back whether or not it arrived.
        uncancelled = expired and task is not None and task.uncancel() <= self._cancelling
        if uncancelled and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


class Deadlines:
    """The deadlines of one loop's waits: a queue per duration, one timer for all."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, deque[_Wait]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def within(self, seconds: float) -> _Wait:
        """A wait for the current task that ends in ``seconds``: ``with deadlines.within(s):``."""
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("a deadline needs a task to cancel")
        wait = _Wait(task, self._loop.time() + seconds)
        queue = self._queues.get(seconds)
        if queue is None:
            queue = self._queues[seconds] = deque()
        while queue and queue[0].done:
            queue.popleft()
        queue.append(wait)
        if self._timer is None or wait.when < self._timer.when():
            self._schedule(wait.when)
        return wait

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """End every wait whose time has come; set the timer for the next one."""
        self._timer = None
        now = self._loop.time()
        earliest: float | None = None
        for seconds, queue in list(self._queues.items()):
            while queue and (queue[0].done or queue[0].when <= now):
                queue.popleft().expire()
            if not queue:
                del self._queues[seconds]
            elif earliest is None or queue[0].when < earliest:
                earliest = queue[0].when
        if earliest is not None:
            self._schedule(earliest)


_OF_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def within(seconds: float) -> _Wait:
    """A deadline of ``seconds`` for the current task's wait, on its loop's one timer:
    ``with within(seconds): await ...`` raises TimeoutError when it passes."""
    loop = asyncio.get_running_loop()
    deadlines = _OF_LOOP.get(loop)
    if deadlines is None:
        deadlines = _OF_LOOP[loop] = Deadlines(loop)
    return deadlines.within(seconds)
