"""Serving a virtual host in process: its werkzeug app called without a socket.

An app runs in a worker thread (or, ``inline``, on the loop thread for an app that
never blocks); its response comes back as a head and the first batch of its body,
the rest read in batches in a worker while the previous batch goes out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._http import header
from ._readers import BLOCK
from ._writers import bodiless_status

if TYPE_CHECKING:
    from werkzeug import Request, Response

__all__ = ["InProcessApp", "Served", "in_process", "names_host"]

#: A virtual host's handler, called in a worker thread: werkzeug request in, response out.
InProcessApp = Callable[["Request"], "Response"]


async def in_process(workers: ThreadPoolExecutor, app: InProcessApp, request: Request) -> Served:
    """Call ``app`` for one request in a worker; its response with the first blocks of
    the body.

    One trip to a worker thread calls the app and reads the first blocks (all of
    them, for most responses): each trip costs two thread switches, more than
    anything else an exchange does. An inline app (one that never blocks) skips the
    trip: :meth:`Served.call` on the loop thread.
    """
    loop = asyncio.get_running_loop()
    pending = loop.run_in_executor(workers, Served.call, app, request)
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(close_when_served)
        raise


@dataclass
class Served:
    """A response from an in-process app: its head, and its body read in batches."""

    response: Response
    head: bytes
    blocks: Iterator[bytes]
    batch: list[bytes]
    ended: bool
    _reading: asyncio.Future[tuple[list[bytes], bool]] | None = None

    @classmethod
    def call(cls, app: InProcessApp, request: Request) -> Served:
        """The app's response, with the first batch of its body already read."""
        response = app(request)
        try:
            # As werkzeug serves it: no body for HEAD, 1xx, 204 or 304 (a keep-alive
            # client would read one as the start of the next response).
            bodiless = bodiless_status(response.status_code, request.method)
            blocks = iter(()) if bodiless else iter(response.iter_encoded())
            batch, ended = next_batch(blocks)
        except BaseException:
            response.close()
            raise
        return cls(response, response_head(response), blocks, batch, ended)

    async def rest(self, workers: ThreadPoolExecutor) -> AsyncIterator[bytes]:
        """The body after the first batch, read in a worker (it may read a file).

        Each batch is read while the one before it goes out, so reading the file
        and sending overlap: a large zip is never waiting on both at once.
        """
        loop = asyncio.get_running_loop()
        while not self.ended:
            if self._reading is None:
                self._reading = loop.run_in_executor(workers, next_batch, self.blocks)
            batch, self.ended = await asyncio.shield(self._reading)
            self._reading = None
            if not self.ended:
                self._reading = loop.run_in_executor(workers, next_batch, self.blocks)
            for block in batch:
                yield block

    def close(self) -> None:
        """Close the response now, or once a worker inside its body's generator returns.

        Closing a generator that another thread is running raises "generator
        already executing": a cancelled exchange, or a batch read ahead, may leave
        a worker in there.
        """
        if self._reading is None:
            self.response.close()
        else:
            self._reading.add_done_callback(self._close_after_reading)

    def _close_after_reading(self, reading: asyncio.Future[tuple[list[bytes], bool]]) -> None:
        if not reading.cancelled():
            reading.exception()  # a batch nobody will send: its error is not news
        self.response.close()


def next_batch(blocks: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """The next non-empty blocks, up to about BLOCK bytes; and whether the body ended."""
    batch, size = [], 0
    for block in blocks:
        if block:
            batch.append(block)
            size += len(block)
            if size >= BLOCK:
                return batch, False
    return batch, True


def close_when_served(pending: asyncio.Future[Served]) -> None:
    """A cancelled exchange's response still arrives: close it (and its file) then."""
    if not pending.cancelled() and pending.exception() is None:
        pending.result().close()


def names_host(head: bytes, host: str) -> bool:
    """Whether the request's Host header names ``host`` (so the Origin routes it there)."""
    value = (header(head, b"host") or b"").decode("latin-1").lower()
    return value == host or value.rpartition(":")[0] == host


def response_head(response: Response) -> bytes:
    lines = [f"HTTP/1.1 {response.status}"]
    for name, value in response.headers.items():
        if name.lower() not in ("connection", "transfer-encoding"):
            lines.append(f"{name}: {value}")
    if "Content-Length" not in response.headers:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
