"""How a response says where its body ends: Content-Length, chunked, or the close.

HTTP/1.1 has three ways (RFC 9112, section 6.3), and a client can see a cut
in only two of them:

=================== ====================================== ===========================
framing             the head says                          a cut body looks
=================== ====================================== ===========================
``content-length``  ``Content-Length: N``                  short: fewer than N bytes
``chunked``         ``Transfer-Encoding: chunked``         short: no last chunk
``close``           neither, and ``Connection: close``     **complete**: the close is
                                                           the end (HTTP/1.0 servers,
                                                           many middleboxes)
=================== ====================================== ===========================

Sans-IO like :mod:`.faults`: :class:`Framer` turns a response head and its
payload into the bytes on the wire, deterministically (the same payload gives
the same chunks, whatever blocks it arrives in), so offsets of a fault plan
land at the same byte on every request.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._http import drop_header, set_header
from .errors import FaultPlanError

__all__ = ["CHUNK_SIZE", "FRAMINGS", "Framer", "Framing", "check_framing", "framed_length"]

Framing = Literal["content-length", "chunked", "close"]
#: Every framing, in the order the docs list them.
FRAMINGS: tuple[Framing, ...] = get_args(Framing)
#: Payload bytes per chunk of a ``chunked`` body (the last chunk may be shorter).
CHUNK_SIZE = 16 * 1024
_LAST_CHUNK = b"0\r\n\r\n"


def check_framing(framing: object) -> Framing:
    """``framing`` if it is one of :data:`FRAMINGS`, else FaultPlanError naming them."""
    if framing not in FRAMINGS:
        raise FaultPlanError(f"framing={framing!r} is not one of {', '.join(map(repr, FRAMINGS))}")
    return framing


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def framed_length(framing: Framing, payload_length: int) -> int:
    """Bytes on the wire for a body of ``payload_length`` bytes framed as ``framing``."""
    if framing != "chunked":
        return payload_length
    full, rest = divmod(payload_length, CHUNK_SIZE)
    chunks = full * _chunk_length(CHUNK_SIZE) + (_chunk_length(rest) if rest else 0)
    return chunks + len(_LAST_CHUNK)


def _chunk_length(size: int) -> int:
    return len(b"%x" % size) + size + 4


class Framer:
    """Frames one response: :meth:`head` first, then :meth:`body` per block, then :meth:`end`.

    ``length`` is the payload's length, needed for ``content-length`` (the
    caller reads an unknown-length payload whole first); the other framings
    drop any Content-Length the head had.
    """

    def __init__(self, framing: Framing, length: int | None) -> None:
        self.framing = check_framing(framing)
        if framing == "content-length" and length is None:
            raise ValueError("content-length framing needs the payload's length")
        self.length = length
        self._pending = b""

    def head(self, head: bytes) -> bytes:
        """``head`` with the framing's headers, and no header of another framing."""
        head = drop_header(drop_header(head, b"Transfer-Encoding"), b"Content-Length")
        head = drop_header(head, b"Connection")
        if self.framing == "content-length":
            return set_header(head, b"Content-Length", str(self.length))
        if self.framing == "chunked":
            return set_header(head, b"Transfer-Encoding", "chunked")
        return set_header(head, b"Connection", "close")

    def body(self, payload: bytes) -> bytes:
        """The wire bytes for the next ``payload`` block (chunked: whole chunks only)."""
        if self.framing != "chunked":
            return payload
        data = self._pending + payload
        whole = len(data) - len(data) % CHUNK_SIZE
        self._pending = data[whole:]
        return b"".join(_chunk(data[i : i + CHUNK_SIZE]) for i in range(0, whole, CHUNK_SIZE))

    def end(self) -> bytes:
        """What follows the last payload block: the rest and the last chunk, for chunked."""
        if self.framing != "chunked":
            return b""
        rest, self._pending = self._pending, b""
        return (_chunk(rest) if rest else b"") + _LAST_CHUNK

    def body_length(self) -> int | None:
        """Bytes of the framed body, if the payload's length is known."""
        return None if self.length is None else framed_length(self.framing, self.length)
