"""HTTP/2 on a TLS host the Router terminates: h2's engine over the connection's streams.

A client that offered ``h2`` by ALPN gets an :class:`h2.connection.H2Connection`.
Each stream's request becomes the HTTP/1.1 request it stands for, and goes
through the same :class:`._delivery.Delivery` (apps, upstreams, fault queues,
log entries) as an HTTP/1.1 one, and its response goes out as frames
(:mod:`._h2stream`). A ``NoSettingsAck`` withholds SETTINGS frames here, for the
whole connection. A client that breaks the protocol gets h2's GOAWAY with the
error code the protocol names, and the connection ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.connection import ConnectionState
from h2.errors import ErrorCodes
from hyperframe.frame import Frame, SettingsFrame

from ._bodies import RequestBody
from ._delivery import Asked, Delivery, Response, pump
from ._endings import Quit, end
from ._h2stream import StreamOver, StreamSink
from ._http import set_header
from ._misdirected import check_tunnelled
from ._proxylog import Connection, Exchange
from ._readers import BLOCK, bounded, drained
from ._refusals import Refusal, refusal_response
from ._routes import Upstream
from .faults import NoSettingsAck, ResponseEngine

__all__ = ["H2Server"]


@dataclass
class _Stream:
    """One client stream: its request as it arrives, and the task answering it."""

    headers: list[tuple[bytes, bytes]]
    body: bytearray = field(default_factory=bytearray)
    task: asyncio.Task[None] | None = None
    exchange: Exchange | None = None


class H2Server:
    """One HTTP/2 connection to ``host``: :meth:`serve` it until it ends (Quit when a fault
    or a protocol error ended it). ``set_host``: name ``host`` in every request (a direct
    port, whatever the client named)."""

    def __init__(
        self,
        delivery: Delivery,
        host: str,
        upstream: Upstream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
        *,
        set_host: bool,
        idle_timeout: float,
        settings_fault: NoSettingsAck | None = None,
    ) -> None:
        self.delivery, self.host, self.upstream = delivery, host, upstream
        self.reader, self.writer, self.conn = reader, writer, conn
        self.set_host, self.idle_timeout = set_host, idle_timeout
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self.h2 = h2.connection.H2Connection(config)
        self.streams: dict[int, _Stream] = {}
        self.answering: set[int] = set()
        self.stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.window = asyncio.Event()
        self.going_away = False
        self.settings_fault = settings_fault
        self.undrained = 0  # DATA bytes written since the client last took what it had

    # -- the connection ---------------------------------------------------

    async def serve(self) -> None:
        self.h2.initiate_connection()
        if self.settings_fault is not None and not self.settings_fault.send_settings:
            self.h2.data_to_send()  # the host's SETTINGS, never sent
            self.conn.frames.append("SETTINGS withheld")
        self.flush()
        # One wait for the connection's life, not one a read: the client's bytes, or a
        # stream's end of it all (a fault's Close, an error), whichever comes first.
        reading = asyncio.ensure_future(self._read_all())
        try:
            await asyncio.wait([reading, self.stopped], return_when=asyncio.FIRST_COMPLETED)
            if self.stopped.done():
                self.stopped.result()  # raises what ended the connection
            reading.result()
        except asyncio.CancelledError:
            # A reset or a stop, as from a server that shuts down: a client (Go's, for one)
            # that sends its next request before it reads the end sends it again elsewhere.
            if not self.writer.transport.is_closing():
                self._go_away(ErrorCodes.NO_ERROR)
            raise
        finally:
            reading.cancel()
            for stream in self.streams.values():
                if stream.task is not None:
                    stream.task.cancel()
            if self.stopped.done():
                self.stopped.exception()  # seen: what ended a stream is no news once over

    async def _read_all(self) -> None:
        while await self._receive():
            await self.flushed()

    async def _receive(self) -> bool:
        """Read and take in the client's next bytes; False once it closed."""
        try:
            data = await bounded(self.reader.read(BLOCK), self.idle_timeout)
        except TimeoutError:
            if self.answering:
                return True  # a response is still on its way: the client waits for it
            raise TimeoutError(f"no HTTP/2 frame for {self.idle_timeout:g} s") from None
        if not data:
            return False
        self.flush()  # the streams' frames first: what h2 queues next answers ``data``
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            await self._refuse(exc)
        if self.settings_fault is not None:
            self._withhold_settings_acks()
        for event in events:
            self._handle(event)
        return True

    async def _refuse(self, exc: h2.exceptions.ProtocolError) -> None:
        """A client broke the protocol: GOAWAY with the code h2 names, then the end."""
        code = ErrorCodes(exc.error_code or ErrorCodes.PROTOCOL_ERROR)
        self.conn.ended = f"goaway {code.name}: {exc}"
        self._go_away(code)
        await end(self.writer, "fin")
        raise Quit

    def _go_away(self, code: ErrorCodes) -> None:
        """A GOAWAY naming the last stream taken, on the wire (h2 queued one already for
        most protocol errors)."""
        if self.h2.state_machine.state is not ConnectionState.CLOSED:
            self.h2.close_connection(error_code=code)
        self.flush()

    def _withhold_settings_acks(self) -> None:
        """NoSettingsAck: h2's answers to the client's frames go out, but for the SETTINGS
        acknowledgements."""
        answers, withheld = without_settings_acks(self.h2.data_to_send())
        self.writer.write(answers)
        self.conn.frames += ["SETTINGS ACK withheld"] * withheld

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self.streams[event.stream_id] = _Stream(list(event.headers or []))
        elif isinstance(event, h2.events.DataReceived):
            self._take_body(event)
        elif isinstance(event, h2.events.StreamEnded):
            stream_id = event.stream_id
            stream = self.streams.get(stream_id)
            if stream is not None:
                self.answering.add(stream_id)
                stream.task = asyncio.ensure_future(self._answer(stream_id, stream))
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self.window.set()
            self.window = asyncio.Event()
        elif isinstance(event, h2.events.StreamReset):
            self._client_reset(event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.going_away = True
            self.close_when_idle()

    def _take_body(self, event: h2.events.DataReceived) -> None:
        """A request body's next bytes; one over MAX_REQUEST_BODY is refused (RST_STREAM
        REFUSED_STREAM), as HTTP/1.1's gets a 413 before it is read."""
        stream_id = event.stream_id
        stream = self.streams.get(stream_id)
        if event.flow_controlled_length:
            self.h2.acknowledge_received_data(event.flow_controlled_length, stream_id)
        if stream is None:
            return
        stream.body += event.data or b""
        if len(stream.body) > self.delivery.max_request_body:
            del self.streams[stream_id]
            self.h2.reset_stream(stream_id, error_code=ErrorCodes.REFUSED_STREAM)

    def _client_reset(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        if stream.exchange is not None and stream.exchange.ended == "open":
            stream.exchange.ended = "client-reset"
        if stream.task is not None:
            stream.task.cancel()

    async def drain(self) -> None:
        """Wait until the client takes what was written, ``idle_timeout`` at most: a client
        that stops reading ends the connection (``client-stalled``), as over HTTP/1.1."""
        try:
            await drained(self.writer, self.idle_timeout)
            self.undrained = 0
        except TimeoutError:
            self.conn.ended = "client-stalled"
            self.writer.transport.abort()
            raise Quit from None

    def flush(self) -> None:
        """Put the frames h2 has queued on the wire, in one write."""
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)

    async def flushed(self) -> None:
        """:meth:`flush`, then :meth:`drain`: on the wire, and taken by the client."""
        self.flush()
        await self.drain()

    def _stop(self, exc: BaseException) -> None:
        if not self.stopped.done():
            self.stopped.set_exception(exc)

    def close_when_idle(self) -> None:
        """After a GOAWAY: once no stream is being answered, the connection ends."""
        if self.answering:
            return
        if self.conn.ended == "open":
            self.conn.ended = "goaway"
        self.writer.close()
        self._stop(Quit())

    # -- one stream -------------------------------------------------------

    async def _answer(self, stream_id: int, stream: _Stream) -> None:
        """Answer one stream; whatever ends the connection ends every stream on it."""
        try:
            await self._respond(stream_id, stream)
        except (asyncio.CancelledError, StreamOver):
            pass
        except BaseException as exc:
            self._stop(exc)
            return
        finally:
            self.answering.discard(stream_id)
            self.streams.pop(stream_id, None)
        if self.going_away:
            self.close_when_idle()

    async def _respond(self, stream_id: int, stream: _Stream) -> None:
        head, method, path = request_head(stream.headers, bytes(stream.body))
        if self.set_host:
            head = set_header(head, b"Host", self.host)
        exchange = Exchange(method, path, bytes_up=len(head), stream=stream_id)
        stream.exchange = exchange
        self.conn.exchanges.append(exchange)
        if not self.set_host:
            try:
                check_tunnelled(head, path, self.host)
            except Refusal as refusal:
                await self._refuse_stream(stream_id, exchange, refusal)
                return
        arrived = asyncio.StreamReader()  # the whole body is here: read as HTTP/1.1's is
        arrived.feed_data(bytes(stream.body))
        arrived.feed_eof()
        body = RequestBody(
            head,
            arrived,
            self.writer,  # never written to: the head asks for no 100-continue
            timeout=self.idle_timeout,
            limit=self.delivery.max_request_body,
        )
        asked = Asked(self.host, self.upstream, head, body, method, path, exchange, http2=True)
        async with self.delivery.respond(asked) as (engine, response):
            sink = StreamSink(self, stream_id, exchange, engine.plan)
            await pump(engine, response, sink.act)
            await sink.end_stream()
        exchange.ended = "ok"

    async def _refuse_stream(self, stream_id: int, exchange: Exchange, refusal: Refusal) -> None:
        """Answer one stream with the Router's own refusal (a 421 for another host's
        request); the connection and its other streams go on."""
        head, _, body = refusal_response(refusal, "Router").partition(b"\r\n\r\n")
        sink = StreamSink(self, stream_id, exchange, None)
        response = Response(head + b"\r\n\r\n", [body])
        await pump(ResponseEngine(None, None), response, sink.act)
        await sink.end_stream()
        exchange.status, exchange.ended = refusal.status.value, refusal.label


def without_settings_acks(data: bytes) -> tuple[bytes, int]:
    """``data``'s frames but its SETTINGS acknowledgements, and how many those were."""
    kept, acks, view = bytearray(), 0, memoryview(data)
    while view:
        frame, length = Frame.parse_frame_header(view[:9])
        if isinstance(frame, SettingsFrame) and "ACK" in frame.flags:
            acks += 1
        else:
            kept += view[: 9 + length]
        view = view[9 + length :]
    return bytes(kept), acks


def request_head(headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[bytes, str, str]:
    """The HTTP/1.1 request a stream's headers stand for: (head, method, path)."""
    pseudo = {name: value for name, value in headers if name.startswith(b":")}
    method = pseudo.get(b":method", b"GET")
    path = pseudo.get(b":path", b"/")
    lines = [b"%s %s HTTP/1.1" % (method, path)]
    if b":authority" in pseudo:
        lines.append(b"Host: " + pseudo[b":authority"])
    # Pseudo-headers become the request line and Host; Expect is dropped: the body is here.
    passed = [(n, v) for n, v in headers if not n.startswith(b":") and n != b"expect"]
    lines += [name + b": " + value for name, value in passed]
    if body and not any(name == b"content-length" for name, _ in headers):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n", method.decode("latin-1"), path.decode("latin-1")
