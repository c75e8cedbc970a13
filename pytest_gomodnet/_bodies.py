"""A request's body, read from the client only as it is needed, never whole in memory.

Its length is checked before a byte is read (a body over the proxy's cap is a 413,
one without a Content-Length a 411); then it is streamed to an upstream block by
block, spooled for an app (in memory up to a block, on disk beyond), or read and
dropped. Each read has the client's deadline: a body shorter than its Content-Length
is a 408 once no byte has come for that long.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from ._http import header
from ._readers import BLOCK, bounded
from ._refusals import BadRequest, BodyTooLarge, ExpectationFailed, LengthRequired, RequestTimeout

__all__ = ["RequestBody", "body_length", "body_limit"]

#: The interim answer to ``Expect: 100-continue``, sent as the body is first read.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def body_limit(value: object) -> int:
    """``value`` if it is a size in bytes a proxy can take as its request body cap."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_request_body={value!r} must be an int (bytes)")
    if value < 0:
        raise ValueError(f"max_request_body={value!r} must be 0 or more bytes")
    return value


def body_length(head: bytes, limit: int) -> int:
    """The request body's length by its head; a Refusal for one the proxy will not read."""
    if header(head, b"transfer-encoding") is not None:
        raise LengthRequired(
            "a request body needs a Content-Length: Transfer-Encoding is not accepted"
        )
    length = header(head, b"content-length")
    if length is None:
        return 0
    if not length.isdigit():
        raise BadRequest(f"malformed Content-Length {length.decode('latin-1')[:200]!r}")
    digits = length.lstrip(b"0").decode() or "0"
    # Compared as text first: int() refuses more than 4,300 digits.
    if len(digits) > len(str(limit)) or int(digits) > limit:
        shown = digits if len(digits) <= 20 else f"{digits[:20]}… ({len(digits)} digits)"
        raise BodyTooLarge(f"a request body of {shown} bytes is over the limit of {limit} bytes")
    return int(digits)


class RequestBody:
    """The body of one request, ``length`` bytes still on the client's stream."""

    def __init__(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float,
        limit: int,
    ) -> None:
        self.length = body_length(head, limit)
        self.received = 0
        self._reader, self._writer, self._timeout = reader, writer, timeout
        expect = (header(head, b"expect") or b"").lower()
        if expect not in (b"", b"100-continue"):
            raise ExpectationFailed(
                f"unknown expectation {expect.decode('latin-1')[:200]!r}: only 100-continue"
            )
        self._expects_continue = bool(expect) and self.length > 0

    async def blocks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive, a block at a time."""
        if self._expects_continue:
            self._expects_continue = False
            self._writer.write(CONTINUE)
        while self.received < self.length:
            want = min(self.length - self.received, BLOCK)
            try:
                data = await bounded(self._reader.read(want), self._timeout)
            except TimeoutError:
                raise RequestTimeout(
                    f"the request body stopped after {self.received} of its {self.length} "
                    f"bytes: nothing more came for {self._timeout:g} s"
                ) from None
            if not data:
                raise ConnectionError("the client closed in the middle of its request body")
            self.received += len(data)
            yield data

    async def spooled(self) -> IO[bytes]:
        """The whole body in a file, in memory up to a block and on disk beyond, at its
        start; the caller closes it."""
        if not self.length:
            return io.BytesIO()
        spool = tempfile.SpooledTemporaryFile(max_size=BLOCK)  # noqa: SIM115 (returned)
        try:
            async for block in self.blocks():
                spool.write(block)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    async def drop(self) -> None:
        """Read the body and keep none of it (the answer does not need it)."""
        async for _ in self.blocks():
            pass
