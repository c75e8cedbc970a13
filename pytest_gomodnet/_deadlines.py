"""Deadlines for the proxies' waits, all on one timer per loop.

``asyncio.timeout`` schedules and cancels a timer for every wait: at a proxy, that is
every request head and every block of a body, and it cost more than reading the head
itself. Here the waits of one duration are queued in the order they expire, so one
timer, set for the earliest, serves them all; a wait that ends just marks itself done.
An expired wait cancels its task and, as ``asyncio.timeout`` does, raises TimeoutError
in its place (an outside cancel still comes through as a cancel).

A closing connection's last grace (:func:`abort_after`) rides the same timer: its
transport is aborted when the grace passes, and no task has to stay awake to see to it.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from types import TracebackType
from typing import Protocol

__all__ = ["Deadlines", "Grace", "abort_after", "within"]

_WAITING, _EXPIRED, _DONE = range(3)


class _Wait:
    """One wait of one task, in the ``with`` block it guards."""

    __slots__ = ("cancelling", "state", "task", "when")

    def __init__(self, task: asyncio.Task[object], when: float) -> None:
        self.task: asyncio.Task[object] | None = task
        self.cancelling = task.cancelling()
        self.state = _WAITING
        self.when = when

    def expire(self) -> None:
        if self.state == _WAITING and self.task is not None:
            self.state = _EXPIRED
            self.task.cancel()

    def __enter__(self) -> _Wait:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        expired = self.state == _EXPIRED
        self.state = _DONE
        task, self.task = self.task, None  # a done wait may sit in its queue a while
        # As asyncio.timeout: the cancel is taken back whether or not it arrived.
        uncancelled = expired and task is not None and task.uncancel() <= self.cancelling
        if uncancelled and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


class Grace:
    """A closing transport's last seconds: aborted when they pass, unless ended first."""

    __slots__ = ("state", "transport", "when")

    def __init__(self, transport: asyncio.Transport, when: float) -> None:
        self.transport: asyncio.Transport | None = transport
        self.state = _WAITING
        self.when = when

    def expire(self) -> None:
        if self.state == _WAITING and self.transport is not None:
            self.state = _EXPIRED
            self.transport.abort()

    def end(self) -> None:
        """The connection is gone: nothing to abort (and nothing kept in the queue)."""
        self.state, self.transport = _DONE, None


class _Entry(Protocol):
    state: int
    when: float

    def expire(self) -> None: ...


class Deadlines:
    """The deadlines of one loop's waits: a queue per duration, one timer for all.

    Kept per loop in a weak mapping, it holds nothing that holds the loop (its timer
    only weakly, the loop's own heap holding it), so a closed loop goes away."""

    def __init__(self) -> None:
        self._queues: dict[float, deque[_Entry]] = {}
        self._timer: weakref.ref[asyncio.TimerHandle] | None = None
        self._timer_at = math.inf

    def add(self, wait: _Entry, seconds: float) -> None:
        """Queue ``wait`` (of ``seconds``) behind the waits of its duration."""
        queue = self._queues.get(seconds)
        if queue is None:
            queue = self._queues[seconds] = deque()
        while queue and queue[0].state == _DONE:
            queue.popleft()
        queue.append(wait)
        if wait.when < self._timer_at:
            self._schedule(wait.when)

    def _schedule(self, when: float) -> None:
        """Set the timer for ``when`` (on the running loop), in place of any set before."""
        timer = self._timer() if self._timer is not None else None
        if timer is not None:
            timer.cancel()
        self._timer = weakref.ref(asyncio.get_running_loop().call_at(when, self._expire))
        self._timer_at = when

    def _expire(self) -> None:
        """End every wait whose time has come; set the timer for the next one."""
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        for seconds, queue in list(self._queues.items()):
            while queue and (queue[0].state == _DONE or queue[0].when <= now):
                queue.popleft().expire()
            if not queue:
                del self._queues[seconds]
            elif queue[0].when < self._timer_at:
                self._timer_at = queue[0].when
        if self._timer_at < math.inf:
            self._schedule(self._timer_at)


_OF_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def within(seconds: float) -> _Wait:
    """A deadline of ``seconds`` for the current task's wait, on its loop's one timer:
    ``with within(seconds): await ...`` raises TimeoutError when it passes."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    if task is None:
        raise RuntimeError("a deadline needs a task to cancel")
    deadlines = _OF_LOOP.get(loop)  # not _deadlines_of(): this runs for every read
    if deadlines is None:
        deadlines = _OF_LOOP[loop] = Deadlines()
    wait = _Wait(task, loop.time() + seconds)
    deadlines.add(wait, seconds)
    return wait


def abort_after(transport: asyncio.Transport, seconds: float) -> Grace:
    """Abort ``transport`` in ``seconds`` (on the running loop's one timer) unless the
    returned grace is ended first."""
    loop = asyncio.get_running_loop()
    grace = Grace(transport, loop.time() + seconds)
    _deadlines_of(loop).add(grace, seconds)
    return grace


def _deadlines_of(loop: asyncio.AbstractEventLoop) -> Deadlines:
    deadlines = _OF_LOOP.get(loop)
    if deadlines is None:
        deadlines = _OF_LOOP[loop] = Deadlines()
    return deadlines
