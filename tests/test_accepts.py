"""Accepts: what every connection a proxy accepts starts with."""

from __future__ import annotations

import asyncio
import socket

from pytest_gomodnet._accepts import Accepts
from pytest_gomodnet._readers import ClientReader


def test_an_accepted_connection_sends_at_once_and_reads_heads_in_blocks() -> None:
    """TCP_NODELAY, set once on the listener, is on every socket it accepts (without
    it, Nagle holds a body back 40 ms for the client's delayed ACK)."""

    async def main() -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        accepts = Accepts(loop, "test")
        seen: asyncio.Future[tuple[int, bool]] = loop.create_future()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            seen.set_result((nodelay, isinstance(reader, ClientReader)))
            writer.close()

        listener = socket.create_server(("127.0.0.1", 0))
        await accepts.serve(listener, handler)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
            await accepts.close_servers()
            await accepts.abort_all()

    assert asyncio.run(main()) == (1, True)
