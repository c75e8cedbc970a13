"""Virtual hosts by name, and the loopback servers that serve handlers on a socket.

Starting and stopping a werkzeug server costs up to half a second, far too
much to pay per test, let alone per hypothesis example. So the private
internet keeps one route table, :class:`VirtualHosts`, for the whole session,
with no socket: the Router calls its :meth:`~VirtualHosts.dispatch` in process,
which routes each request by its ``Host`` header to whatever handler the
current test put there (a GoProxy, a GoImportHost, a function of the test's
own). The Router terminates TLS with each host's own certificate chain, so from
the client's side every host is still a separate HTTPS server.

A standalone server on 127.0.0.1 is there where a user asks for one:
:class:`Origin` (the same dispatch on a socket) and :class:`HandlerServer`.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug import Request, Response

from ._guard import Clients, guard_clients
from ._limits import CLIENT_TIMEOUT, CLOSE_TIMEOUT
from ._starved import STARVED_ERRNOS, Starved
from .errors import ErrorSink, ServerError

__all__ = [
    "CLIENT_TIMEOUT",
    "Handler",
    "HandlerServer",
    "Origin",
    "VirtualHosts",
    "host_without_port",
    "text_response",
]


#: What serves one virtual host: a werkzeug request in, a response out.
Handler = Callable[[Request], Response]

# How often serve_forever looks for a stop request (werkzeug's default is 0.5 s).
_POLL_SECONDS = 0.05
# Seconds between a failed accept (no descriptor free) and the next try.
_STARVED_RETRY = 0.25
_TEXT = "text/plain; charset=utf-8"


class _LoopbackServer(HTTPServerBase):
    """What every server here shares: 127.0.0.1:0, threaded, quiet, quick to stop.

    A handler that raises answers ``500`` with a one-line text, and the
    exception is kept in ``errors`` (a sink of its own unless one is shared) for
    :meth:`check`, never shown to the client as a traceback.
    A client that takes longer than ``client_timeout`` seconds for its TLS
    handshake or for a request is disconnected.
    """

    _what = "a handler"

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
        errors: ErrorSink | None = None,
    ) -> None:
        super().__init__("127.0.0.1", 0, ssl_context, threaded=True)
        self.client_timeout = client_timeout
        self._clients = Clients()
        self.errors = errors if errors is not None else ErrorSink()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        _quiet_werkzeug()
        super().start()

    def stop(self) -> None:
        """Stop serving within a second: a thread that will not end is an error, never a hang."""
        server, thread = self.server, self.server_thread
        if server is None or thread is None:
            super().stop()  # raises: not running
            return
        # shutdown() waits for serve_forever without a deadline: wait here instead.
        stopping = threading.Thread(target=server.shutdown, name=f"{thread.name}-stop", daemon=True)
        stopping.start()
        deadline = time.monotonic() + CLOSE_TIMEOUT
        thread.join(CLOSE_TIMEOUT)
        stopping.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise ServerError(
                f"{type(self).__name__} at {self.url} did not stop within {CLOSE_TIMEOUT:g} s"
            )
        self.server = None
        self.server_thread = None
        # The connections still served (a client that stopped reading among them) end too.
        busy = self._clients.end_all(deadline)
        if busy:
            raise ServerError(
                f"{type(self).__name__} at {self.url}: a handler was still running "
                f"{CLOSE_TIMEOUT:g} s after stop() (threads {', '.join(busy)}); it is left "
                "to finish on its own"
            )

    def __exit__(self, *exc_info: Any) -> None:
        """Stop, then raise every handler error, if any: an error is never dropped."""
        super().__exit__(*exc_info)
        self.check()

    def thread_target(self) -> None:
        assert self.server is not None
        self._clients = guard_clients(self.server, self.client_timeout)
        _serve(self)

    def check(self) -> None:
        """Raise one ServerError naming every exception a handler raised (and every error
        of the servers sharing the sink) since the last check, if any."""
        self.errors.raise_all()

    def application(self, request: Request) -> Response:
        # The base class logs every (request, response) pair forever; a long-lived
        # server would grow without bound, so only dispatch here.
        return self.dispatch(request)

    def _call(self, handler: Handler, request: Request) -> Response:
        return call_handler(handler, request, None, self.errors, self._what)


class VirtualHosts:
    """Handlers by host name, with no socket: ``dispatch`` is called in process.

    ``route(host, handler)`` puts a handler in place; ``clear_routes()``
    empties the table between tests. A request for a host with no route gets
    ``404`` with a text naming the host; a handler that raises answers ``500``
    and its exception goes to ``errors``.
    """

    def __init__(self, *, errors: ErrorSink | None = None) -> None:
        self.errors = errors if errors is not None else ErrorSink()
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def route(self, host: str, handler: Handler) -> None:
        """Serve ``host`` (a name without port) with ``handler`` from now on."""
        with self._lock:
            self._routes[host.lower()] = handler

    def clear_routes(self) -> None:
        """Forget every route and error: a fresh internet for the next test."""
        with self._lock:
            self._routes.clear()
        self.errors.drain()

    def dispatch(self, request: Request) -> Response:
        host = host_without_port(request.host)
        with self._lock:
            handler = self._routes.get(host)
        if handler is None:
            return text_response(f"no virtual host {host!r} on this origin\n", 404)
        return call_handler(handler, request, host, self.errors, "a virtual host's handler")


class Origin(_LoopbackServer):
    """:class:`VirtualHosts` on a threaded HTTP server at 127.0.0.1:0: dispatch by ``Host``.

    ``route(host, handler)`` puts a handler in place; ``clear_routes()``
    empties the table between tests. A request for a host with no route gets
    ``404`` with a text naming the host.
    """

    def __init__(
        self, *, client_timeout: float = CLIENT_TIMEOUT, errors: ErrorSink | None = None
    ) -> None:
        super().__init__(client_timeout=client_timeout, errors=errors)
        self.no_handler_status_code = 404
        self.hosts = VirtualHosts(errors=self.errors)

    def route(self, host: str, handler: Handler) -> None:
        """Serve ``host`` (a name without port) with ``handler`` from now on."""
        self.hosts.route(host, handler)

    def clear_routes(self) -> None:
        """Forget every route, error and log entry: a fresh internet for the next test."""
        self.hosts.clear_routes()
        self.clear()

    def dispatch(self, request: Request) -> Response:
        return self.hosts.dispatch(request)


def call_handler(
    handler: Handler, request: Request, host: str | None, errors: ErrorSink, what: str
) -> Response:
    """The handler's response; if it raises, a 500 (naming the virtual ``host``, if one
    routed it there), the error kept."""
    try:
        return handler(request)
    except Exception as exc:  # kept for check(), never a traceback to the client
        errors.add(what, exc)
        where = f" in the handler for {host!r}" if host is not None else ""
        return text_response(f"internal error{where}: {type(exc).__name__}\n", 500)


def _serve(server: HTTPServerBase) -> None:
    """serve_forever with a short stop poll and TCP_NODELAY on every accepted socket.

    werkzeug writes a response's headers and body separately; with Nagle's
    algorithm on, the body waits for the peer's delayed ACK, about 40 ms per
    request. Set here, in the serving thread, before the first accept.
    """
    assert server.server is not None
    accept = server.server.get_request
    starved = Starved(f"{type(server).__name__} at 127.0.0.1:{server.port}", _STARVED_RETRY)

    def get_request() -> tuple[socket.socket, Any]:
        try:
            connection, address = accept()
        except OSError as exc:
            if exc.errno in STARVED_ERRNOS:  # socketserver would retry at once, forever
                starved.failed(exc)
                time.sleep(starved.retry)
            raise
        starved.accepted()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    server.server.get_request = get_request  # type: ignore[method-assign]
    server.server.serve_forever(poll_interval=_POLL_SECONDS)


def _quiet_werkzeug() -> None:
    """werkzeug logs every request to stderr unless told otherwise; a user's setting wins."""
    logger = logging.getLogger("werkzeug")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def host_without_port(host: str) -> str:
    """A Host header's name, lower case, without its port (IPv6 brackets removed)."""
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


def text_response(body: str, status: int) -> Response:
    """A one-line ``text/plain`` answer, as the public Go services give for errors.

    The status line carries the standard reason ("404 Not Found"), not
    werkzeug's upper-case one: the go command prints it in its errors.
    """
    return Response(body, status=f"{status} {HTTPStatus(status).phrase}", content_type=_TEXT)


class HandlerServer(_LoopbackServer):
    """One handler on its own threaded server at 127.0.0.1:0 (http, or https with a context).

    For using a GoProxy, a GoImportHost or a handler of your own without the
    shared Origin.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        ssl_context: ssl.SSLContext | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
    ) -> None:
        super().__init__(ssl_context=ssl_context, client_timeout=client_timeout)
        self._handler = handler

    def dispatch(self, request: Request) -> Response:
        return self._call(self._handler, request)
