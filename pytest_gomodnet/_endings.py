"""How a proxy's connection ends: FIN, RST, a TLS session dropped without close_notify.

Every way the proxy ends a connection is here, so a fault that names an ending
("fin", "rst", "tls-no-close-notify", "handshake-abort") means one thing
everywhere. :func:`start_tls` remembers the TCP transport under the TLS one, so
:func:`flushed` can wait for both buffers through public API alone.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import time
import weakref
from typing import NoReturn

from ._limits import UPSTREAM_TIMEOUT
from ._proxylog import Connection
from .faults import FaultPlan

__all__ = [
    "Quit",
    "abort_handshake",
    "end",
    "negotiated_h2",
    "refuse",
    "reset",
    "set_nodelay",
    "start_tls",
    "write_eof",
]

#: The TCP transport under each TLS stream (the TLS transport has no public way to it).
_UNDER_TLS: weakref.WeakKeyDictionary[asyncio.StreamWriter, asyncio.BaseTransport]
_UNDER_TLS = weakref.WeakKeyDictionary()


class Quit(Exception):
    """The connection is over (a fault closed it, or the client went away)."""


def set_nodelay(listener: socket.socket) -> None:
    """Send each write of a connection ``listener`` accepts at once.

    asyncio sets TCP_NODELAY only when sock.proto is IPPROTO_TCP, and sockets
    accepted from socket.create_server() have proto 0: without this, Nagle holds a
    response body back until the client's delayed ACK, 40 ms per exchange. Set on the
    listener, once: the sockets it accepts inherit it (Linux and the BSDs do).
    """
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


#: What asyncio logs when a client closes in the very turn its TLS handshake completes
#: (go does, with the spare connections it dials): the stream learns it is over TLS one
#: step after the handshake (StreamWriter.start_tls), so the EOF meets it as plain TCP.
#: The connection ends as it should; the warning would only puzzle a test's log.
HANDSHAKE_EOF_WARNING = "returning true from eof_received() has no effect when using ssl"


class _HandshakeEofRace(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != HANDSHAKE_EOF_WARNING


logging.getLogger("asyncio").addFilter(_HandshakeEofRace())


async def start_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext, timeout: float) -> None:
    """Upgrade the connection to TLS (server side), remembering the TCP transport under it."""
    tcp = writer.transport
    await writer.start_tls(context, ssl_handshake_timeout=timeout)
    _UNDER_TLS[writer] = tcp


def negotiated_h2(writer: asyncio.StreamWriter) -> bool:
    """Whether the client chose HTTP/2 by ALPN in the TLS handshake just made."""
    tls = writer.get_extra_info("ssl_object")
    return tls is not None and tls.selected_alpn_protocol() == "h2"


def write_eof(writer: asyncio.StreamWriter) -> None:
    """Half-close; a peer that already went away leaves nothing to tell."""
    if writer.can_write_eof():
        try:
            writer.write_eof()
        except OSError:  # ENOTCONN: the other side closed first; nothing left to tell it
            writer.transport.abort()


def reset(writer: asyncio.StreamWriter) -> None:
    """Abort with SO_LINGER 0, so the kernel sends RST instead of FIN."""
    sock = writer.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def refuse(writer: asyncio.StreamWriter, conn: Connection, plan: FaultPlan) -> NoReturn:
    """``Refuse()``: a RST instead of any answer."""
    conn.fault, conn.ended = repr(plan), "rst"
    reset(writer)
    raise Quit


def abort_handshake(writer: asyncio.StreamWriter, conn: Connection, plan: FaultPlan) -> NoReturn:
    """``HandshakeAbort()``: a FIN where the TLS handshake should be."""
    conn.fault, conn.ended = repr(plan), "handshake-abort"
    writer.close()
    raise Quit


async def _flushed(writer: asyncio.StreamWriter) -> None:
    """Wait (bounded) until every byte written has left the transports' buffers."""
    deadline = time.monotonic() + UPSTREAM_TIMEOUT
    transports = [writer.transport, _UNDER_TLS.get(writer)]
    while time.monotonic() < deadline:
        pending = sum(
            t.get_write_buffer_size() for t in transports if isinstance(t, asyncio.WriteTransport)
        )
        if pending == 0:
            return
        await asyncio.sleep(0.001)


async def end(writer: asyncio.StreamWriter, how: str) -> None:
    """End the connection the way a fault's ``Close(how)`` says."""
    await writer.drain()
    if how in ("fin", "deadline"):
        writer.close()
        return
    await _flushed(writer)
    if how == "rst":
        reset(writer)
    else:  # tls-no-close-notify: drop TCP under TLS without saying goodbye
        sock = writer.transport.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        writer.transport.abort()
