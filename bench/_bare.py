"""The Python limit: an asyncio server that answers every connection with fixed bytes.

With ``tunnel``, it does a forward proxy's part first, as the Router does for a host it
terminates TLS for: reads the client's ``CONNECT``, answers 200, then speaks TLS. The
round trip of the CONNECT is the client's cost of any proxy, so this baseline shows what
the Router's own work costs apart from it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

CONNECTED = b"HTTP/1.1 200 Connection established\r\n\r\n"


class BareServer:
    """Reads one request head, writes ``response``, closes. Runs in its own loop thread."""

    def __init__(
        self, response: bytes, *, tls: ssl.SSLContext | None = None, tunnel: bool = False
    ) -> None:
        if tunnel and tls is None:
            raise ValueError("a tunnel needs the TLS context to speak inside it")
        self.response = response
        self._tls = tls
        self._tunnel = tunnel
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-bare")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # asyncio skips proto-0 sockets; a fair baseline needs it too
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self._tunnel:
                assert self._tls is not None
                await reader.readuntil(b"\r\n\r\n")
                writer.write(CONNECTED)
                await writer.drain()
                await writer.start_tls(self._tls)
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> BareServer:
        self._thread.start()
        tls = None if self._tunnel else self._tls  # a tunnel starts TLS after its CONNECT
        coro = asyncio.start_server(self._handle, sock=self._sock, ssl=tls)
        self._server = asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
