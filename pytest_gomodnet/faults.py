"""Fault plans, and a sans-IO engine that decides what of a response reaches the client.

Like h11, this module has no networking code at all: the socket side
(:mod:`pytest_gomodnet.faultproxy`) feeds it the upstream's bytes and does
what it answers. So every fault can be tested byte for byte with no socket.

A plan is a frozen dataclass whose repr pastes back into a test. Offsets
count bytes of ONE HTTP response as the client receives it, status line
first; ``where`` makes ``at`` relative to a part of the response:

=============  ==========================================================
``where``      ``at`` counts from
=============  ==========================================================
``None``       the first byte of the status line
``"headers"``  the same (named, for symmetry with the others)
``"body"``     the first body byte (just after ``\\r\\n\\r\\n``)
``"body-end"`` the end of the body: ``at`` is ≤ 0, ``-1`` = last byte kept
=============  ==========================================================

Byte faults: Truncate, Reset, Stall, Corrupt, Throttle, Drip,
CloseBeforeResponse. Connection faults (before any request is read):
Refuse, HandshakeAbort. HTTP faults, which rewrite the response the
upstream gave: Status, HtmlLogin, LieContentLength, ChunkedCut,
WrongContentType, SlowFirstByte. HTTP/2 faults (a client that negotiated h2):
StreamReset, GoAway, EndStreamEarly, DataBeforeHeaders, WindowStall; their
``at`` counts body bytes (DATA payload); NoSettingsAck is a connection fault.

Each combines with any framing of :mod:`.framing` (``ResponseEngine(plan,
framing)``): offsets then count the framed bytes, and a cut of a
close-delimited body ends in a clean close that looks, to HTTP, like the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

from ._h2plans import (
    DataBeforeHeaders,
    EndStreamEarly,
    GoAway,
    NoSettingsAck,
    StreamReset,
    WindowStall,
)
from ._http import content_length, drop_header, set_header
from ._plan_checks import (
    _CLOSES,
    CloseHow,
    _check_offset,
    _check_positive,
    error_code,
)
from ._plan_checks import (
    Where as Where,
)
from .errors import FaultPlanError
from .framing import Framer, Framing, check_framing

__all__ = [
    "BYTE_FAULTS",
    "CONNECTION_FAULTS",
    "H2_FAULTS",
    "HTTP1_ONLY",
    "HTTP_FAULTS",
    "ChunkedCut",
    "Close",
    "CloseBeforeResponse",
    "Corrupt",
    "DataBeforeHeaders",
    "Drip",
    "EndStreamEarly",
    "FaultPlan",
    "Frame",
    "GoAway",
    "HandshakeAbort",
    "HtmlLogin",
    "LieContentLength",
    "NoSettingsAck",
    "Refuse",
    "Reset",
    "ResponseEngine",
    "Send",
    "Sleep",
    "SlowFirstByte",
    "Stall",
    "Status",
    "StreamReset",
    "Throttle",
    "Truncate",
    "WindowStall",
    "WrongContentType",
    "error_code",
    "needs_http1",
    "synthesized_response",
]

# --- byte faults -----------------------------------------------------------


@dataclass(frozen=True)
class Truncate:
    """Send the first ``at`` bytes of the response, then end the connection ``close``-ly.

    ``fin`` is an orderly close (with TLS close_notify when the Router speaks
    TLS), ``rst`` a TCP reset, ``tls-no-close-notify`` a FIN with no
    close_notify, which TLS clients may report as a truncation attack.
    """

    at: int
    close: CloseHow = "fin"
    where: Where | None = None

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        if self.close not in _CLOSES:
            raise FaultPlanError(
                f"Truncate: close={self.close!r} is not one of {', '.join(map(repr, _CLOSES))}"
            )


@dataclass(frozen=True)
class Reset:
    """Send the first ``at`` bytes, then reset the connection (TCP RST)."""

    at: int
    where: Where | None = None

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)


@dataclass(frozen=True)
class Stall:
    """Send the first ``at`` bytes, go silent for ``seconds``, then close: a hung server."""

    at: int
    seconds: float
    where: Where | None = None

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        _check_positive(self, "seconds", self.seconds)


@dataclass(frozen=True)
class Corrupt:
    """Deliver the whole response with the byte at ``at`` XOR-ed by ``xor``."""

    at: int
    xor: int = 0xFF
    where: Where | None = None

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        if isinstance(self.xor, bool) or not isinstance(self.xor, int) or not 1 <= self.xor <= 255:
            raise FaultPlanError(f"Corrupt: xor={self.xor!r} must be an int from 1 to 255")


@dataclass(frozen=True)
class Throttle:
    """Deliver the whole response at ``bytes_per_second``."""

    bytes_per_second: int

    def __post_init__(self) -> None:
        _check_positive(self, "bytes_per_second", self.bytes_per_second, integer=True)


@dataclass(frozen=True)
class Drip:
    """Deliver the response ``chunk`` bytes at a time, ``delay`` seconds apart."""

    chunk: int
    delay: float

    def __post_init__(self) -> None:
        _check_positive(self, "chunk", self.chunk, integer=True)
        _check_positive(self, "delay", self.delay)


@dataclass(frozen=True)
class CloseBeforeResponse:
    """Read the request, then close the connection without a byte of response."""


# --- connection faults -----------------------------------------------------


@dataclass(frozen=True)
class Refuse:
    """Reset the client's connection as soon as it asks for the host: nothing is said."""


@dataclass(frozen=True)
class HandshakeAbort:
    """Accept the tunnel, then close it before the TLS handshake completes."""


# --- HTTP faults -----------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """Answer with ``code`` and a text/plain ``body`` instead of asking the upstream."""

    code: int
    body: bytes = b""

    def __post_init__(self) -> None:
        if isinstance(self.code, bool) or not isinstance(self.code, int):
            raise FaultPlanError(f"Status: code={self.code!r} must be an int")
        if not 100 <= self.code <= 599:
            raise FaultPlanError(f"Status: code={self.code!r} is not an HTTP status (100-599)")
        if not isinstance(self.body, bytes):
            raise FaultPlanError(f"Status: body={self.body!r} must be bytes")


@dataclass(frozen=True)
class HtmlLogin:
    """Answer 200 with an HTML login page, as a proxy behind single sign-on does."""


@dataclass(frozen=True)
class LieContentLength:
    """Declare ``extra`` more bytes than the body has, send the body, then close."""

    extra: int

    def __post_init__(self) -> None:
        _check_positive(self, "extra", self.extra, integer=True)


@dataclass(frozen=True)
class ChunkedCut:
    """Re-frame the body as chunked and close after ``at`` body bytes, with no last chunk."""

    at: int

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, None)


@dataclass(frozen=True)
class WrongContentType:
    """Deliver the response with its Content-Type replaced by ``content_type``."""

    content_type: str

    def __post_init__(self) -> None:
        if not isinstance(self.content_type, str) or not _TOKEN_VALUE.fullmatch(self.content_type):
            raise FaultPlanError(
                f"WrongContentType: content_type={self.content_type!r} "
                "is not a printable one-line header value"
            )


@dataclass(frozen=True)
class SlowFirstByte:
    """Wait ``seconds`` before the first byte of the response, then deliver it all."""

    seconds: float

    def __post_init__(self) -> None:
        _check_positive(self, "seconds", self.seconds)


_TOKEN_VALUE = re.compile(r"[\x20-\x7e]+")


FaultPlan = (
    Truncate
    | Reset
    | Stall
    | Corrupt
    | Throttle
    | Drip
    | CloseBeforeResponse
    | Refuse
    | HandshakeAbort
    | Status
    | HtmlLogin
    | LieContentLength
    | ChunkedCut
    | WrongContentType
    | SlowFirstByte
    | StreamReset
    | GoAway
    | EndStreamEarly
    | DataBeforeHeaders
    | WindowStall
    | NoSettingsAck
)

BYTE_FAULTS = (Truncate, Reset, Stall, Corrupt, Throttle, Drip, CloseBeforeResponse)
CONNECTION_FAULTS = (Refuse, HandshakeAbort, NoSettingsAck)
HTTP_FAULTS = (
    Status,
    HtmlLogin,
    LieContentLength,
    ChunkedCut,
    WrongContentType,
    SlowFirstByte,
    StreamReset,
    GoAway,
    EndStreamEarly,
    DataBeforeHeaders,
    WindowStall,
)
#: Plans that speak HTTP/2 frames: refused over HTTP/1.1.
H2_FAULTS = (StreamReset, GoAway, EndStreamEarly, DataBeforeHeaders, WindowStall, NoSettingsAck)
#: Plans that rewrite HTTP/1.1 framing: refused over HTTP/2.
HTTP1_ONLY = (ChunkedCut,)


def needs_http1(plan: FaultPlan | None) -> bool:
    """Whether ``plan`` is about HTTP/1.1's bytes: a waiting one makes its host offer
    HTTP/1.1 alone (a Corrupt counted from the status line may hit the head, which
    HTTP/2 sends HPACK-coded)."""
    corrupts_head = isinstance(plan, Corrupt) and plan.where in (None, "headers")
    return corrupts_head or isinstance(plan, HTTP1_ONLY)


# --- what the engine asks the socket side to do -----------------------------


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Close:
    """End the connection: ``fin``, ``rst``, ``tls-no-close-notify`` or ``deadline`` (a FIN)."""

    how: str


@dataclass(frozen=True)
class Frame:
    """Send an HTTP/2 plan's frame (RST_STREAM, GOAWAY) on the response's stream."""

    plan: StreamReset | GoAway | EndStreamEarly | DataBeforeHeaders | WindowStall


Action = Send | Sleep | Close | Frame

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
    b'<body><form method="post" action="/login"><input name="user">'
    b'<input name="password" type="password"><button>Sign in</button></form></body></html>\n'
)


def _phrase(code: int) -> str:
    """The reason phrase of ``code``, or "Unknown" for a code HTTP has no name for."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def synthesized_response(plan: Status | HtmlLogin) -> bytes:
    """The whole response a Status or HtmlLogin plan answers with."""
    if isinstance(plan, Status):
        code, body, content_type = plan.code, plan.body, "text/plain; charset=utf-8"
    else:
        code, body, content_type = 200, LOGIN_PAGE, "text/html; charset=utf-8"
    reason = _phrase(code)
    head = (
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ResponseEngine:
    """Decides, chunk by chunk, what of one response reaches the client.

    Feed it the response head (everything up to and including
    ``\\r\\n\\r\\n``) with :meth:`start`, then body bytes with :meth:`feed`,
    then :meth:`finish`. Each call returns the actions to carry out, in
    order. Once an action closes the connection, :attr:`done` is true and
    later input is ignored.

    With a ``framing`` (see :mod:`.framing`), the engine frames the response
    itself: feed it the payload, not wire bytes, with the payload's length as
    the head's Content-Length if it is known (``content-length`` needs it).
    Offsets still count wire bytes: head and framed body. ``LieContentLength``
    and ``ChunkedCut`` bring their own framing, so with them ``framing`` only
    says that payload is fed.
    """

    def __init__(self, plan: FaultPlan | None, framing: Framing | None = None) -> None:
        self.plan = plan
        self.framing: Framing | None = None if framing is None else check_framing(framing)
        if isinstance(plan, LieContentLength) and framing is not None:
            self.framing = "content-length"
        elif isinstance(plan, ChunkedCut):
            self.framing = None
        self.head = b""
        """The head as sent (framed, rewritten by the plan); set by :meth:`start`."""
        self._framer: Framer | None = None
        self.done = False
        self.ended: str | None = None
        self.sent = 0
        self._cut: int | None = None
        self._corrupt_at: int | None = None
        self._chunked_left: int | None = None

    # -- the head ---------------------------------------------------------

    def start(self, head: bytes) -> list[Action]:
        """Take the response head; rewrite it if the plan is an HTTP fault."""
        plan = self.plan
        if plan is None and self.framing is None:  # a clean exchange, as most are
            self.head = head
            return self._pass(head)
        body_length = content_length(head)
        if self.framing is not None:
            self._framer = Framer(self.framing, body_length)
            head = self._framer.head(head)
            body_length = self._framer.body_length()
        if isinstance(plan, LieContentLength):
            head = set_header(head, b"Content-Length", str((body_length or 0) + plan.extra))
        elif isinstance(plan, ChunkedCut):
            head = set_header(drop_header(head, b"Content-Length"), b"Transfer-Encoding", "chunked")
            self._chunked_left = plan.at
        elif isinstance(plan, WrongContentType):
            head = set_header(head, b"Content-Type", plan.content_type)
        elif isinstance(plan, _CUTS):
            offset = _absolute(plan.at, plan.where, len(head), body_length)
            if isinstance(plan, Corrupt):
                self._corrupt_at = offset
            else:
                self._cut = offset
        self.head = head
        actions: list[Action] = []
        if isinstance(plan, SlowFirstByte):
            actions.append(Sleep(plan.seconds))
        if isinstance(plan, CloseBeforeResponse):
            return self._close("fin")
        if isinstance(plan, DataBeforeHeaders):
            actions.append(Frame(plan))
        return actions + self._pass(head)

    # -- the body ---------------------------------------------------------

    def feed(self, data: bytes) -> list[Action]:
        if self.done or not data:
            return []
        if self._chunked_left is not None:
            return self._chunk(data)
        if self._framer is not None:
            data = self._framer.body(data)
        return self._pass(data) if data else []

    def finish(self) -> list[Action]:
        """The upstream's response is complete."""
        if self.done:
            return []
        actions = self._pass(self._framer.end()) if self._framer is not None else []
        return actions if self.done else actions + self._ending()

    def _ending(self) -> list[Action]:
        """What the plan does once the whole body (last chunk included) has gone out."""
        if isinstance(self.plan, LieContentLength) or self._chunked_left is not None:
            # Both promise more body than comes: only the close tells the client it ended.
            return self._close("fin")
        if self._cut is not None and self.sent <= self._cut:
            # Cut at or past the end: the client got everything and then the fault.
            return self._end_by_plan()
        return []

    # -- helpers ----------------------------------------------------------

    def _pass(self, data: bytes) -> list[Action]:
        if self.plan is None:
            self.sent += len(data)
            return [Send(data)] if data else []
        start = self.sent
        if self._corrupt_at is not None and start <= self._corrupt_at < start + len(data):
            i = self._corrupt_at - start
            assert isinstance(self.plan, Corrupt)
            data = data[:i] + bytes([data[i] ^ self.plan.xor]) + data[i + 1 :]
        if self._cut is not None and start + len(data) > self._cut:
            keep = data[: self._cut - start]
            actions = self._paced(keep)
            self.sent += len(keep)
            if isinstance(self.plan, GoAway) and not self.plan.abrupt:
                self._cut = None  # graceful: the stream goes on after the GOAWAY
                return [*actions, Frame(self.plan), *self._pass(data[len(keep) :])]
            return actions + self._end_by_plan()
        self.sent += len(data)
        return self._paced(data)

    def _paced(self, data: bytes) -> list[Action]:
        plan = self.plan
        if not data:
            return []
        if isinstance(plan, Throttle):
            step = max(1, plan.bytes_per_second // 20)
            pieces = [data[i : i + step] for i in range(0, len(data), step)]
            rate = plan.bytes_per_second
            return [a for piece in pieces for a in (Send(piece), Sleep(len(piece) / rate))]
        if isinstance(plan, Drip):
            return [
                a
                for i in range(0, len(data), plan.chunk)
                for a in (Send(data[i : i + plan.chunk]), Sleep(plan.delay))
            ]
        return [Send(data)]

    def _chunk(self, data: bytes) -> list[Action]:
        assert self._chunked_left is not None
        keep = data[: self._chunked_left]
        self._chunked_left -= len(keep)
        actions: list[Action] = []
        if keep:
            frame = b"%x\r\n%s\r\n" % (len(keep), keep)
            self.sent += len(frame)
            actions.append(Send(frame))
        if self._chunked_left == 0:
            actions += self._close("fin")
        return actions

    def _end_by_plan(self) -> list[Action]:
        plan = self.plan
        if isinstance(plan, _H2_CUTS):
            self._cut = None
            if isinstance(plan, GoAway) and not plan.abrupt:
                return [Frame(plan)]
            self.done = True
            self.ended = _H2_ENDINGS[type(plan)]
            return [Frame(plan)]
        if isinstance(plan, Truncate):
            return self._close(plan.close)
        if isinstance(plan, Reset):
            return self._close("rst")
        assert isinstance(plan, Stall)
        self.done = True
        self.ended = "deadline"
        return [Sleep(plan.seconds), Close("deadline")]

    def _close(self, how: str) -> list[Action]:
        self.done = True
        self.ended = how
        return [Close(how)]


#: The HTTP/2 plans that end a response at an offset, and how the engine logs that end.
_H2_ENDINGS = {
    StreamReset: "rst_stream",
    GoAway: "goaway",
    EndStreamEarly: "end_stream",
    WindowStall: "window_stall",
}
_H2_CUTS = (StreamReset, GoAway, EndStreamEarly, WindowStall)
#: The plans that act at an offset: Corrupt on one byte, the others from it on.
_CUTS = (Truncate, Reset, Stall, Corrupt, StreamReset, GoAway, EndStreamEarly, WindowStall)


def _absolute(at: int, where: str | None, head_length: int, body_length: int | None) -> int:
    if where == "body":
        return head_length + at
    if where == "body-end":
        if body_length is None:
            raise FaultPlanError(
                "where='body-end' needs a response whose length is known (a Content-Length "
                "from its server); this one has none"
            )
        return head_length + body_length + at
    return at
