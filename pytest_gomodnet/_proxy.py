"""What the Router and FaultProxy share: the loop thread, connection tracking, the log.

One asyncio loop in one background thread serves every connection; each is
tracked (so close() and reset() can end it), logged as a :class:`Connection`,
and any error inside it is kept for ``check()``. A request the proxy refuses
(:mod:`._refusals`) is answered on one path here. Exchanges go through
:class:`._delivery.Delivery`; hosts, framings and faults live in
:class:`._routes.Routes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Self, TypedDict, TypeVar

from ._accepts import Accepts
from ._bodies import body_limit
from ._delivery import Delivery
from ._endings import Quit
from ._inprocess import InProcessApp
from ._limits import CLIENT_TIMEOUT, CLOSE_TIMEOUT, MAX_REQUEST_BODY
from ._pool import Pool
from ._proxylog import Connection, ConnectionRecord, LogMark
from ._readers import ClientReader
from ._refusals import Refusal, answer
from ._routes import Plans, Routes, Upstream
from ._workers import Workers
from .errors import ErrorSink, ServerError, raise_errors
from .framing import Framing

__all__ = ["Proxy", "ProxyOptions", "Serve"]

T = TypeVar("T")

#: How a connection is served once accepted.
Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Connection], Awaitable[None]]


class ProxyOptions(TypedDict, total=False):
    """The options every proxy takes (see :class:`Proxy`)."""

    name: str | None
    client_timeout: float
    errors: ErrorSink | None
    max_request_body: int


class Proxy:
    """The shared core. A client gets ``client_timeout`` seconds for each request head (and
    body block), its TLS handshake, an idle keep-alive, and each write; then it is
    disconnected. A body over ``max_request_body`` bytes is answered 413 unread.
    Errors in the loop go to ``errors`` (a sink of its own unless one is shared)."""

    _thread_name = "gomodnet-proxy"

    def __init__(
        self,
        *,
        name: str | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
        errors: ErrorSink | None = None,
        max_request_body: int = MAX_REQUEST_BODY,
    ) -> None:
        limit = body_limit(max_request_body)  # before anything is opened
        self._name = name or self._thread_name
        self._client_timeout = client_timeout
        self._workers = Workers(self._name)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._routes = Routes(self._check_serves)
        self._lock = threading.Lock()
        self._record = ConnectionRecord()
        self._errors = errors if errors is not None else ErrorSink()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepts = Accepts(self._loop, f"{type(self).__name__} {self._name}")
        self._pool = Pool()
        self._delivery = Delivery(self._routes, self._workers, self._pool, client_timeout, limit)

    # -- lifecycle --------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            raise ServerError(f"{type(self).__name__} at {self.url} is already running")
        self._thread = threading.Thread(target=self._loop.run_forever, name=self._name)
        self._thread.start()
        self._call(self._serve(), timeout=5.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Close, then raise every error inside the proxy: never dropped. Unless the block
        raised, a plan that never fired is an error too (UnfiredFaultError)."""
        self.close()
        self._errors.raise_all(self.unfired() if exc_type is None else None)

    def close(self) -> None:
        """Stop serving, end every connection, join the thread."""
        if self._thread is None:
            for listener in [self._listener, *self._more_listeners()]:
                listener.close()
            self._loop.close()
            self._workers.shutdown(wait=False)
            return
        deadline = time.monotonic() + CLOSE_TIMEOUT
        try:
            self._call(self._shutdown(), timeout=CLOSE_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_TIMEOUT)
            if self._thread.is_alive():
                raise ServerError(f"{type(self).__name__} thread did not stop within 1 s")
            self._thread = None
            self._loop.close()
            self._workers.stop(deadline, type(self).__name__)

    def reset(self) -> None:
        """End connections, then forget hosts, faults, log and errors: fresh for the next
        test. A connection arriving meanwhile (or waiting in the backlog) is ended unread."""
        if self._thread is not None:
            self._call(self._drop_connections(), timeout=CLOSE_TIMEOUT)
        self._routes.clear()
        self._record.clear()
        self._errors.drain()
        self._fresh()
        self._accepts.paused = False

    def _fresh(self) -> None:
        """Put back what the proxy serves from the start (a FaultProxy's upstream)."""

    def check(self) -> None:
        """Raise one ServerError naming every error inside the proxy (and the servers that
        share its sink) since the last check, if any."""
        self._errors.raise_all()

    def unfired(self, caller: str = "") -> str | None:
        """A report of every armed plan that had to fire and did not, with what each
        host saw (nearest first); None when every one fired. ``caller`` names the
        object the calls were made on in the pasted-back code (``"gomodnet."``)."""
        return self._routes.faults.report(self._routes.names(), self._label(), caller)

    def fault_scope(self) -> contextlib.AbstractContextManager[None]:
        """Faults armed apart from those armed before, until the end (Routes.fault_scope)."""
        return self._routes.fault_scope()

    def check_fired(self) -> None:
        """Raise UnfiredFaultError if an armed plan that had to fire did not."""
        raise_errors([], self.unfired())

    def _label(self) -> str:
        """How the report names the proxy's host: its own name (the Router's hosts have one)."""
        return ""

    # -- configuration ----------------------------------------------------

    def add_host(
        self,
        host: str,
        upstream_url: str,
        *,
        tls: ssl.SSLContext | None = None,
        app: InProcessApp | None = None,
        inline: bool = False,
        framing: Framing | None = None,
    ) -> None:
        """Route ``host`` to ``upstream_url``; with ``tls``, terminate TLS for it.

        ``framing`` re-frames every response of the host (see ``frame``); None
        sends each as its server framed it.

        ``app`` (a werkzeug ``Request -> Response`` callable) serves the host in
        process instead, in a worker thread: the same responses without a second
        connection and thread per request. ``upstream_url`` stays the address it
        is reachable at from outside. With ``inline``, ``app`` is called on the
        Router's own thread, without the trip to a worker: only for an app that
        never blocks (it would hold up every connection), such as the plugin's
        GoProxy and GoImportHost, which answer from memory and local files.
        """
        self._routes.add(host, upstream_url, tls=tls, app=app, inline=inline, framing=framing)

    def _check_serves(self, name: str, upstream: Upstream, plans: Plans, path: str | None) -> None:
        """FaultPlanError for plans ``name`` can never carry out, the way it is served."""

    @property
    def log(self) -> list[Connection]:
        """Every connection so far that named a host, oldest first; open ones included."""
        return self._record.named()

    def log_mark(self) -> LogMark:
        """Where the log stands now, for :meth:`log_since`."""
        return self._record.mark()

    def log_since(self, mark: LogMark) -> tuple[list[tuple[Connection, int]], list[Connection]]:
        """What the log gained after ``mark`` (see ConnectionRecord.since), in time
        proportional to that, not to the whole log."""
        return self._record.since(mark)

    def format_log(self) -> str:
        return "\n".join(c.describe() for c in self.log)

    # -- the loop thread --------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self) -> None:
        await self._serve_more()
        await self._accepts.serve(self._listener, self._track)

    async def _serve_more(self) -> None:
        """Start any listeners besides the proxy's own port (the Router's direct ports)."""

    def _more_listeners(self) -> list[socket.socket]:
        return []

    async def _shutdown(self) -> None:
        await self._accepts.close_servers()
        await self._drop_connections()

    async def _drop_connections(self) -> None:
        await self._accepts.settle(pause=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT / 2)
        self._pool.drop_all()
        await self._accepts.abort_all()  # those whose handler had not started

    async def _track(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, serve: Serve | None = None
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._client(reader, writer, serve or self._first_request)
        except asyncio.CancelledError:
            writer.transport.abort()
        finally:
            self._tasks.discard(task)

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, serve: Serve
    ) -> None:
        connection = Connection(host="?", mode="?")
        self._record.opened(connection)
        try:
            await serve(reader, writer, connection)
            if connection.ended == "open":
                connection.ended = "client-closed"
        except Quit:
            pass
        except Refusal as refusal:
            await answer(writer, connection, refusal, type(self).__name__)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            if connection.ended == "open":
                connection.ended = "client-error"
        except Exception as exc:  # kept for check(): never lost, never a hang
            self._errors.add(type(self).__name__, exc)
            connection.ended = f"proxy-error: {exc!r}"
        finally:
            connection.seconds = time.monotonic() - connection.started
            for exchange in connection.exchanges:  # none outlives its connection
                if exchange.ended == "open":
                    exchange.ended = connection.ended
            self._record.closed(connection)
            _ended(reader, writer, self._client_timeout)

    async def _first_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        raise NotImplementedError


def _ended(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, grace: float) -> None:
    """End the connection's transport. A close under way gets ``grace`` seconds when it
    still has something to do: a TLS close waits for the client's close_notify
    (asyncio's own limit is 30 s), a plain one for its last bytes to leave. The grace
    is kept by the connection's protocol (``ClientReader.linger``): no task stays
    awake for it, so the Router has nothing to do when the client's close arrives."""
    transport = writer.transport
    if transport.is_closing() and (
        writer.get_extra_info("ssl_object") is not None or transport.get_write_buffer_size()
    ):
        linger = reader.linger if isinstance(reader, ClientReader) else None
        if linger is not None:
            linger(grace)
            return
    transport.abort()
