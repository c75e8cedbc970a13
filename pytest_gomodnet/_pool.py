"""Keep-alive connections to upstreams, borrowed per exchange and given back if reusable.

A connection goes back to the pool only at a request boundary the proxy is sure of:
the request had no body (an upstream may leave a body unread, and then answers it as
the next request: another client's answer) and its response was read to the end.
Anything else closes it.
"""

from __future__ import annotations

import asyncio
import collections

from ._limits import MAX_HEAD, UPSTREAM_TIMEOUT
from ._routes import Upstream

__all__ = ["Pool", "Pooled"]

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Pool:
    """Idle connections per (host, port)."""

    def __init__(self) -> None:
        self.idle: collections.defaultdict[tuple[str, int], list[Stream]]
        self.idle = collections.defaultdict(list)

    def drop_all(self) -> None:
        """Abort every idle connection."""
        for idle in self.idle.values():
            for _, writer in idle:
                writer.transport.abort()
        self.idle.clear()


class Pooled:
    """Borrow a keep-alive connection to an upstream; give it back only if reusable."""

    def __init__(self, pool: Pool, upstream: Upstream) -> None:
        self._pool, self._key = pool, (upstream.host, upstream.port)
        self._conn: Stream | None = None
        self._reusable = False

    def reusable(self) -> None:
        """The exchange ended at a request boundary: the connection may go back."""
        self._reusable = True

    async def __aenter__(self) -> Stream:
        idle = self._pool.idle[self._key]
        while idle:
            reader, writer = idle.pop()
            if not writer.transport.is_closing() and not reader.at_eof():
                self._conn = (reader, writer)
                return self._conn
            writer.transport.abort()
        self._conn = await asyncio.wait_for(
            asyncio.open_connection(*self._key, limit=MAX_HEAD), UPSTREAM_TIMEOUT
        )
        return self._conn

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        assert self._conn is not None
        if self._reusable and exc_type is None and not self._conn[1].transport.is_closing():
            self._pool.idle[self._key].append(self._conn)
        else:
            self._conn[1].transport.abort()
