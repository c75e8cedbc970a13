"""The HTTP/2 fault plans: what a server does to one stream, or to the whole connection.

They mean something only to a client that chose HTTP/2 by ALPN; :mod:`.faults` lists
them with the others (``H2_FAULTS``) and its engine places them, as frames, at
offsets counted like every other plan's; NoSettingsAck, a connection fault, meets
the connection before any request.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._plan_checks import Where, _check_code, _check_offset, _check_positive, error_code
from .errors import FaultPlanError

__all__ = [
    "DataBeforeHeaders",
    "EndStreamEarly",
    "GoAway",
    "NoSettingsAck",
    "StreamReset",
    "WindowStall",
]


@dataclass(frozen=True)
class StreamReset:
    """HTTP/2 only: send ``at`` bytes of the body, then RST_STREAM with ``code`` on its stream.

    The other streams of the connection go on, as they do when a real server
    gives up on one response. ``where`` as for Truncate, but from the body by
    default: ``StreamReset(0, where="headers")`` resets before the HEADERS frame.
    """

    at: int
    code: str | int = "INTERNAL_ERROR"
    where: Where = "body"

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        _check_code(self, self.code)


@dataclass(frozen=True)
class GoAway:
    """HTTP/2 only: after ``at`` bytes of the body, send GOAWAY(``last_stream_id``, ``code``).

    ``last_stream_id=None`` names the newest stream the client opened: the
    streams up to it go on to their end (graceful, with ``NO_ERROR``), then the
    connection closes. A stream above ``last_stream_id``, or any ``code`` but
    ``NO_ERROR``, ends the connection right after the GOAWAY (abrupt). ``where``
    as for StreamReset.
    """

    at: int
    last_stream_id: int | None = None
    code: str | int = "NO_ERROR"
    where: Where = "body"

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        _check_code(self, self.code)
        last = self.last_stream_id
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
            raise FaultPlanError(f"GoAway: last_stream_id={last!r} must be None or an int >= 0")

    @property
    def abrupt(self) -> bool:
        return error_code(self.code) != 0


@dataclass(frozen=True)
class EndStreamEarly:
    """HTTP/2 only: send ``at`` bytes of the body, then END_STREAM: the stream ends in
    good order, short of the Content-Length its HEADERS declared."""

    at: int
    where: Where = "body"

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)


@dataclass(frozen=True)
class DataBeforeHeaders:
    """HTTP/2 only: a DATA frame on the stream before its HEADERS, which RFC 9113 makes a
    protocol error (golang/go#69544), then the response as it is."""


@dataclass(frozen=True)
class WindowStall:
    """HTTP/2 only: send ``at`` bytes of the body, then nothing more on the stream for
    ``seconds``, then RST_STREAM with ``code``.

    What a client sees of a server waiting for a WINDOW_UPDATE it never takes in:
    the stream stops while its connection lives on (PINGs are answered, the other
    streams go on), unlike Stall, whose end takes the whole connection with it.
    ``where`` as for StreamReset.
    """

    at: int
    seconds: float
    code: str | int = "CANCEL"
    where: Where = "body"

    def __post_init__(self) -> None:
        _check_offset(self, "at", self.at, self.where)
        _check_positive(self, "seconds", self.seconds)
        _check_code(self, self.code)


@dataclass(frozen=True)
class NoSettingsAck:
    """HTTP/2 only, a connection fault: the host never acknowledges the client's SETTINGS.

    ``send_settings=False`` also withholds the host's own SETTINGS frame, which
    RFC 9113 makes the first frame a server sends. The connection is otherwise
    served as usual. Like Refuse, it waits for the host's next connection, so it
    takes no ``path``.
    """

    send_settings: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.send_settings, bool):
            raise FaultPlanError(
                f"NoSettingsAck: send_settings={self.send_settings!r} must be True (the host "
                "sends its own SETTINGS, unacknowledged) or False (it sends none)"
            )
