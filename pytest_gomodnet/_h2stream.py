"""One HTTP/2 stream's response: the fault engine's actions as HEADERS, DATA and the plans'
frames (RST_STREAM, GOAWAY, a stalled window), and the log entries that show them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from h2.connection import H2Connection
from h2.errors import ErrorCodes
from hyperframe.frame import DataFrame, GoAwayFrame

from ._endings import Quit, end
from ._proxylog import Exchange
from ._readers import bounded
from .errors import FaultPlanError
from .faults import (
    Action,
    Close,
    Corrupt,
    DataBeforeHeaders,
    EndStreamEarly,
    FaultPlan,
    GoAway,
    Send,
    Sleep,
    StreamReset,
    WindowStall,
    error_code,
)

if TYPE_CHECKING:
    from ._h2conn import H2Server

__all__ = ["StreamOver", "StreamSink", "code_name", "response_headers", "write_data"]

#: DATA goes out in writes of up to this many bytes, and once this many are written the
#: client must take them (the write deadline): a large body never piles up.
FLUSH_BYTES = 512 * 1024

#: Response headers HTTP/2 forbids (RFC 9113, section 8.2.2): they are about one connection.
_HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


class StreamOver(Exception):
    """This stream's response is over (a RST_STREAM went out); the others go on."""


class StreamSink:
    """Carries out the engine's actions on one stream: HTTP/1.1 bytes in, frames out.

    The engine counts the response as HTTP/1.1 shows it (the head as text, then
    the body), so ``at`` lands where it does over HTTP/1.1: the head goes out as
    one HEADERS frame once all of it has passed, the body as DATA.
    """

    def __init__(
        self, server: H2Server, stream_id: int, exchange: Exchange, plan: FaultPlan | None
    ) -> None:
        self.server, self.stream_id, self.exchange, self.plan = server, stream_id, exchange, plan
        self.pending_head: bytes | None = b""
        self.data_run: tuple[int, int] | None = None  # (frames, bytes) of the DATA last sent

    async def act(self, actions: list[Action]) -> None:
        """Carry out one step of the engine; what it sent is on the wire at the end of it
        (or before a pause), in as few writes as the frames fit."""
        for action in actions:
            if isinstance(action, Send):
                await self._send(action.data)
            elif isinstance(action, Sleep):
                await self.server.flushed()
                await asyncio.sleep(action.seconds)
            elif isinstance(action, Close):
                await self._end_connection(action.how)
            else:
                await self._frame(action.plan)
        await self.server.flushed()

    async def _send(self, data: bytes) -> None:
        self.exchange.bytes_down += len(data)
        if self.pending_head is not None:
            self.pending_head += data
            head, mark, data = self.pending_head.partition(b"\r\n\r\n")
            if not mark:
                return
            self.pending_head = None
            self._check_corrupt(len(head) + len(mark))
            self.server.h2.send_headers(self.stream_id, response_headers(head))
            self._note("HEADERS")
        await self._data(data)

    def _check_corrupt(self, head_length: int) -> None:
        plan = self.plan
        if isinstance(plan, Corrupt) and plan.where in (None, "headers") and plan.at < head_length:
            raise FaultPlanError(
                f"{plan!r} flips a byte of the response head, which HTTP/2 sends HPACK-coded "
                "in a HEADERS frame: give where='body', or make the host http1_only()"
            )

    async def _data(self, data: bytes) -> None:
        """Send ``data`` as DATA frames, each within the client's flow-control window
        (a client that never opens it gets the idle deadline, then the end)."""
        server, h2conn = self.server, self.server.h2
        rest = memoryview(data)  # frames are cut from it without copying what is left
        while rest:
            size = min(h2conn.local_flow_control_window(self.stream_id), len(rest), FLUSH_BYTES)
            if size <= 0:
                await server.flushed()  # the client opens its window once it has these
                await bounded(server.window.wait(), server.idle_timeout)
                continue
            self._note_data(size, write_data(h2conn, server.writer, self.stream_id, rest[:size]))
            rest = rest[size:]
            server.undrained += size
            if server.undrained >= FLUSH_BYTES:
                await server.drain()

    async def end_stream(self) -> None:
        if self.pending_head is not None:
            raise ConnectionError("the response ended inside its head")
        self.server.h2.end_stream(self.stream_id)
        self._note("END_STREAM")
        await self.server.flushed()

    async def _end_connection(self, how: str) -> None:
        """A ``Close``: the whole connection ends, every stream on it, with no GOAWAY."""
        self.server.flush()
        self._note(f"connection {how}")
        self.exchange.ended = self.server.conn.ended = how
        await end(self.server.writer, how)
        raise Quit

    async def _frame(
        self, plan: StreamReset | GoAway | EndStreamEarly | DataBeforeHeaders | WindowStall
    ) -> None:
        server = self.server
        if isinstance(plan, DataBeforeHeaders):
            # Empty, past h2's state machine (which would refuse it): no window is spent.
            server.writer.write(DataFrame(self.stream_id, data=b"").serialize())
            self._note("DATA 0 B before HEADERS")
            return
        if isinstance(plan, EndStreamEarly):
            # The DATA first, in a write of its own: the client takes the body it got, then
            # meets the early end (in one read with the HEADERS, h2 refuses the whole).
            await server.flushed()
            await self.end_stream()
            self.exchange.ended = "end_stream"
            raise StreamOver
        code = error_code(plan.code)
        if isinstance(plan, WindowStall):
            await self._stall(plan.seconds)
        if isinstance(plan, (StreamReset, WindowStall)):
            server.h2.reset_stream(self.stream_id, error_code=code)
            self._note(f"RST_STREAM {code_name(code)}")
            self.exchange.ended = "rst_stream" if isinstance(plan, StreamReset) else "window_stall"
            await server.flushed()
            raise StreamOver
        last = plan.last_stream_id
        if last is None:
            last = server.h2.highest_inbound_stream_id
        # Straight to the wire, past h2's state machine: h2 sends no frame on any stream
        # after its own GOAWAY, and a graceful one lets the streams up to ``last`` finish.
        server.flush()
        server.writer.write(GoAwayFrame(0, last_stream_id=last, error_code=code).serialize())
        self._note(f"GOAWAY last_stream_id={last} {code_name(code)}")
        server.going_away = True
        if plan.abrupt or self.stream_id > last:
            self.exchange.ended = server.conn.ended = "goaway"
            await end(server.writer, "fin")
            raise Quit
        await server.drain()

    async def _stall(self, seconds: float) -> None:
        """Nothing more on this stream for ``seconds``, as from a server that waits for a
        WINDOW_UPDATE it never takes in; the connection and its other streams go on."""
        await self.server.flushed()
        self._note(f"no frame for {seconds:g} s")
        await asyncio.sleep(seconds)

    def _note(self, frame: str) -> None:
        self.exchange.frames.append(frame)
        self.data_run = None

    def _note_data(self, size: int, frames: int) -> None:
        """A run of DATA frames is one entry in the log: its bytes and its frames."""
        before, total = self.data_run or (0, 0)
        if self.data_run is not None:
            self.exchange.frames.pop()
        frames, total = before + frames, total + size
        run = f"DATA {total} B" + (f" in {frames} frames" if frames > 1 else "")
        self.exchange.frames.append(run)
        self.data_run = (frames, total)


def write_data(
    h2conn: H2Connection, writer: asyncio.StreamWriter, stream_id: int, data: memoryview
) -> int:
    """Put ``data`` on the wire as DATA frames of the largest size the client takes,
    after what h2 has queued, in one write; how many frames that made.

    The first frame goes through h2, which checks that the stream may send and spends
    the windows; the rest, sent at once with nothing in between, are framed here and
    spent from the same windows: h2 costs some 17 µs a 16 KiB frame, most of a big
    download's time over HTTP/2, and these take 1."""
    most = h2conn.max_outbound_frame_size
    h2conn.send_data(stream_id, data[:most])
    pieces: list[bytes | memoryview] = [h2conn.data_to_send()]
    rest = data[most:]
    h2conn.outbound_flow_control_window -= len(rest)
    h2conn.streams[stream_id].outbound_flow_control_window -= len(rest)
    whole, last = divmod(len(rest), most)
    header = _data_frame_header(most, stream_id)  # the same for every frame of ``most``
    for start in range(0, whole * most, most):
        pieces += (header, rest[start : start + most])
    if last:
        pieces += (_data_frame_header(last, stream_id), rest[whole * most :])
    writer.write(b"".join(pieces))
    return 1 + whole + (last > 0)


def _data_frame_header(length: int, stream_id: int) -> bytes:
    """The 9 bytes before a DATA frame's payload (RFC 9113, section 4.1): its length,
    type 0, no flags, its stream."""
    return length.to_bytes(3, "big") + b"\x00\x00" + stream_id.to_bytes(4, "big")


def code_name(code: int) -> str:
    """An HTTP/2 error code's name (RFC 9113, section 7), or its number in hex."""
    try:
        return ErrorCodes(code).name
    except ValueError:
        return f"0x{code:x}"


def response_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """An HTTP/1.1 response head as HTTP/2 headers: ``:status`` first, names in lower
    case, and none of the headers that are about one HTTP/1.1 connection."""
    status_line, *lines = head.split(b"\r\n")
    headers = [(b":status", status_line.split(b" ")[1])]
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name and name not in _HOP_BY_HOP:
            headers.append((name, value.strip()))
    return headers
