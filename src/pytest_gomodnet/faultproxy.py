"""The socket side of faults: the Router (forward proxy) and FaultProxy (reverse proxy).

Both run one asyncio loop in one background thread and share one exchange
loop: read a request from the client, take the next fault plan for its host
and path, forward the request to the upstream over a pooled keep-alive
connection (or call the host's handler in process, for hosts added with
``app=``), and pass the response through :class:`faults.ResponseEngine`.

The Router accepts ``CONNECT host:443`` (what the go command sends through
``HTTPS_PROXY``) and absolute-URI plain HTTP requests. For a host added with
a TLS context it terminates TLS itself, so faults land at exact offsets of
the plaintext HTTP response; for a host without one it relays bytes.

Every wait has a deadline, nothing listens anywhere but 127.0.0.1, and
``close()`` ends every connection and joins the thread within a second.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fnmatch
import functools
import io
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import unquote, urlsplit

from werkzeug import Request, Response

from ._gotext import go_quote
from ._http import content_length, drop_header, header, set_header, status_code
from .armed import (
    TUNNEL,
    Armed,
    FaultQueues,
    check_glob,
    check_plans,
    must_fire_count,
    plan_list,
)
from .errors import ChainError, ErrorSink, FaultPlanError, ServerError, raise_errors
from .faults import (
    CONNECTION_FAULTS,
    HTTP_FAULTS,
    Close,
    FaultPlan,
    HandshakeAbort,
    HtmlLogin,
    Refuse,
    ResponseEngine,
    Send,
    Sleep,
    Status,
    synthesized_response,
)
from .framing import Framing, check_framing
from .origin import CLIENT_TIMEOUT
from .tls import check_host

__all__ = ["Connection", "Exchange", "FaultProxy", "Router"]

#: Seconds to connect to an upstream, or to wait for its next bytes.
UPSTREAM_TIMEOUT = 10.0
#: Longest request or response head accepted.
MAX_HEAD = 64 * 1024
#: Seconds close() waits for the loop thread.
CLOSE_TIMEOUT = 1.0
#: What the Router answers a CONNECT it will serve.
_CONNECTED = b"HTTP/1.1 200 Connection established\r\n\r\n"

_CHUNK = 256 * 1024
T = TypeVar("T")


@dataclass
class Exchange:
    """One request and what became of its response."""

    method: str
    path: str
    status: int | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    fault: str | None = None
    ended: str = "open"
    framing: str | None = None
    """How the Router framed the response (None: as the server framed it)."""


@dataclass
class Connection:
    """One client connection through the proxy, as the log keeps it."""

    host: str
    mode: str
    exchanges: list[Exchange] = field(default_factory=list)
    fault: str | None = None
    ended: str = "open"
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None

    def describe(self) -> str:
        took = f"{self.seconds:.3f} s" if self.seconds is not None else "open"
        lines = [f"{self.host} [{self.mode}] ended {self.ended} after {took}"]
        if self.fault:
            lines[0] += f" — connection fault {self.fault}"
        for x in self.exchanges:
            fault = f" fault={x.fault}" if x.fault else ""
            framing = f" framing={x.framing}" if x.framing else ""
            lines.append(
                f"  {x.method} {x.path} → {x.status or '-'}; "
                f"{x.bytes_up} B up, {x.bytes_down} B down; {x.ended}{fault}{framing}"
            )
        return "\n".join(lines)


@dataclass
class _DirectPort:
    """A :meth:`Router.listen` port: which host it serves, with or without TLS."""

    host: str
    tls: bool
    listener: socket.socket
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])


#: How a connection is served once accepted (the Router's own port: CONNECT or plain proxy).
_Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Connection"], Awaitable[None]]


@dataclass
class _Upstream:
    scheme: str
    host: str
    port: int
    tls: ssl.SSLContext | None
    app: InProcessApp | None = None
    inline: bool = False
    framing: Framing | None = None


class _Quit(Exception):
    """The connection is over (a fault closed it, or the client went away)."""


class _BadRequest(Exception):
    """The client sent what no HTTP proxy can parse: it gets a 400, then the connection ends."""


class _HeadTooLong(ConnectionError):
    """A head ran past MAX_HEAD without its blank line."""


class _Proxy:
    """What the Router and FaultProxy share: the loop thread, the exchange loop, the
    fault queues with their must-fire accounting, the log and the error sink.

    A client gets ``client_timeout`` seconds for each request head (and body),
    its TLS handshake, and an idle keep-alive; then it is disconnected. Errors
    in the loop go to ``errors`` (a sink of its own unless one is shared).
    ``frame`` re-frames a host's (and path glob's) responses: Content-Length,
    chunked or close-delimited.
    """

    _thread_name = "gomodnet-proxy"

    def __init__(
        self,
        *,
        name: str | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
        errors: ErrorSink | None = None,
    ) -> None:
        self._name = name or self._thread_name
        self._client_timeout = client_timeout
        self._workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"{self._name}-worker")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._hosts: dict[str, _Upstream] = {}
        self._faults = FaultQueues()
        self._framings: dict[tuple[str, str | None], Framing] = {}
        self._lock = threading.Lock()
        self._log: list[Connection] = []
        self._errors = errors if errors is not None else ErrorSink()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
        self._pool = collections.defaultdict(list)
        self._direct: dict[tuple[str, bool], _DirectPort] = {}

    # -- lifecycle --------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            raise ServerError(f"{type(self).__name__} at {self.url} is already running")
        self._thread = threading.Thread(target=self._loop.run_forever, name=self._name)
        self._thread.start()
        self._server = self._call(self._serve(), timeout=5.0)

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
            self._listener.close()
            for direct in self._direct.values():
                direct.listener.close()
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
            self._stop_workers(deadline)

    def _stop_workers(self, deadline: float) -> None:
        """Join the handler threads by ``deadline``: a handler that will not return is an
        error at close, never a hang (the thread is left to finish on its own)."""
        self._workers.shutdown(wait=False, cancel_futures=True)
        busy = []
        for worker in list(self._workers._threads):
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                busy.append(worker.name)
        if busy:
            raise ServerError(
                f"{type(self).__name__}: a handler was still running 1 s after close() "
                f"(threads {', '.join(busy)}); it is left to finish on its own"
            )

    def reset(self) -> None:
        """Forget hosts, faults, log and errors; end connections: fresh for the next test."""
        with self._lock:
            self._hosts.clear()
            self._framings.clear()
            self._log = []
        self._faults.clear()
        self._errors.drain()
        if self._thread is not None:
            self._call(self._drop_connections(), timeout=CLOSE_TIMEOUT)

    def check(self) -> None:
        """Raise one ServerError naming every error inside the proxy (and the servers that
        share its sink) since the last check, if any."""
        self._errors.raise_all()

    def unfired(self, caller: str = "") -> str | None:
        """A report of every armed plan that had to fire and did not, with what each
        host saw (nearest first); None when every one fired. ``caller`` names the
        object the calls were made on in the pasted-back code (``"gomodnet."``)."""
        with self._lock:
            hosts = list(self._hosts)
        return self._faults.report(hosts, self._label(), caller)

    @contextlib.contextmanager
    def fault_scope(self) -> Iterator[None]:
        """Arm, take and account for faults apart from those armed before, until the end.

        Plans armed before wait, untouched, and apply again afterwards; plans
        armed inside and never taken are dropped at the end, so check
        :meth:`unfired` before leaving. One hypothesis example is one scope.
        """
        outer, self._faults = self._faults, FaultQueues()
        try:
            yield
        finally:
            self._faults = outer

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

        ``framing`` re-frames every response of the host (see :meth:`frame`);
        None sends each as its server framed it.

        ``app`` (a werkzeug ``Request -> Response`` callable) serves the host in
        process instead, in a worker thread: the same responses without a second
        connection and thread per request. ``upstream_url`` stays the address it
        is reachable at from outside. With ``inline``, ``app`` is called on the
        Router's own thread, without the trip to a worker: only for an app that
        never blocks (it would hold up every connection), such as the plugin's
        GoProxy and GoImportHost, which answer from memory and local files.
        """
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"upstream_url {upstream_url!r} must be http:// or https://HOST[:PORT]"
            )
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"upstream_url {upstream_url!r} is not on loopback: refusing to route there"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        name = _host_name(host)
        if framing is not None:
            check_framing(framing)
        inline = inline and app is not None
        upstream = _Upstream(parts.scheme, parts.hostname, port, tls, app, inline, framing)
        for armed in self._faults.armed_on(name):
            self._check_serves(name, upstream, armed.plans, armed.glob)
        with self._lock:
            self._hosts[name] = upstream
            for key in [key for key in self._framings if key[0] == name]:
                del self._framings[key]

    def listen(self, host: str, *, tls: bool = True) -> int:
        """A port on 127.0.0.1 that serves ``host`` to a client that cannot use a forward proxy.

        Each connection it accepts is served as if it had come through the Router:
        with ``tls``, as after ``CONNECT host:443`` (the host's chain, connection
        faults, TLS faults); without, as ``http://host/...`` requests. Either way
        the exchanges take ``host``'s fault queues and land in the same log, and
        every request reaches ``host`` whatever Host header it names. The host is
        looked up per connection, so the port outlives :meth:`reset` (a client
        configured once, such as a mirror started for a session, keeps working).
        The same arguments give the same port.
        """
        name = _host_name(host)
        with self._lock:
            direct = self._direct.get((name, tls))
            if direct is None:
                direct = _DirectPort(name, tls, socket.create_server(("127.0.0.1", 0)))
                self._direct[(name, tls)] = direct
                start = self._thread is not None
            else:
                start = False
        if start:
            self._call(self._serve_direct(direct), timeout=5.0)
        return direct.port

    def _frame(self, host: str, framing: Framing | None, path: str | None) -> None:
        """Frame ``host``'s responses (those for ``path``, a glob, if given) as ``framing``.

        ``"content-length"``, ``"chunked"`` or ``"close"`` (no length, ``Connection:
        close``: the end of the body is the end of the connection). Faults then count
        the framed bytes. A path's framing comes before the host's; None removes this
        one, so the host's (or the server's own) applies again.
        """
        name = _host_name(host)
        if framing is not None:
            check_framing(framing)
        with self._lock:
            if framing is None:
                self._framings.pop((name, path), None)
            else:
                self._framings[(name, path)] = framing

    def _arm(
        self,
        name: str,
        plans: tuple[FaultPlan | None, ...],
        path: str | None,
        must_fire: bool | int,
        call: str,
    ) -> None:
        """Check ``plans`` where they are given, then queue them on ``name`` (and ``path``)."""
        check_plans(plans)
        check_glob(path)
        count = must_fire_count(must_fire, plans)
        for plan in plans:
            if path is not None and isinstance(plan, CONNECTION_FAULTS):
                raise FaultPlanError(
                    f"{plan!r} happens before any request is read, so it cannot take path={path!r}"
                )
        with self._lock:
            upstream = self._hosts.get(name)
        if upstream is not None:
            self._check_serves(name, upstream, plans, path)
        self._faults.arm(Armed(name, path, plans, count, call))

    def _check_serves(
        self, name: str, upstream: _Upstream, plans: tuple[FaultPlan | None, ...], path: str | None
    ) -> None:
        """FaultPlanError for plans ``name`` can never carry out, the way it is served."""
        if not _relayed(upstream):
            return
        if path is not None:
            raise FaultPlanError(
                f"{name} is relayed byte for byte (its upstream serves its own TLS), so the "
                f"Router never sees a request path: drop path={path!r}, or add the host with "
                "an http:// upstream for the Router to terminate TLS"
            )
        for plan in plans:
            if isinstance(plan, HTTP_FAULTS):
                raise FaultPlanError(
                    f"{plan!r} rewrites HTTP, but {name} is relayed byte for byte (its upstream "
                    "serves its own TLS): add the host with an http:// upstream for HTTP faults"
                )

    @property
    def log(self) -> list[Connection]:
        """Every connection so far that named a host, oldest first; open ones included."""
        with self._lock:
            return [c for c in self._log if c.host != "?"]

    def format_log(self) -> str:
        return "\n".join(c.describe() for c in self.log)

    # -- plan selection ---------------------------------------------------

    def _connection_plan(self, host: str) -> FaultPlan | None:
        return self._faults.connection_plan(host)

    def _exchange_plan(self, host: str, path: str) -> FaultPlan | None:
        return self._faults.exchange_plan(host, path)

    def _framing(self, host: str, path: str, upstream: _Upstream) -> Framing | None:
        with self._lock:
            for (framed_host, pattern), framing in self._framings.items():
                if framed_host == host and pattern and fnmatch.fnmatchcase(path, pattern):
                    return framing
            return self._framings.get((host, None), upstream.framing)

    # -- the loop thread --------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self) -> asyncio.Server:
        for direct in list(self._direct.values()):
            await self._serve_direct(direct)
        return await asyncio.start_server(self._track, sock=self._listener, limit=MAX_HEAD)

    async def _serve_direct(self, direct: _DirectPort) -> None:
        serve = functools.partial(self._direct_client, direct.host, direct.tls)
        handler = functools.partial(self._track, serve=serve)
        direct.server = await asyncio.start_server(handler, sock=direct.listener, limit=MAX_HEAD)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for direct in self._direct.values():
            if direct.server is not None:
                direct.server.close()
        await self._drop_connections()

    async def _drop_connections(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT / 2)
        for idle in self._pool.values():
            for _, writer in idle:
                writer.transport.abort()
        self._pool.clear()

    async def _track(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        serve: _Serve | None = None,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        # asyncio sets TCP_NODELAY only when sock.proto is IPPROTO_TCP, and sockets
        # accepted from socket.create_server() have proto 0: without this, Nagle holds
        # a response body back until the client's delayed ACK, 40 ms per exchange.
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._client(reader, writer, serve or self._first_request)
        except asyncio.CancelledError:
            writer.transport.abort()
        finally:
            self._tasks.discard(task)

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, serve: _Serve
    ) -> None:
        connection = Connection(host="?", mode="?")
        with self._lock:
            self._log.append(connection)
        try:
            await serve(reader, writer, connection)
            if connection.ended == "open":
                connection.ended = "client-closed"
        except _Quit:
            pass
        except _BadRequest as exc:
            connection.ended = "bad-request"
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await _reply(writer, 400, f"gomodnet {type(self).__name__}: {exc}\n")
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            if connection.ended == "open":
                connection.ended = "client-error"
        except Exception as exc:  # kept for check(): never lost, never a hang
            self._errors.add(type(self).__name__, exc)
            connection.ended = f"proxy-error: {exc!r}"
        finally:
            connection.seconds = time.monotonic() - connection.started
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def _first_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        head = await _read_request_head(reader, self._client_timeout)
        if head is None:
            raise _Quit
        method, target = _request_target(head)
        if method == "CONNECT":
            await self._tunnel(target, reader, writer, conn)
        else:
            await self._plain(head, method, target, reader, writer, conn)

    async def _tunnel(
        self,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise _BadRequest(f"malformed CONNECT target {target[:200]!r}")
        host = host.strip("[]").lower()
        await self._serve_host(host, target, reader, writer, conn, connected=_CONNECTED)

    async def _direct_client(
        self,
        host: str,
        tls: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """A connection to a :meth:`listen` port: as if it had come through the Router."""
        if tls:
            await self._serve_host(host, f"{host}:443", reader, writer, conn, connected=None)
        else:
            await self._http_requests(host, reader, writer, conn)

    async def _serve_host(
        self,
        host: str,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
        *,
        connected: bytes | None,
    ) -> None:
        """Serve a tunnel to ``host``: its connection fault, then TLS and its exchanges (or a
        relay). ``connected`` is the answer to the client's CONNECT (None: a direct port,
        where the Host header is set to ``host``)."""
        upstream = self._hosts.get(host)
        if upstream is None:
            if connected is not None:
                await _reply(writer, 502, f"gomodnet Router: unknown host {host!r}\n")
            raise _Quit
        conn.host, conn.mode = host, "tls" if upstream.tls else "relay"
        plan = self._connection_plan(host)
        if isinstance(plan, Refuse):
            conn.fault, conn.ended = repr(plan), "rst"
            _reset(writer)
            raise _Quit
        if connected is not None:
            writer.write(connected)
            await writer.drain()
        if isinstance(plan, HandshakeAbort):
            await _client_spoke(reader, self._client_timeout)  # its ClientHello: a FIN, no RST
            conn.fault, conn.ended = repr(plan), "handshake-abort"
            writer.close()
            raise _Quit
        if upstream.tls is None:
            await self._relay(upstream, target, reader, writer, conn)
            return
        await writer.start_tls(upstream.tls, ssl_handshake_timeout=self._client_timeout)
        while True:
            head = await _read_request_head(reader, self._client_timeout)
            if head is None:
                return
            method, target = _request_target(head)
            if connected is None:
                head = set_header(head, b"Host", host)
            await self._exchange(host, upstream, head, method, target, reader, writer, conn)

    async def _http_requests(
        self,
        host: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """Plain-HTTP requests to a :meth:`listen` port without TLS, each sent to ``host``."""
        while (head := await _read_request_head(reader, self._client_timeout)) is not None:
            method, target = _request_target(head)
            upstream = self._hosts.get(host)
            if upstream is None:
                await _reply(writer, 502, f"gomodnet Router: unknown host {host!r}\n")
                raise _Quit
            conn.host, conn.mode = host, "http"
            head = set_header(head, b"Host", host)
            await self._exchange(host, upstream, head, method, target, reader, writer, conn)

    async def _plain(
        self,
        head: bytes,
        method: str,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        while True:
            try:
                parts = urlsplit(target)
            except ValueError:
                raise _BadRequest(f"malformed request target {target[:200]!r}") from None
            if not parts.scheme or not parts.hostname:
                raise _BadRequest(
                    f"a proxy request needs an absolute http:// URI, not {target[:200]!r}"
                )
            host = parts.hostname.lower()
            upstream = self._hosts.get(host)
            if parts.scheme != "http" or upstream is None:
                await _reply(writer, 502, f"gomodnet Router: unknown host {host or target!r}\n")
                raise _Quit
            conn.host, conn.mode = host, "http"
            # A plain request opens no tunnel: a Refuse meets the connection's first request.
            refuse = None if conn.exchanges else self._faults.connection_plan(host, (Refuse,))
            if refuse is not None:
                conn.fault, conn.ended = repr(refuse), "rst"
                _reset(writer)
                raise _Quit
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            head = _with_target(head, path)
            await self._exchange(host, upstream, head, method, path, reader, writer, conn)
            next_head = await _read_request_head(reader, self._client_timeout)
            if next_head is None:
                return
            head = next_head
            method, target = _request_target(head)

    async def _exchange(
        self,
        host: str,
        upstream: _Upstream,
        head: bytes,
        method: str,
        path: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        exchange = Exchange(method, path, bytes_up=len(head))
        conn.exchanges.append(exchange)
        try:
            body = await _read_request_body(head, reader, self._client_timeout)
            request = _werkzeug_request(host, head, body) if upstream.app else None
        except _BadRequest as exc:
            exchange.status, exchange.ended, conn.ended = 400, "fin", "fin"
            exchange.bytes_down = await _reply(
                writer, 400, f"gomodnet {type(self).__name__}: {exc}\n"
            )
            raise _Quit from None
        exchange.bytes_up += len(body)
        plan = self._exchange_plan(host, path.split("?", 1)[0])
        exchange.fault = repr(plan) if plan is not None else None
        framing = self._framing(host, path.split("?", 1)[0], upstream)
        if framing == "chunked" and head.split(b"\r\n", 1)[0].endswith(b" HTTP/1.0"):
            framing = "close"  # HTTP/1.0 has no chunked: servers fall back to the close
        if isinstance(plan, (Status, HtmlLogin)):
            response = synthesized_response(plan)
            exchange.status = status_code(response)
            response_head, _, response_body = response.partition(b"\r\n\r\n")
            response_head += b"\r\n\r\n"
            exchange.framing = _framing_of(response_head, method, framing)
            await self._deliver(
                ResponseEngine(None, exchange.framing),
                response_head,
                writer,
                exchange,
                conn,
                ready=[response_body],
                client_closes=_client_closes(head),
            )
            return
        if upstream.app is not None and request is not None:
            inline = upstream.inline and _names_host(head, host)
            served = await _in_process(self._workers, upstream.app, request, inline)
            try:
                exchange.status = status_code(served.head)
                exchange.framing = _framing_of(served.head, method, framing)
                engine = ResponseEngine(plan, exchange.framing)
                response_head, ready = served.head, served.batch
                rest = None if served.ended else served.rest(self._workers)
                if _needs_length(engine, response_head):
                    response_head, ready, rest = await _measured(response_head, ready, rest)
                await self._deliver(
                    engine,
                    response_head,
                    writer,
                    exchange,
                    conn,
                    ready=ready,
                    rest=rest,
                    client_closes=_client_closes(head),
                )
            finally:
                served.close()
            return
        pooled = _Pooled(self._pool, upstream)
        async with pooled as (up_reader, up_writer):
            up_writer.write(head + body)
            await up_writer.drain()
            upstream_head = await _read_head(up_reader, UPSTREAM_TIMEOUT)
            if upstream_head is None:
                raise ConnectionError(f"upstream of {host!r} closed without a response")
            response_head = upstream_head
            exchange.status = status_code(response_head)
            exchange.framing = _framing_of(response_head, method, framing)
            engine = ResponseEngine(plan, exchange.framing)
            payload = exchange.framing is not None
            chunks = _response_body(response_head, method, up_reader, payload=payload)
            if _closes(response_head) and (payload or _framed(response_head, method)):
                # Connection is hop-by-hop: the upstream may close, the client keeps its
                # connection (as the real services do), so only the pooled side is dropped.
                response_head = drop_header(response_head, b"connection")
                pooled.discard()
            measured: list[bytes] = []
            if _needs_length(engine, response_head):
                response_head, measured, chunks = await _measured(response_head, [], chunks)
            await self._deliver(
                engine,
                response_head,
                writer,
                exchange,
                conn,
                ready=measured,
                rest=chunks,
                client_closes=_client_closes(head),
            )

    async def _deliver(
        self,
        engine: ResponseEngine,
        head: bytes,
        writer: asyncio.StreamWriter,
        exchange: Exchange,
        conn: Connection,
        *,
        ready: list[bytes] | None = None,
        rest: AsyncIterator[bytes] | None = None,
        client_closes: bool = False,
    ) -> None:
        """Pass one response through the engine.

        The body blocks already ``ready`` go out with the head (in one write, when
        no fault comes between), then the ``rest`` as it arrives.
        """
        actions = engine.start(head)
        for block in ready or ():
            actions += engine.feed(block)
        await self._act(actions, writer, exchange, conn)
        if rest is not None:
            async for chunk in rest:
                if engine.done:
                    break
                await self._act(engine.feed(chunk), writer, exchange, conn)
        await self._act(engine.finish(), writer, exchange, conn)
        exchange.ended = "ok"
        if _closes(engine.head) or client_closes:
            exchange.ended = conn.ended = "fin"
            writer.close()
            raise _Quit

    async def _act(
        self, actions: list[Any], writer: asyncio.StreamWriter, exchange: Exchange, conn: Connection
    ) -> None:
        """Carry out the engine's actions; Sends in a row go out as one write."""
        unsent: list[bytes] = []
        for action in actions:
            if isinstance(action, Send):
                unsent.append(action.data)
                continue
            await _send(writer, unsent, exchange)
            if isinstance(action, Sleep):
                await asyncio.sleep(action.seconds)
            elif isinstance(action, Close):
                exchange.ended = conn.ended = action.how
                await _end(writer, action.how)
                raise _Quit
        await _send(writer, unsent, exchange)

    async def _relay(
        self,
        upstream: _Upstream,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """Relay the tunnel's bytes both ways, untouched unless the host has a plan.

        The plan acts on the bytes coming back, so its offsets count relayed (TLS)
        bytes; plans that rewrite HTTP need the Router to terminate TLS instead.
        """
        plan = self._exchange_plan(conn.host, TUNNEL)
        if isinstance(plan, HTTP_FAULTS):
            raise FaultPlanError(
                f"{plan!r} rewrites HTTP, but the Router relays {conn.host}'s bytes untouched: "
                "add the host with tls= for HTTP faults"
            )
        framing = self._framing(conn.host, "", upstream)
        if framing is not None:
            raise FaultPlanError(
                f"framing={framing!r} re-frames HTTP, but the Router relays {conn.host}'s "
                "bytes untouched: add the host with tls= to frame its responses"
            )
        tunnel = Exchange("CONNECT", target, fault=repr(plan) if plan is not None else None)
        conn.exchanges.append(tunnel)
        engine = ResponseEngine(plan)
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(upstream.host, upstream.port), UPSTREAM_TIMEOUT
        )
        idle = _Idle(self._client_timeout)
        upward = asyncio.ensure_future(_pipe(reader, up_writer, tunnel, idle))
        try:
            await self._act(engine.start(b""), writer, tunnel, conn)
            while data := await idle.bound(up_reader.read(_CHUNK)):
                await self._act(engine.feed(data), writer, tunnel, conn)
            await self._act(engine.finish(), writer, tunnel, conn)
            tunnel.ended, conn.ended = "ok", "fin"  # logged before the client can see the end
            _write_eof(writer)
            await idle.bound(upward)
        except TimeoutError:
            tunnel.ended = conn.ended = "deadline"
            raise
        finally:
            upward.cancel()
            up_writer.transport.abort()


class Router(_Proxy):
    """A forward proxy on 127.0.0.1:0 that routes host names to local upstreams.

    ``add_host(name, "http://127.0.0.1:PORT", tls=ctx)`` serves ``name`` with
    TLS from ``ctx`` in front of a plain-HTTP upstream (the Host header is
    kept, so one upstream can play many hosts). ``fault(name, *plans,
    path=None)`` queues plans: each exchange with that host (and path glob)
    takes the next one; ``None`` means clean. ``frame(name, framing, path=None)``
    re-frames that host's (and path glob's) responses.
    """

    _thread_name = "gomodnet-router"

    def fault(
        self,
        host: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
    ) -> None:
        """Queue ``plans`` for ``host`` (and ``path``, a glob over the request path without
        its query, such as ``*.zip``), replacing any.

        Each plan must be taken by a connection or an exchange before the test
        ends, or it is an error (UnfiredFaultError): ``must_fire=False`` lets
        them all stay unused, ``must_fire=n`` only the ones after the first n.
        """
        name = _host_name(host)
        self._arm(name, plans, path, must_fire, _call_text((host, *plans), path, must_fire))

    def frame(self, host: str, framing: Framing | None, *, path: str | None = None) -> None:
        """Frame ``host``'s responses (those for ``path``, a glob, if given) as ``framing``:
        ``"content-length"``, ``"chunked"`` or ``"close"``; None removes it."""
        self._frame(host, framing, path)


class FaultProxy(_Proxy):
    """The same fault engine as a reverse proxy in front of one upstream URL.

    For clients that take a base URL and no proxy: point them at
    :attr:`url`. Faults are set with ``fault(*plans, path=None)``, with the
    same rules as :meth:`Router.fault`. With ``tls``, it serves HTTPS:
    ``HandshakeAbort()`` closes a connection before its handshake.
    Framing is set with ``framing=`` or ``frame(framing, path=None)``.
    """

    _thread_name = "gomodnet-faultproxy"
    _HOST = "upstream"

    def __init__(
        self,
        upstream_url: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
        tls: ssl.SSLContext | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
        errors: ErrorSink | None = None,
        framing: Framing | None = None,
    ) -> None:
        super().__init__(client_timeout=client_timeout, errors=errors)
        self.upstream_url = upstream_url.rstrip("/")
        self._tls = tls
        self._framing_default = framing
        try:
            self.add_host(self._HOST, upstream_url, framing=framing)
            if plans:
                self.fault(*plans, path=path, must_fire=must_fire)
        except BaseException:
            self.close()  # the listener, loop and workers made above
            raise

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def fault(
        self, *plans: FaultPlan | None, path: str | None = None, must_fire: bool | int = True
    ) -> None:
        """Queue ``plans`` for the exchanges (and ``path``, a glob over the path the client
        asks this proxy for, without its query), replacing any; see :meth:`Router.fault`."""
        self._arm(self._HOST, plans, path, must_fire, _call_text(plans, path, must_fire))

    def frame(self, framing: Framing | None, *, path: str | None = None) -> None:
        """Frame the responses (those for ``path``, a glob) as ``framing``; see
        :meth:`Router.frame`."""
        self._frame(self._HOST, framing, path)

    def reset(self) -> None:
        super().reset()
        self.add_host(self._HOST, self.upstream_url, framing=self._framing_default)

    def _label(self) -> str:
        return f"FaultProxy {self.url} → {self.upstream_url}"

    def _check_serves(
        self, name: str, upstream: _Upstream, plans: tuple[FaultPlan | None, ...], path: str | None
    ) -> None:
        if self._tls is None and any(isinstance(p, HandshakeAbort) for p in plans):
            raise FaultPlanError(
                f"HandshakeAbort() closes a connection before its TLS handshake, but this "
                f"FaultProxy serves plain HTTP at {self.url}: pass tls= to serve HTTPS, or use "
                "CloseBeforeResponse()"
            )

    async def _first_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        upstream = self._hosts[self._HOST]
        conn.host, conn.mode = self.upstream_url, "reverse"
        plan = self._connection_plan(self._HOST)
        if plan is not None:
            # As at the Router, the fault meets a client that has asked (sent its request
            # or its ClientHello) and waits: a RST, or a FIN with nothing left unread.
            await _client_spoke(reader, self._client_timeout)
        if isinstance(plan, Refuse):
            conn.fault, conn.ended = repr(plan), "rst"
            _reset(writer)
            raise _Quit
        if isinstance(plan, HandshakeAbort):
            conn.fault, conn.ended = repr(plan), "handshake-abort"
            writer.close()
            raise _Quit
        if self._tls is not None:
            await writer.start_tls(self._tls, ssl_handshake_timeout=self._client_timeout)
        prefix = urlsplit(self.upstream_url).path
        while True:
            head = await _read_request_head(reader, self._client_timeout)
            if head is None:
                return
            method, target = _request_target(head)
            head = _with_target(head, prefix + target)
            head = set_header(head, b"Host", f"{upstream.host}:{upstream.port}")
            await self._exchange(self._HOST, upstream, head, method, target, reader, writer, conn)


class _Pooled:
    """Borrow a keep-alive connection to an upstream; give it back only if reusable."""

    def __init__(
        self,
        pool: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
        upstream: _Upstream,
    ) -> None:
        self._pool, self._key = pool, (upstream.host, upstream.port)
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._reusable = True

    def discard(self) -> None:
        """The upstream said it will close: do not give this connection back."""
        self._reusable = False

    async def __aenter__(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        idle = self._pool[self._key]
        while idle:
            reader, writer = idle.pop()
            if not writer.transport.is_closing() and not reader.at_eof():
                self._conn = (reader, writer)
                return self._conn
            writer.transport.abort()
        self._conn = await asyncio.wait_for(
            asyncio.open_connection(*self._key, limit=MAX_HEAD), UPSTREAM_TIMEOUT
        )
        return self._conn

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        assert self._conn is not None
        # Only a response read to its end leaves the connection at a request boundary.
        if self._reusable and exc_type is None and not self._conn[1].transport.is_closing():
            self._pool[self._key].append(self._conn)
        else:
            self._conn[1].transport.abort()


# --- serving in process ----------------------------------------------------------

#: A virtual host's handler, called in a worker thread: werkzeug request in, response out.
InProcessApp = Callable[[Request], Response]


async def _in_process(
    workers: ThreadPoolExecutor,
    app: InProcessApp,
    request: Request,
    inline: bool,
) -> _Served:
    """Call ``app`` for one request; its response with the first blocks of the body.

    One trip to a worker thread calls the app and reads the first blocks (all of
    them, for most responses): each trip costs two thread switches, more than
    anything else an exchange does. An ``inline`` app (one
    that never blocks) is called right here on the loop thread, with no trip.
    """
    if inline:
        return _Served.call(app, request)
    loop = asyncio.get_running_loop()
    pending = loop.run_in_executor(workers, _Served.call, app, request)
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(_close_when_served)
        raise


@dataclass
class _Served:
    """A response from an in-process app: its head, and its body read in batches."""

    response: Response
    head: bytes
    blocks: Iterator[bytes]
    batch: list[bytes]
    ended: bool
    _reading: asyncio.Future[tuple[list[bytes], bool]] | None = None

    @classmethod
    def call(cls, app: InProcessApp, request: Request) -> _Served:
        """The app's response, with the first batch of its body already read."""
        response = app(request)
        try:
            # As werkzeug serves it: no body for HEAD, 1xx, 204 or 304 (a keep-alive
            # client would read one as the start of the next response).
            status = response.status_code
            bodiless = request.method == "HEAD" or status < 200 or status in (204, 304)
            blocks = iter(()) if bodiless else iter(response.iter_encoded())
            batch, ended = _next_batch(blocks)
        except BaseException:
            response.close()
            raise
        return cls(response, _response_head(response), blocks, batch, ended)

    async def rest(self, workers: ThreadPoolExecutor) -> AsyncIterator[bytes]:
        """The body after the first batch, read in a worker (it may read a file).

        Each batch is read while the one before it goes out, so reading the file
        and sending overlap: a large zip is never waiting on both at once.
        """
        loop = asyncio.get_running_loop()
        while not self.ended:
            if self._reading is None:
                self._reading = loop.run_in_executor(workers, _next_batch, self.blocks)
            batch, self.ended = await asyncio.shield(self._reading)
            self._reading = None
            if not self.ended:
                self._reading = loop.run_in_executor(workers, _next_batch, self.blocks)
            for block in batch:
                yield block

    def close(self) -> None:
        """Close the response now, or once a worker inside its body's generator returns.

        Closing a generator that another thread is running raises "generator
        already executing": a cancelled exchange, or a batch read ahead, may leave
        a worker in there.
        """
        if self._reading is None:
            self.response.close()
        else:
            self._reading.add_done_callback(self._close_after_reading)

    def _close_after_reading(self, reading: asyncio.Future[tuple[list[bytes], bool]]) -> None:
        if not reading.cancelled():
            reading.exception()  # a batch nobody will send: its error is not news
        self.response.close()


def _next_batch(blocks: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """The next non-empty blocks, up to about _CHUNK bytes; and whether the body ended."""
    batch, size = [], 0
    for block in blocks:
        if block:
            batch.append(block)
            size += len(block)
            if size >= _CHUNK:
                return batch, False
    return batch, True


def _close_when_served(pending: asyncio.Future[_Served]) -> None:
    """A cancelled exchange's response still arrives: close it (and its file) then."""
    if not pending.cancelled() and pending.exception() is None:
        pending.result().close()


def _names_host(head: bytes, host: str) -> bool:
    """Whether the request's Host header names ``host`` (so the Origin routes it there)."""
    value = (header(head, b"host") or b"").decode("latin-1").lower()
    return value == host or value.rpartition(":")[0] == host


def _werkzeug_request(host: str, head: bytes, body: bytes) -> Request:
    """The request as werkzeug's own server would build its WSGI environ, for https://host.

    Built by hand: werkzeug's EnvironBuilder costs more than the rest of an exchange.
    """
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, protocol = lines[0].split(" ", 2)
    path, _, query = target.partition("?")
    if not target.startswith("/"):  # absolute form: werkzeug's server keeps only its path
        try:
            parts = urlsplit(target)
        except ValueError:  # a target urlsplit rejects, such as http://[::1/
            raise _BadRequest(f"malformed request target {target[:200]!r}") from None
        path, query = parts.path, parts.query
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _wsgi_text(unquote(path)),
        "QUERY_STRING": _wsgi_text(query),
        "REQUEST_URI": target,
        "RAW_URI": target,
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": protocol,
        "HTTP_HOST": host,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    seen: set[str] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or "_" in name:  # werkzeug's server drops these (they could spoof others)
            continue
        key = name.strip().upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = value.strip()
        environ[key] = f"{environ[key]},{value}" if key in seen else value
        seen.add(key)
    if "CONTENT_LENGTH" in environ or body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return Request(environ)


def _wsgi_text(text: str) -> str:
    """PEP 3333: WSGI carries text as the latin-1 code points of its UTF-8 bytes."""
    return text.encode().decode("latin-1")


def _response_head(response: Response) -> bytes:
    lines = [f"HTTP/1.1 {response.status}"]
    for name, value in response.headers.items():
        if name.lower() not in ("connection", "transfer-encoding"):
            lines.append(f"{name}: {value}")
    if "Content-Length" not in response.headers:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- HTTP framing helpers -----------------------------------------------------


async def _bounded(awaitable: Awaitable[T], seconds: float) -> T:
    """``asyncio.wait_for`` without its task per call (it waits on every read here)."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def _read_head(reader: asyncio.StreamReader, timeout: float) -> bytes | None:
    """Read up to and including the blank line; None on a clean EOF before any byte."""
    try:
        head = await _bounded(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    except asyncio.LimitOverrunError:
        raise _HeadTooLong(f"head longer than {MAX_HEAD} bytes") from None
    return head


async def _read_request_head(reader: asyncio.StreamReader, timeout: float) -> bytes | None:
    """A client's request head (None on a clean EOF); an endless one is a bad request."""
    try:
        return await _read_head(reader, timeout)
    except _HeadTooLong:
        raise _BadRequest(f"request head longer than {MAX_HEAD} bytes") from None


def _request_target(head: bytes) -> tuple[str, str]:
    """(method, target) of a request line, or _BadRequest if it is not HTTP/1.x."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(f"malformed request line {request_line[:200]!r}")
    return parts[0], parts[1]


async def _client_spoke(reader: asyncio.StreamReader, timeout: float) -> None:
    """Read what the client has sent first (a request head, a ClientHello), for ``timeout``
    at most: a close then ends a connection with nothing unread, which the kernel would
    otherwise answer with a RST."""
    with contextlib.suppress(TimeoutError):
        await _bounded(reader.read(MAX_HEAD), timeout)


def _relayed(upstream: _Upstream) -> bool:
    """Whether a CONNECT to this host is relayed byte for byte (no TLS of the Router's)."""
    return upstream.tls is None and upstream.app is None and upstream.scheme == "https"


def _call_text(args: tuple[object, ...], path: str | None, must_fire: bool | int) -> str:
    """A fault() call as code to paste back."""
    words = ([plan_list(args)] if args else []) + ([f"path={path!r}"] if path is not None else [])
    words += [f"must_fire={must_fire!r}"] if must_fire is not True else []
    return f"fault({', '.join(words)})"


def _host_name(host: str) -> str:
    """``host`` as the Router keys it (lower case), or ValueError naming the rule broken."""
    if isinstance(host, str) and host.startswith("*"):
        raise ValueError(f"invalid host {go_quote(host)}: a Router routes one name, not a wildcard")
    try:
        return check_host(host)
    except ChainError as exc:  # the same rules as a certificate's names, as a ValueError
        raise ValueError(str(exc)) from None


def _with_target(head: bytes, target: str) -> bytes:
    line, rest = head.split(b"\r\n", 1)
    method, _, version = line.split(b" ")
    return b" ".join((method, target.encode("latin-1"), version)) + b"\r\n" + rest


def _bodiless(head: bytes, method: str) -> bool:
    """Whether the response has no body, whatever its headers say (HEAD, 1xx, 204, 304)."""
    status = status_code(head)
    return method == "HEAD" or status in (204, 304) or 100 <= status < 200


def _framed(head: bytes, method: str) -> bool:
    """Whether the response's end is known without the connection closing."""
    if _bodiless(head, method):
        return True
    chunked = (header(head, b"transfer-encoding") or b"").lower() == b"chunked"
    return chunked or header(head, b"content-length") is not None


def _framing_of(head: bytes, method: str, framing: Framing | None) -> Framing | None:
    """``framing``, unless the response has no body to frame."""
    return None if _bodiless(head, method) else framing


def _needs_length(engine: ResponseEngine, head: bytes) -> bool:
    """Whether the engine must frame with a Content-Length the server did not give."""
    return engine.framing == "content-length" and content_length(head) is None


async def _measured(
    head: bytes, ready: list[bytes], rest: AsyncIterator[bytes] | None
) -> tuple[bytes, list[bytes], None]:
    """Read a payload of unknown length whole, so a Content-Length can be put on it."""
    blocks = list(ready)
    if rest is not None:
        blocks += [block async for block in rest]
    length = sum(map(len, blocks))
    return set_header(head, b"Content-Length", str(length)), blocks, None


def _closes(head: bytes) -> bool:
    return (header(head, b"connection") or b"").lower() == b"close"


def _client_closes(request_head: bytes) -> bool:
    """Whether the client expects the connection to end after this exchange:
    it said so, or it speaks HTTP/1.0 and did not ask for keep-alive."""
    connection = (header(request_head, b"connection") or b"").lower()
    if request_head.split(b"\r\n", 1)[0].endswith(b" HTTP/1.0"):
        return connection != b"keep-alive"
    return connection == b"close"


async def _read_request_body(head: bytes, reader: asyncio.StreamReader, timeout: float) -> bytes:
    length = header(head, b"content-length")
    if length is None:
        return b""
    if not length.isdigit():
        raise _BadRequest(f"malformed Content-Length {length.decode('latin-1')[:200]!r}")
    return await _bounded(reader.readexactly(int(length)), timeout)


async def _response_body(
    head: bytes, method: str, reader: asyncio.StreamReader, *, payload: bool = False
) -> Any:
    """Yield the body bytes of a response exactly as framed on the wire; with
    ``payload``, without the chunked framing (the Router frames it anew)."""
    if _bodiless(head, method):
        return
    length = header(head, b"content-length")
    if length is not None:
        left = int(length)
        while left:
            data = await _bounded(reader.read(min(left, _CHUNK)), UPSTREAM_TIMEOUT)
            if not data:
                raise ConnectionError("upstream closed mid-body")
            left -= len(data)
            yield data
    elif (header(head, b"transfer-encoding") or b"").lower() == b"chunked":
        while True:
            size_line = await _bounded(reader.readuntil(b"\r\n"), UPSTREAM_TIMEOUT)
            size = int(size_line.split(b";")[0], 16)
            data = await _bounded(reader.readexactly(size + 2), UPSTREAM_TIMEOUT)
            if size == 0:
                trailer = data
                while trailer != b"\r\n":
                    trailer = await _bounded(reader.readuntil(b"\r\n"), UPSTREAM_TIMEOUT)
                if not payload:
                    yield size_line + b"\r\n"
                return
            yield data[:-2] if payload else size_line + data
    else:
        while data := await _bounded(reader.read(_CHUNK), UPSTREAM_TIMEOUT):
            yield data


async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> int:
    """Answer with a one-line text and close; the number of bytes sent."""
    body = text.encode()
    reason = {400: "Bad Request", 502: "Bad Gateway"}[status]
    response = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    writer.write(response)
    await writer.drain()
    writer.close()
    return len(response)


class _Idle:
    """A relayed tunnel's deadline: ``seconds`` without a byte either way ends it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self.last = self._loop.time()

    def touch(self) -> None:
        self.last = self._loop.time()

    async def bound(self, awaitable: Awaitable[T]) -> T:
        """Await it while the tunnel is alive; TimeoutError once it has been idle too long."""
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                left = self.last + self.seconds - self._loop.time()
                if left <= 0:
                    raise TimeoutError(f"no byte either way for {self.seconds:g} s")
                done, _ = await asyncio.wait({task}, timeout=left)
                if done:
                    self.touch()
                    return task.result()
        finally:
            task.cancel()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: Exchange, idle: _Idle
) -> None:
    """Copy ``reader`` to ``writer`` until EOF, counting the bytes as the exchange's upload."""
    while data := await reader.read(_CHUNK):
        idle.touch()
        writer.write(data)
        exchange.bytes_up += len(data)
        await writer.drain()
    _write_eof(writer)


def _write_eof(writer: asyncio.StreamWriter) -> None:
    """Half-close; a peer that already went away leaves nothing to tell."""
    if writer.can_write_eof():
        try:
            writer.write_eof()
        except OSError:  # ENOTCONN: the other side closed first; nothing left to tell it
            writer.transport.abort()


def _raw_socket(writer: asyncio.StreamWriter) -> socket.socket | None:
    sock = writer.get_extra_info("socket")
    return sock if sock is not None else None


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort with SO_LINGER 0, so the kernel sends RST instead of FIN."""
    sock = _raw_socket(writer)
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _flushed(writer: asyncio.StreamWriter) -> None:
    """Wait (bounded) until every byte written has left the transport's buffers."""
    deadline = time.monotonic() + UPSTREAM_TIMEOUT
    transport: Any = writer.transport
    while time.monotonic() < deadline:
        inner = getattr(transport, "_ssl_protocol", None)
        pending = transport.get_write_buffer_size()
        if inner is not None:
            pending += inner._transport.get_write_buffer_size()
        if pending == 0:
            return
        await asyncio.sleep(0.001)


async def _send(writer: asyncio.StreamWriter, unsent: list[bytes], exchange: Exchange) -> None:
    """Write the blocks in ``unsent`` as one, count them, and empty the list."""
    if unsent:
        data = unsent[0] if len(unsent) == 1 else b"".join(unsent)
        unsent.clear()
        writer.write(data)
        exchange.bytes_down += len(data)
        await writer.drain()


async def _end(writer: asyncio.StreamWriter, how: str) -> None:
    await writer.drain()
    if how in ("fin", "deadline"):
        writer.close()
        return
    await _flushed(writer)
    if how == "rst":
        _reset(writer)
    else:  # tls-no-close-notify: drop TCP under TLS without saying goodbye
        sock = _raw_socket(writer)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        writer.transport.abort()
