"""What a server does when accept() finds no file descriptor (EMFILE, ENFILE).

asyncio stops accepting on that listener and tries again a second later, but it
reports every failed accept to the loop's exception handler, a hundred a turn
(thousands of log records a second); socketserver, under the werkzeug servers,
tries again at once, forever, without a word. Here an episode, from the first failed
accept to the first one that succeeds after a retry, is logged once, with what to
do about it. (A connection accepted in the same turn as a failure, just before it,
gets its protocol a moment after: that one ends nothing.)
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from typing import Any

__all__ = ["STARVED_ERRNOS", "Starved"]

_log = logging.getLogger("pytest_gomodnet")

#: asyncio's message for an accept() that failed for want of a resource.
_OUT_OF_RESOURCES = "socket.accept() out of system resource"
#: Errors of an accept() that found no descriptor (or no memory for one).
STARVED_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Starved:
    """Logs each out-of-descriptors episode of one server once. ``retry`` is the
    server's pause, in seconds, between a failed accept and the next try."""

    def __init__(self, name: str, retry: float = 1.0) -> None:
        self._name = name
        self.retry = retry
        self._in_episode = False
        self._failed_at = 0.0

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An asyncio loop's exception handler: its failed accepts are :meth:`failed`."""
        if context.get("message") != _OUT_OF_RESOURCES:
            loop.default_exception_handler(context)
            return
        self.failed(context.get("exception"))

    def failed(self, error: object) -> None:
        """An accept failed for want of a descriptor: logged, once an episode."""
        self._failed_at = time.monotonic()
        if self._in_episode:
            return
        self._in_episode = True
        _log.warning(
            "%s cannot accept connections: %s; it retries every %g s until a "
            "descriptor is free (close what leaks, or raise the limit: ulimit -n)",
            self._name,
            error,
            self.retry,
        )

    def accepted(self) -> None:
        """A connection was accepted: an episode under way is over, if this came from a
        retry (not from the same try as the failure)."""
        if self._in_episode and time.monotonic() - self._failed_at >= self.retry / 2:
            self._in_episode = False
