"""A relayed tunnel: bytes both ways, untouched unless the host has a plan.

For a host whose upstream serves its own TLS, the Router cannot read HTTP: it
relays the tunnel, and a plan acts on the bytes coming back (its offsets count
TLS bytes). A tunnel idle for the client deadline in both directions ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from . import faults
from ._delivery import act
from ._endings import write_eof
from ._limits import UPSTREAM_TIMEOUT
from ._proxylog import Connection, Exchange
from ._readers import BLOCK
from ._routes import Routes, Upstream
from .armed import TUNNEL
from .errors import FaultPlanError
from .faults import HTTP_FAULTS

__all__ = ["relay"]

T = TypeVar("T")


async def relay(
    routes: Routes,
    upstream: Upstream,
    target: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    conn: Connection,
    idle_timeout: float,
) -> None:
    """Relay the tunnel's bytes both ways, the host's plan acting on the ones coming back."""
    plan = routes.faults.exchange_plan(conn.host, TUNNEL)
    if isinstance(plan, HTTP_FAULTS):
        raise FaultPlanError(
            f"{plan!r} rewrites HTTP, but the Router relays {conn.host}'s bytes untouched: "
            "add the host with tls= for HTTP faults"
        )
    framing = routes.framing(conn.host, "", upstream)
    if framing is not None:
        raise FaultPlanError(
            f"framing={framing!r} re-frames HTTP, but the Router relays {conn.host}'s "
            "bytes untouched: add the host with tls= to frame its responses"
        )
    tunnel = Exchange("CONNECT", target, fault=repr(plan) if plan is not None else None)
    conn.exchanges.append(tunnel)
    engine = faults.ResponseEngine(plan)
    up_reader, up_writer = await asyncio.wait_for(
        asyncio.open_connection(upstream.host, upstream.port), UPSTREAM_TIMEOUT
    )
    idle = _Idle(idle_timeout)
    upward = asyncio.ensure_future(_pipe(reader, up_writer, tunnel, idle))
    try:
        await act(engine.start(b""), writer, tunnel, conn, idle_timeout)
        while data := await idle.bound(up_reader.read(BLOCK)):
            await act(engine.feed(data), writer, tunnel, conn, idle_timeout)
        await act(engine.finish(), writer, tunnel, conn, idle_timeout)
        tunnel.ended, conn.ended = "ok", "fin"  # logged before the client can see the end
        write_eof(writer)
        await idle.bound(upward)
    except TimeoutError:
        tunnel.ended = conn.ended = "deadline"
        raise
    finally:
        upward.cancel()
        up_writer.transport.abort()


class _Idle:
    """A relayed tunnel's deadline: ``seconds`` without a byte either way ends it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self.last = self._loop.time()

    def touch(self) -> None:
        self.last = self._loop.time()

    async def bound(self, awaitable: Awaitable[T]) -> T:
        """Await it while the tunnel is alive; TimeoutError once it has been idle too long."""
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                left = self.last + self.seconds - self._loop.time()
                if left <= 0:
                    raise TimeoutError(f"no byte either way for {self.seconds:g} s")
                done, _ = await asyncio.wait({task}, timeout=left)
                if done:
                    self.touch()
                    return task.result()
        finally:
            task.cancel()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: Exchange, idle: _Idle
) -> None:
    """Copy ``reader`` to ``writer`` until EOF, counting the bytes as the exchange's upload."""
    while data := await reader.read(BLOCK):
        idle.touch()
        writer.write(data)
        exchange.bytes_up += len(data)
        await writer.drain()
    write_eof(writer)
