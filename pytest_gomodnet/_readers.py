"""Reading HTTP/1.1 off a stream: heads, request lines, response bodies (a request's
body is :mod:`._bodies`).

Every read has a deadline. A client's malformed input is a :class:`BadRequest`
(the proxy answers it with a 400); an upstream's is a ConnectionError.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ._deadlines import within
from ._http import header
from ._limits import MAX_HEAD, UPSTREAM_TIMEOUT
from ._refusals import BadRequest
from ._writers import bodiless

__all__ = [
    "BLOCK",
    "ClientReader",
    "bounded",
    "client_spoke",
    "drained",
    "read_head",
    "read_request_head",
    "request_target",
    "response_body",
]

#: Bytes asked of a stream per read.
BLOCK = 256 * 1024
T = TypeVar("T")


class HeadTooLong(ConnectionError):
    """A head ran past MAX_HEAD without its blank line."""


async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
    """``awaitable`` within ``seconds``, or TimeoutError: ``asyncio.wait_for`` without its
    task, and without its timer (:mod:`._deadlines`): it waits on every read here."""
    with within(seconds):
        return await awaitable


async def drained(writer: asyncio.StreamWriter, seconds: float) -> None:
    """``writer.drain()`` within ``seconds``. Without a timer when nothing waits to be
    written (what was written left at once, as nearly always): drain cannot block then."""
    if writer.transport.get_write_buffer_size():
        await bounded(writer.drain(), seconds)
    else:
        await writer.drain()


async def read_head(reader: asyncio.StreamReader, timeout: float) -> bytes | None:
    """Read up to and including the blank line; None on a clean EOF before any byte."""
    try:
        head = await bounded(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    except asyncio.LimitOverrunError:
        raise HeadTooLong(f"head longer than {MAX_HEAD} bytes") from None
    return head


class ClientReader(asyncio.StreamReader):
    """A client's stream, whose request heads are read a block at a time, not line by
    line: what a block brings past its head (a body, the next request) is kept, and
    every read returns it first."""

    _unread = b""
    #: Once the connection's close is under way, give it ``seconds`` to finish before it
    #: is aborted: set by the protocol that feeds this stream (:mod:`._accepts`).
    linger: Callable[[float], None] | None = None

    async def read(self, n: int = -1) -> bytes:
        if not self._unread:
            return await super().read(n)
        if n < 0:
            kept, self._unread = self._unread, b""
            return kept + await super().read(n)
        kept, self._unread = self._unread[:n], self._unread[n:]
        return kept

    async def readexactly(self, n: int) -> bytes:
        kept, self._unread = self._unread[:n], self._unread[n:]
        if len(kept) == n:
            return kept
        try:
            return kept + await super().readexactly(n - len(kept))
        except asyncio.IncompleteReadError as exc:
            raise asyncio.IncompleteReadError(kept + exc.partial, n) from None

    async def readuntil(self, separator: Any = b"\n") -> bytes:
        if self._unread:
            raise NotImplementedError("a client's stream is searched by read_head() alone")
        return await super().readuntil(separator)

    def at_eof(self) -> bool:
        return not self._unread and super().at_eof()

    async def read_head(self, timeout: float) -> bytes | None:
        """The next request head (None on a clean EOF before any byte), within ``timeout``.
        A line that ends in a bare LF, a lone CR or a NUL is a bad request at once, as is
        a head over MAX_HEAD: no search for CRLF CRLF waits out the deadline for them."""
        buffer, self._unread = self._unread, b""
        with within(timeout):
            while not buffer or not (end := _head_end(buffer)):
                data = await super().read(BLOCK)
                if not data:
                    if buffer:
                        raise asyncio.IncompleteReadError(buffer, None)
                    return None
                buffer += data
        self._unread = buffer[end:]
        return buffer[:end]


async def read_request_head(reader: asyncio.StreamReader, timeout: float) -> bytes | None:
    """A client's request head from a :class:`ClientReader` (see its ``read_head``)."""
    if not isinstance(reader, ClientReader):
        raise TypeError(f"request heads are read from a ClientReader, not {reader!r}")
    return await reader.read_head(timeout)


def _head_end(buffer: bytes) -> int:
    """Where the head at the start of ``buffer`` ends (0 while it has not ended); a
    BadRequest for a line it must not hold or a head over MAX_HEAD."""
    if buffer.startswith(b"\r\n"):
        return 2
    end = buffer.find(b"\r\n\r\n") + 4
    seen = end if end > 3 else buffer.rfind(b"\n") + 1
    crlf = buffer.count(b"\r\n", 0, seen)
    if (
        buffer.count(b"\n", 0, seen) != crlf
        or buffer.count(b"\r", 0, seen) != crlf
        or buffer.find(b"\x00", 0, seen) >= 0
    ):
        raise _bad_line(buffer[:seen])
    if end > MAX_HEAD or (end < 4 and len(buffer) > MAX_HEAD):
        raise BadRequest(f"request head longer than {MAX_HEAD} bytes")
    return end if end > 3 else 0


def _bad_line(lines: bytes) -> BadRequest:
    """The refusal for the first of ``lines`` that ends in a bare LF or holds a NUL or a
    lone CR."""
    for number, line in enumerate(lines.split(b"\n")[:-1], 1):
        if not line.endswith(b"\r"):
            return BadRequest(
                f"line {number} of the request head ends in a bare LF "
                "(HTTP/1.1 ends every line with CRLF)"
            )
        if b"\x00" in line or b"\r" in line[:-1]:
            return BadRequest(f"a NUL or a lone CR in line {number} of the request head")
    raise AssertionError(f"no bad line in {lines!r}")


#: What a request target never holds: a control character, a space or DEL.
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def _control_or_space(target: str) -> bool:
    """Whether ``target`` holds a control character, a space or DEL (for ASCII, two
    string tests: the pattern costs more than the rest of a request line's reading)."""
    if target.isascii():
        return not target.isprintable() or " " in target
    return _CONTROL_OR_SPACE.search(target) is not None


def request_target(head: bytes) -> tuple[str, str]:
    """(method, target) of a request line, or BadRequest if it is not HTTP/1.x or its
    target has a control character or a space."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"malformed request line {request_line[:200]!r}")
    if _control_or_space(parts[1]):
        raise BadRequest(f"a control character in the request target {parts[1][:200]!r}")
    return parts[0], parts[1]


async def client_spoke(reader: asyncio.StreamReader, timeout: float) -> None:
    """Read what the client has sent first (a request head, a ClientHello), for ``timeout``
    at most: a close then ends a connection with nothing unread, which the kernel would
    otherwise answer with a RST."""
    with contextlib.suppress(TimeoutError):
        await bounded(reader.read(MAX_HEAD), timeout)


async def response_body(
    head: bytes, method: str, reader: asyncio.StreamReader, *, payload: bool = False
) -> AsyncIterator[bytes]:
    """Yield the body bytes of a response exactly as framed on the wire; with
    ``payload``, without the chunked framing (the Router frames it anew)."""
    if bodiless(head, method):
        return
    length = header(head, b"content-length")
    if length is not None:
        left = int(length)
        while left:
            data = await bounded(reader.read(min(left, BLOCK)), UPSTREAM_TIMEOUT)
            if not data:
                raise ConnectionError("upstream closed mid-body")
            left -= len(data)
            yield data
    elif (header(head, b"transfer-encoding") or b"").lower() == b"chunked":
        while True:
            size_line = await bounded(reader.readuntil(b"\r\n"), UPSTREAM_TIMEOUT)
            size = int(size_line.split(b";")[0], 16)
            data = await bounded(reader.readexactly(size + 2), UPSTREAM_TIMEOUT)
            if size == 0:
                trailer = data
                while trailer != b"\r\n":
                    trailer = await bounded(reader.readuntil(b"\r\n"), UPSTREAM_TIMEOUT)
                if not payload:
                    yield size_line + b"\r\n"
                return
            yield data[:-2] if payload else size_line + data
    else:
        while data := await bounded(reader.read(BLOCK), UPSTREAM_TIMEOUT):
            yield data
