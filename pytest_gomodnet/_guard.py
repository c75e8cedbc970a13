"""What the werkzeug servers do about hostile clients.

http.server reads a request with blocking reads and no timeout, and a TLS
listener does its handshake inside ``accept()``. So one client that connects
and then trickles a byte a second holds a thread forever, and one that
connects to a TLS server and says nothing stops the whole server. Here the
handshake moves into the connection's own thread, and the handshake and each
request (head and body) must arrive within ``client_timeout`` seconds, and each
write of a response must leave within as long (a client that stops reading is
dropped, and werkzeug closes the response, with its file). :class:`Clients` knows
each connection being served and its thread, so stopping the server ends them.

And werkzeug raises (and prints a traceback, sending nothing) on a request
target that ``urlsplit`` rejects, such as ``http://[::1/``: that gets a 400, as
does a head with a line that ends in a bare LF (http.server takes it; the Router
does not, and every server here answers alike) or a target with a control character.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

__all__ = ["Clients", "guard_clients"]


class Clients:
    """The connections a server is serving, each with the thread that serves it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[threading.Thread, socket.socket] = {}

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            self._open[threading.current_thread()] = connection

    def remove(self) -> None:
        with self._lock:
            self._open.pop(threading.current_thread(), None)

    def end_all(self, deadline: float) -> list[str]:
        """Shut every connection down (a thread blocked on it returns at once) and join
        the threads by ``deadline``; the names of those still running."""
        with self._lock:
            serving = dict(self._open)
        for connection in serving.values():
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in serving:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in serving if thread.is_alive()]


def guard_clients(server: BaseWSGIServer, client_timeout: float) -> Clients:
    """Give each client of ``server`` ``client_timeout`` seconds to say what it wants and
    for each write to it, and a 400 for a request target werkzeug cannot parse; the
    clients being served.

    Call before the server starts accepting.
    """
    if isinstance(server.socket, ssl.SSLSocket):
        # Accepting must not wait for a client's handshake: its own thread does.
        server.socket.do_handshake_on_connect = False  # type: ignore[attr-defined]
    clients = Clients()
    server.RequestHandlerClass = type(
        "GuardedRequestHandler",
        (_GuardedRequestHandler,),
        {"client_timeout": client_timeout, "clients": clients},
    )
    return clients


class _GuardedRequestHandler(WSGIRequestHandler):
    client_timeout: float
    clients: Clients
    _greeted: bool
    _reader: _DeadlineReader

    def setup(self) -> None:
        self.clients.add(self.request)
        super().setup()
        self.rfile.close()  # a socket closes only once its file objects have
        self._greeted = _handshake(self.connection, self.client_timeout)
        self.connection.settimeout(self.client_timeout)  # each write's deadline
        self._reader = _DeadlineReader(self.connection, self.client_timeout)
        self.rfile = _HeadReader(self._reader)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.clients.remove()

    def handle(self) -> None:
        if self._greeted:
            super().handle()

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.client_timeout
        assert isinstance(self.rfile, _HeadReader)
        self.rfile.bare_lf = False
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        assert isinstance(self.rfile, _HeadReader)
        if self.rfile.bare_lf:
            self.send_error(HTTPStatus.BAD_REQUEST, "A line of the head ends in a bare LF")
            return False
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in self.path):
            self.path = quote(self.path, safe="/")  # werkzeug's access log parses it too
            self.send_error(HTTPStatus.BAD_REQUEST, "A control character in the target")
            return False
        try:
            urlsplit(self.path).port  # noqa: B018 (werkzeug reads it, and raises)
        except ValueError:
            self.path = quote(self.path, safe="/")  # werkzeug's access log parses it too
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed request target")
            return False
        return True


def _handshake(connection: socket.socket, timeout: float) -> bool:
    """Finish the TLS handshake of ``connection`` within ``timeout``; False if it failed."""
    if not isinstance(connection, ssl.SSLSocket):
        return True
    connection.settimeout(timeout)
    try:
        connection.do_handshake()
    except OSError:  # a timeout, a reset or an SSL error: the client is gone
        return False
    finally:
        connection.settimeout(None)
    return True


class _HeadReader(io.BufferedReader):
    """The request's bytes; notes a line read that ends in a bare LF (http.server reads
    the request line and headers with readline, a body with read)."""

    bare_lf = False

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        if line.endswith(b"\n") and not line.endswith(b"\r\n"):
            self.bare_lf = True
        return line


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read bounded by what is left of :attr:`deadline`."""

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        self._sock = sock
        self._write_timeout = write_timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError("the client did not send its request within its deadline")
        self._sock.settimeout(left)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._write_timeout)
