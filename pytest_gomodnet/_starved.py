"""What a proxy does when accept() finds no file descriptor (EMFILE, ENFILE).

asyncio stops accepting on that listener and tries again a second later, but it
reports every failed accept to the loop's exception handler, a hundred a turn
(thousands of log records a second). Here an episode, from the first failed
accept to the first one that succeeds after a retry, is logged once, with what to
do about it. (A connection accepted in the same turn as a failure, just before it,
gets its protocol a moment after: that one ends nothing.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

__all__ = ["Starved"]

_log = logging.getLogger("pytest_gomodnet")

#: asyncio's message for an accept() that failed for want of a resource.
_OUT_OF_RESOURCES = "socket.accept() out of system resource"
#: Seconds after a failed accept before a connection accepted counts as a retry's
#: (asyncio retries a second after a failure).
_RETRIED = 0.5


class Starved:
    """A proxy's loop exception handler that logs each out-of-descriptors episode once."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.episodes = 0
        self._in_episode = False
        self._failed_at = 0.0

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != _OUT_OF_RESOURCES:
            loop.default_exception_handler(context)
            return
        self._failed_at = time.monotonic()
        if self._in_episode:
            return
        self._in_episode = True
        self.episodes += 1
        _log.warning(
            "%s cannot accept connections: %s; it retries every second until a "
            "descriptor is free (close what leaks, or raise the limit: ulimit -n)",
            self._name,
            context.get("exception"),
        )

    def accepted(self) -> None:
        """A connection was accepted: an episode under way is over, if this came from a
        retry (not from the turn that failed)."""
        if time.monotonic() - self._failed_at >= _RETRIED:
            self._in_episode = False
