"""The proxy's own answers (4xx/5xx): one exception per outcome, one path to the wire.

Whatever part of a proxy finds that it cannot serve a request raises a
:class:`Refusal`; the connection loop answers it with :func:`answer` and logs it
under one label, so the same outcome always reads the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from http import HTTPStatus

from ._proxylog import Connection

__all__ = [
    "BadRequest",
    "BodyTooLarge",
    "ExpectationFailed",
    "LengthRequired",
    "Misdirected",
    "Refusal",
    "RequestTimeout",
    "UnknownHost",
    "answer",
    "refusal_response",
]


class Refusal(Exception):
    """The proxy answers the client itself with ``status`` and the message, then ends."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR

    @property
    def label(self) -> str:
        """How the log names the outcome: ``bad-request``, ``bad-gateway``."""
        return self.status.phrase.lower().replace(" ", "-")


class BadRequest(Refusal):
    """The client sent what no HTTP proxy can parse."""

    status = HTTPStatus.BAD_REQUEST


class BodyTooLarge(Refusal):
    """The client announced a request body over the limit; none of it is read."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class LengthRequired(Refusal):
    """A request body without a Content-Length (chunked): the proxy reads none."""

    status = HTTPStatus.LENGTH_REQUIRED


class ExpectationFailed(Refusal):
    """An ``Expect`` the proxy cannot meet (anything but 100-continue)."""

    status = HTTPStatus.EXPECTATION_FAILED


class RequestTimeout(Refusal):
    """A request body stopped short of its Content-Length for the client's deadline."""

    status = HTTPStatus.REQUEST_TIMEOUT


class Misdirected(Refusal):
    """A request names another host than the one its connection serves (a tunnel to
    a.test asked for b.test, a target and a Host header that disagree): one host's
    connection never reaches another's handler."""

    status = HTTPStatus.MISDIRECTED_REQUEST


class UnknownHost(Refusal):
    """The client asked for a host (or a port of it) the proxy does not route."""

    status = HTTPStatus.BAD_GATEWAY


def refusal_response(refusal: Refusal, proxy: str) -> bytes:
    """The whole response: a one-line text naming the proxy's class, then the close."""
    body = f"gomodnet {proxy}: {refusal}\n".encode()
    status = refusal.status
    return (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


async def answer(
    writer: asyncio.StreamWriter, connection: Connection, refusal: Refusal, proxy: str
) -> None:
    """Answer ``refusal`` and close; log it on the connection, and on the exchange it
    ended if one was open."""
    response = refusal_response(refusal, proxy)
    sent = 0
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        writer.write(response)
        await writer.drain()
        sent = len(response)
    writer.close()
    connection.ended = refusal.label
    last = connection.exchanges[-1] if connection.exchanges else None
    if last is not None and last.ended == "open":
        last.status, last.ended, last.bytes_down = refusal.status.value, refusal.label, sent
