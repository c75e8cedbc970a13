"""The rules a response head obeys on its way out: is there a body, how does it end,
does the connection stay, and the rewrites the proxy makes to a head.

Pure functions of bytes (except :func:`measured`, which drains a body): the
bodiless-response rule is written here once, and every part of the proxy asks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._http import content_length, header, set_header, status_code
from .framing import Framing

__all__ = [
    "bodiless",
    "client_closes",
    "closes",
    "framed",
    "framing_of",
    "is_http10",
    "measured",
    "needs_length",
    "with_target",
]


def bodiless(head: bytes, method: str) -> bool:
    """Whether the response has no body, whatever its headers say (HEAD, 1xx, 204, 304)."""
    return bodiless_status(status_code(head), method)


def bodiless_status(status: int, method: str) -> bool:
    """:func:`bodiless` for a status code (a server that builds its response as objects)."""
    return method == "HEAD" or status in (204, 304) or 100 <= status < 200


def framed(head: bytes, method: str) -> bool:
    """Whether the response's end is known without the connection closing."""
    if bodiless(head, method):
        return True
    chunked = (header(head, b"transfer-encoding") or b"").lower() == b"chunked"
    return chunked or header(head, b"content-length") is not None


def framing_of(head: bytes, method: str, framing: Framing | None) -> Framing | None:
    """``framing``, unless the response has no body to frame."""
    return None if framing is None or bodiless(head, method) else framing


def needs_length(framing: Framing | None, head: bytes) -> bool:
    """Whether framing asks for a Content-Length the server did not give."""
    return framing == "content-length" and content_length(head) is None


async def measured(
    head: bytes, ready: list[bytes], rest: AsyncIterator[bytes] | None
) -> tuple[bytes, list[bytes], None]:
    """Read a payload of unknown length whole, so a Content-Length can be put on it."""
    blocks = list(ready)
    if rest is not None:
        blocks += [block async for block in rest]
    length = sum(map(len, blocks))
    return set_header(head, b"Content-Length", str(length)), blocks, None


def closes(head: bytes) -> bool:
    """Whether the head says ``Connection: close``."""
    return (header(head, b"connection") or b"").lower() == b"close"


def is_http10(request_head: bytes) -> bool:
    return request_head.split(b"\r\n", 1)[0].endswith(b" HTTP/1.0")


def client_closes(request_head: bytes) -> bool:
    """Whether the client expects the connection to end after this exchange:
    it said so, or it speaks HTTP/1.0 and did not ask for keep-alive."""
    connection = (header(request_head, b"connection") or b"").lower()
    if is_http10(request_head):
        return connection != b"keep-alive"
    return connection == b"close"


def with_target(head: bytes, target: str) -> bytes:
    """The request head with its request-target replaced."""
    line, rest = head.split(b"\r\n", 1)
    method, _, version = line.split(b" ")
    return b" ".join((method, target.encode("latin-1"), version)) + b"\r\n" + rest
