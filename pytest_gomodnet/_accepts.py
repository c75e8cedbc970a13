"""Accepted connections, known from the moment asyncio accepts them until they end.

A proxy's close() must end every connection, including one accepted in its last
moment whose handler task has not started yet. asyncio makes such a connection's
transport in a task of its own, a turn or two after the accept, and a transport
made after its server closed is never attached to it: its socket is left to the
garbage collector. :class:`Accepts` therefore stops accepting first, lets the
accepts under way become connections, then closes the servers and aborts what is
left. An accept that finds no file descriptor is :mod:`._starved`'s to report.
While :attr:`Accepts.paused` (a reset under way), a connection accepted is ended
before its handler starts: one test's late client never meets the next test's hosts.
A connection whose handler is done but whose close is still under way (a TLS
close_notify waiting for the client's) stays tracked until it ends, aborted when its
grace passes (``ClientReader.linger``), with no task left waiting for it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from ._deadlines import Grace, abort_after
from ._endings import set_nodelay
from ._limits import MAX_HEAD
from ._readers import ClientReader
from ._starved import Starved

__all__ = ["Accepts", "StreamHandler"]

#: What serves one accepted connection (asyncio.start_server's client_connected_cb).
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: Loop turns from an accept to its protocol, and the most to wait for the protocol's
#: connection_made.
PROTOCOL_TURNS = 2
MAX_ACCEPT_TURNS = 50


class Accepts:
    """The servers of one loop, and every connection they accepted that is still open."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self._loop = loop
        self._starved = Starved(name)
        loop.set_exception_handler(self._starved.handle)
        self._open: set[_TrackedProtocol] = set()
        self._servers: list[asyncio.Server] = []
        self.paused = False

    async def serve(self, listener: socket.socket, handler: StreamHandler) -> asyncio.Server:
        """Serve ``listener`` with ``handler``, as asyncio.start_server would."""

        def protocol() -> _TrackedProtocol:
            self._starved.accepted()
            reader = ClientReader(limit=MAX_HEAD)
            return _TrackedProtocol(reader, handler, self._open, self)

        set_nodelay(listener)
        server = await self._loop.create_server(protocol, sock=listener)
        self._servers.append(server)
        return server

    async def close_servers(self) -> None:
        """Stop accepting, let the accepts under way become connections, then close."""
        for server in self._servers:
            for listener in server.sockets:
                self._loop.remove_reader(listener.fileno())
        await self.settle()
        for server in self._servers:
            server.close()

    async def settle(self, *, pause: bool = False) -> None:
        """Let each connection accepted so far reach connection_made, so it can be ended
        (the accept may still come in the turn that stopped accepting); with ``pause``,
        end every connection accepted from now on until :attr:`paused` is False again."""
        self.paused = self.paused or pause
        for turn in range(MAX_ACCEPT_TURNS):
            if turn >= PROTOCOL_TURNS and all(protocol.made for protocol in self._open):
                return
            await asyncio.sleep(0)

    async def abort_all(self) -> None:
        """Abort every open connection, handler started or not; their sockets close on
        the next turn, which this waits for."""
        for protocol in list(self._open):
            protocol.abort()
        await asyncio.sleep(0)


class _TrackedProtocol(asyncio.StreamReaderProtocol):
    """A stream protocol that sits in ``open`` from its accept to its connection's end."""

    def __init__(
        self,
        reader: ClientReader,
        handler: StreamHandler,
        open_connections: set[_TrackedProtocol],
        accepts: Accepts,
    ) -> None:
        super().__init__(reader, handler)
        self._open_connections = open_connections
        self._accepts = accepts
        self._made: asyncio.BaseTransport | None = None
        self._grace: Grace | None = None
        reader.linger = self.linger
        open_connections.add(self)

    @property
    def made(self) -> bool:
        return self._made is not None

    def abort(self) -> None:
        if isinstance(self._made, asyncio.Transport):
            self._made.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._made = transport
        if self._accepts.paused and isinstance(transport, asyncio.Transport):
            transport.abort()  # accepted during a reset: its handler never starts
            return
        super().connection_made(transport)

    def linger(self, seconds: float) -> None:
        """The handler is done and the close under way: abort it if it takes ``seconds``."""
        still_open = self in self._open_connections  # connection_lost takes it out
        if still_open and isinstance(self._made, asyncio.Transport):
            self._grace = abort_after(self._made, seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._grace is not None:
            self._grace.end()
        self._open_connections.discard(self)
        super().connection_lost(exc)
