"""Careless and hostile clients cannot bend the Router: no cross-talk between clients,
bounded memory, a deadline on every write, nothing that outlives close()."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import h2.connection
import h2.settings
import pytest
import trustme
from werkzeug import Request, Response

from _helpers import read_to_close, settled
from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.goproxy import GoProxy, ModuleStore
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.origin import HandlerServer, VirtualHosts
from pytest_gomodnet.tls import GomodnetCA

DEADLINE = 8.0


# --- an upstream that never reads request bodies ------------------------------------


class BodyIgnoringUpstream:
    """A keep-alive HTTP/1.1 server on 127.0.0.1:0 that reads request heads only: each
    answers ``path=<its path>``, and a request's body is left to be read as the next head,
    as a careless server does."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="body-ignoring-upstream")
        self.got_head = threading.Event()

    def __enter__(self) -> BodyIgnoringUpstream:
        self._accepting.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for client in self._clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        for thread in [self._accepting, *self._threads]:
            thread.join(DEADLINE)
        for client in self._clients:
            client.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._clients.append(client)
            thread = threading.Thread(target=self._serve, args=(client,), name="upstream-client")
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    data = client.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            self.got_head.set()
            path = head.split(b" ")[1]
            body = b"path=" + path
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


@pytest.fixture
def relaying_router() -> Iterator[Router]:
    with BodyIgnoringUpstream() as upstream, Router(client_timeout=2.0) as router:
        router.add_host("relay.test", upstream.url)
        router.upstream_under_test = upstream  # type: ignore[attr-defined]
        yield router


def _ask(router: Router, request: bytes) -> bytes:
    """Send ``request`` on a keep-alive connection; the one response to it (by its length)."""
    with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
        sock.sendall(request)
        return _response(sock)


def _response(sock: socket.socket) -> bytes:
    """One whole response from ``sock``, by its Content-Length."""
    response = b""
    while b"\r\n\r\n" not in response or len(response) < _length(response):
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {response!r}"
        response += chunk
    return response


def _length(response: bytes) -> int:
    head, _, _ = response.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return len(head) + 4 + length


def test_a_body_the_upstream_ignores_never_answers_another_client(relaying_router) -> None:
    smuggled = b"GET /smuggled-by-A HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    a = (
        b"POST http://relay.test/a HTTP/1.1\r\nHost: relay.test\r\n"
        b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled
    )
    assert _ask(relaying_router, a).endswith(b"\r\n\r\npath=/a")
    time.sleep(0.3)  # the upstream answers the smuggled request meanwhile
    b = b"GET http://relay.test/b HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    assert _ask(relaying_router, b).endswith(b"\r\n\r\npath=/b")


def test_an_upstream_connection_is_reused_after_a_whole_bodiless_exchange(
    relaying_router,
) -> None:
    """The degenerate fix, never pooling at all, fails here."""
    get = b"GET http://relay.test/%d HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    for i in range(3):
        assert _ask(relaying_router, get % i).endswith(b"path=/%d" % i)
    deadline = time.monotonic() + DEADLINE  # the Router pools it a moment after the reply
    while _idle(relaying_router) != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _idle(relaying_router) == 1


def _idle(router: Router) -> int:
    return sum(len(idle) for idle in router._pool.idle.values())


# --- a tunnel serves the host it was opened for -------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def two_hosts(ca: trustme.CA) -> Iterator[Router]:
    """A Router serving a.test and b.test in process, each answering with its own name."""
    hosts = VirtualHosts()
    for name in ("a.test", "b.test"):
        hosts.route(name, lambda request, name=name: Response(f"served by {name}"))
    with Router(client_timeout=2.0) as router:
        for name in ("a.test", "b.test"):
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(name).configure_cert(context)
            router.add_host(name, "http://127.0.0.1:9", tls=context, app=hosts.dispatch)
        yield router
    router.check()


@contextlib.contextmanager
def _tunnel(router: Router, ca: trustme.CA, host: str) -> Iterator[ssl.SSLSocket]:
    sock = socket.create_connection(("127.0.0.1", router.port), DEADLINE)
    with contextlib.ExitStack() as stack:
        stack.enter_context(sock)
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        assert sock.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        context = ssl.create_default_context()
        ca.configure_trust(context)
        yield stack.enter_context(context.wrap_socket(sock, server_hostname=host))


def _misdirected(proxy: str, text: str) -> bytes:
    body = f"gomodnet {proxy}: {text}\n".encode()
    return (
        b"HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


@pytest.mark.parametrize(
    ("target", "host_header", "named"),
    [
        ("/x", "b.test", "b.test"),
        ("/x", "b.test:443", "b.test"),
        ("http://a.test/x", "b.test", "b.test"),
        ("https://b.test/x", "a.test", "b.test"),
    ],
)
def test_a_tunnel_answers_421_to_a_request_for_another_host(
    two_hosts, ca, target, host_header, named
) -> None:
    with _tunnel(two_hosts, ca, "a.test") as tls:
        tls.sendall(b"GET /first HTTP/1.1\r\nHost: a.test\r\n\r\n")
        first = tls.recv(65536)
        assert first.endswith(b"\r\n\r\nserved by a.test")
        tls.sendall(f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode())
        second = read_to_close(tls, reset_ends=True, deadline=DEADLINE)
    text = f"this tunnel serves a.test, not {named!r}: open a tunnel to {named} for it"
    assert second == _misdirected("Router", text)
    [conn] = settled(lambda: two_hosts.log, connections=True)
    assert (conn.host, conn.ended) == ("a.test", "misdirected-request")


def test_an_absolute_request_whose_host_header_disagrees_gets_421(two_hosts) -> None:
    get = b"GET http://a.test/x HTTP/1.1\r\nHost: b.test\r\n\r\n"
    with socket.create_connection(("127.0.0.1", two_hosts.port), DEADLINE) as sock:
        sock.sendall(get)
        response = read_to_close(sock, deadline=DEADLINE)
    text = "the request is for 'a.test' but its Host header names 'b.test'"
    assert response == _misdirected("Router", text)
    [conn] = settled(lambda: two_hosts.log, connections=True)
    assert (conn.host, conn.ended) == ("a.test", "misdirected-request")


@pytest.mark.parametrize(
    ("request_line", "text"),
    [
        (
            "CONNECT a.test:22 HTTP/1.1",
            "a.test is served on port 443 through CONNECT, not on port 22",
        ),
        (
            "CONNECT a.test:80 HTTP/1.1",
            "a.test is served on port 443 through CONNECT, not on port 80",
        ),
        (
            "GET http://a.test:8080/x HTTP/1.1",
            "a.test is served on port 80 for http://, not on port 8080",
        ),
    ],
)
def test_a_port_the_host_does_not_serve_is_a_502(two_hosts, request_line, text) -> None:
    with socket.create_connection(("127.0.0.1", two_hosts.port), DEADLINE) as sock:
        sock.sendall(f"{request_line}\r\nHost: a.test\r\n\r\n".encode())
        response = read_to_close(sock, deadline=DEADLINE)
    body = f"gomodnet Router: {text}\n".encode()
    assert response == (
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def test_ports_the_hosts_serve_are_served(two_hosts, ca) -> None:
    """The degenerate check that refuses every port fails here."""
    with _tunnel(two_hosts, ca, "a.test") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: a.test:443\r\nConnection: close\r\n\r\n")
        assert read_to_close(tls, reset_ends=True).endswith(b"\r\n\r\nserved by a.test")
    for target in ("http://b.test:80/", "http://b.test/"):
        with socket.create_connection(("127.0.0.1", two_hosts.port), DEADLINE) as sock:
            get = f"GET {target} HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"
            sock.sendall(get.encode())
            assert read_to_close(sock).endswith(b"\r\n\r\nserved by b.test")


# --- nothing outlives its connection ------------------------------------------------


def _closed_under_tls(tls: ssl.SSLSocket, within: float) -> bool:
    """Whether the TCP connection under ``tls`` is closed by the server within ``within``
    seconds, once its TLS close_notify has arrived (which is not answered here)."""
    with socket.socket(fileno=os.dup(tls.fileno())) as raw:
        raw.settimeout(within)
        try:
            return raw.recv(1, socket.MSG_PEEK) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


@pytest.mark.parametrize(
    "request_bytes",
    [b"NONSENSE\r\n\r\n", b"GET / HTTP/1.1\r\nX-Long: " + b"a" * (70 * 1024) + b"\r\n\r\n"],
    ids=["bad-request-line", "head-too-long"],
)
def test_a_400_inside_a_tls_tunnel_closes_its_socket(two_hosts, ca, request_bytes) -> None:
    with _tunnel(two_hosts, ca, "a.test") as tls:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            tls.sendall(request_bytes)
        response = b""
        while chunk := tls.recv(65536):  # up to the server's close_notify
            response += chunk
        assert response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        # client_timeout is 2 s: the server does not wait 30 s for a close_notify back.
        assert _closed_under_tls(tls, 4.0), "the server's socket stayed open"


def test_a_reset_ends_a_tls_close_still_waiting_for_the_client(two_hosts, ca) -> None:
    """Its handler is long done; the connection's protocol still holds it until it ends."""
    with _tunnel(two_hosts, ca, "a.test") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := tls.recv(65536):  # up to the server's close_notify
            response += chunk
        assert response.endswith(b"\r\n\r\nserved by a.test")
        assert not _closed_under_tls(tls, 0.3), "closed before the client answered"
        started = time.monotonic()
        two_hosts.reset()
        assert _closed_under_tls(tls, 1.0), "a reset left the closing connection open"
        assert time.monotonic() - started < 1.5  # not client_timeout's 2 s


# --- every write has a deadline -----------------------------------------------------

BIG = 64 << 20  # far more than the socket buffers on both sides of loopback hold


def _big_body(closed: threading.Event) -> Iterator[bytes]:
    block = bytes(1 << 20)
    try:
        for _ in range(BIG >> 20):
            yield block
    finally:
        closed.set()


def _h2_request_then_stall(
    router: Router, ca: trustme.CA, stack: contextlib.ExitStack
) -> ssl.SSLSocket:
    """Over HTTP/2: flow-control windows opened wide, one GET, then nothing read (the
    connection is returned, for a test that reads on)."""
    sock = socket.create_connection(("127.0.0.1", router.port), DEADLINE)
    stack.enter_context(sock)
    sock.sendall(b"CONNECT big.test:443 HTTP/1.1\r\nHost: big.test:443\r\n\r\n")
    assert sock.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.set_alpn_protocols(["h2"])
    tls = stack.enter_context(context.wrap_socket(sock, server_hostname="big.test"))
    assert tls.selected_alpn_protocol() == "h2"
    client = h2.connection.H2Connection()
    client.initiate_connection()
    widest = 2**31 - 1
    client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: widest})
    client.increment_flow_control_window(widest - 65535)
    headers = [(":method", "GET"), (":path", "/big"), (":scheme", "https")]
    client.send_headers(1, [*headers, (":authority", "big.test")], end_stream=True)
    tls.sendall(client.data_to_send())
    return tls


def _ask_for_the_big_body(
    ca: trustme.CA, through: str, client_timeout: float, stack: contextlib.ExitStack
) -> tuple[Router, socket.socket, threading.Event]:
    """A Router whose big.test answers BIG bytes, asked for them ``through`` a tunnel, as a
    plain proxy request or over HTTP/2: the Router, the client's socket, and an event set
    once the app's response is closed."""
    closed = threading.Event()
    hosts = VirtualHosts()
    hosts.route("big.test", lambda request: Response(_big_body(closed)))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("big.test").configure_cert(context)
    router = stack.enter_context(Router(client_timeout=client_timeout))
    router.add_host("big.test", "http://127.0.0.1:9", tls=context, app=hosts.dispatch)
    sock: socket.socket
    if through == "h2":
        sock = _h2_request_then_stall(router, ca, stack)
    elif through == "tunnel":
        sock = stack.enter_context(_tunnel(router, ca, "big.test"))
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: big.test\r\n\r\n")
    else:
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", router.port)))
        sock.sendall(b"GET http://big.test/big HTTP/1.1\r\nHost: big.test\r\n\r\n")
    return router, sock, closed


@pytest.mark.parametrize("through", ["tunnel", "plain", "h2"])
def test_a_client_that_stops_reading_is_closed_at_its_deadline(ca, through) -> None:
    with contextlib.ExitStack() as stack:
        router, _, closed = _ask_for_the_big_body(ca, through, 1.0, stack)
        # Reads nothing: the response fills the buffers, then every write waits.
        assert closed.wait(DEADLINE), "the app's response was never closed"
        [conn] = settled(lambda: router.log, connections=True, timeout=DEADLINE)
    [exchange] = conn.exchanges
    assert (conn.ended, exchange.ended) == ("client-stalled", "client-stalled")
    assert 0 < exchange.bytes_down < BIG


@pytest.mark.parametrize("through", ["tunnel", "plain", "h2"])
def test_an_exchange_the_client_breaks_off_ends_as_its_connection(ca, through) -> None:
    """A client that reads the start of a body, then resets its connection: the log shows
    the exchange ended as the connection did, never still "open" once that is over."""
    with contextlib.ExitStack() as stack:
        router, sock, closed = _ask_for_the_big_body(ca, through, 5.0, stack)
        assert sock.recv(4096)  # the body has begun
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, with most of the body still to come
        assert closed.wait(DEADLINE), "the app's response was never closed"
        [conn] = settled(lambda: router.log, connections=True, timeout=DEADLINE)
    [exchange] = conn.exchanges
    assert (conn.ended, exchange.ended) == ("client-error", "client-error")
    assert 0 < exchange.bytes_down < BIG


# --- request bodies: capped, streamed -----------------------------------------------


def _refusal(status: str, text: str) -> bytes:
    body = f"gomodnet Router: {text}\n".encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def _post(length: int, send: int, *extra: str) -> bytes:
    lines = ["POST http://b.test/up HTTP/1.1", "Host: b.test", f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + bytes(send)


def test_the_request_body_cap_is_an_option() -> None:
    with Router(max_request_body=1000) as router:
        router.add_host("b.test", "http://127.0.0.1:9", app=lambda r: Response(r.get_data()))
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(1001, 0))
            over = read_to_close(sock, deadline=DEADLINE)
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(1000, 1000, "Connection: close"))
            at = read_to_close(sock, deadline=DEADLINE)
    text = "a request body of 1001 bytes is over the limit of 1000 bytes"
    assert over == _refusal("413 Request Entity Too Large", text)
    assert at.endswith(b"\r\n\r\n" + bytes(1000))


def test_a_hundred_mib_post_is_refused_by_the_default_cap_unread() -> None:
    hundred = 100 << 20
    with Router() as router:
        router.add_host("b.test", "http://127.0.0.1:9", app=lambda r: Response(b"read"))
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(hundred, 1 << 20))  # the first MiB of it
            response = read_to_close(sock, reset_ends=True, deadline=DEADLINE)
    text = f"a request body of {hundred} bytes is over the limit of {16 << 20} bytes"
    assert response == _refusal("413 Request Entity Too Large", text)


class _Spy:
    """An app that notes the type of its wsgi.input stream and the body's length."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def __call__(self, request: Request) -> Response:
        stream = request.environ["wsgi.input"]
        self.seen.append((type(stream).__name__, len(stream.read())))
        return Response(b"ok")


def test_a_big_body_reaches_an_app_spooled_not_whole_in_memory() -> None:
    spy = _Spy()
    size = 8 << 20
    with Router() as router:
        router.add_host("b.test", "http://127.0.0.1:9", app=spy)
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(size, size, "Connection: close"))
            assert read_to_close(sock, deadline=DEADLINE).endswith(b"\r\n\r\nok")
        [conn] = settled(lambda: router.log, connections=True)
    assert spy.seen == [("SpooledTemporaryFile", size)]
    forwarded = b"POST /up HTTP/1.1\r\nHost: b.test\r\nContent-Length: %d\r\n" % size
    assert conn.exchanges[0].bytes_up == len(forwarded + b"Connection: close\r\n\r\n") + size


def test_a_body_is_streamed_to_an_upstream_as_it_arrives(relaying_router) -> None:
    """The upstream has the head (and the first part of the body) before the rest of the
    body has left the client."""
    upstream = relaying_router.upstream_under_test
    with socket.create_connection(("127.0.0.1", relaying_router.port), DEADLINE) as sock:
        sock.sendall(
            b"POST http://relay.test/streamed HTTP/1.1\r\nHost: relay.test\r\n"
            b"Content-Length: 200000\r\n\r\n" + bytes(100000)
        )
        assert upstream.got_head.wait(DEADLINE), "the upstream had nothing before the end"
        sock.sendall(bytes(100000))
        assert _response(sock).endswith(b"\r\n\r\npath=/streamed")


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (-1, ValueError, "max_request_body=-1 must be 0 or more bytes"),
        ("1", TypeError, "max_request_body='1' must be an int (bytes)"),
        (True, TypeError, "max_request_body=True must be an int (bytes)"),
    ],
)
def test_a_request_body_cap_that_is_not_a_size_is_refused(value, error, text) -> None:
    with pytest.raises(error, match=f"^{re.escape(text)}$"):
        Router(max_request_body=value)


def test_a_backbone_passes_its_request_body_cap_to_its_router(tmp_path) -> None:
    with Backbone(GomodnetCA(tmp_path / "ca"), tmp_path, max_request_body=1234) as backbone:
        assert backbone.router._delivery.max_request_body == 1234


def test_a_client_that_waits_for_100_continue_gets_it_then_its_answer() -> None:
    spy = _Spy()
    with Router(client_timeout=2.0) as router:
        router.add_host("b.test", "http://127.0.0.1:9", app=spy)
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(5, 0, "Expect: 100-continue", "Connection: close"))
            sock.settimeout(DEADLINE)
            assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"hello")
            assert read_to_close(sock, deadline=DEADLINE).endswith(b"\r\n\r\nok")
    assert spy.seen == [("SpooledTemporaryFile", 5)]


def test_an_oversized_body_that_expects_100_continue_gets_413_instead() -> None:
    with Router(max_request_body=4) as router:
        router.add_host("b.test", "http://127.0.0.1:9", app=_Spy())
        with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
            sock.sendall(_post(5, 0, "Expect: 100-continue"))
            response = read_to_close(sock, deadline=DEADLINE)
    text = "a request body of 5 bytes is over the limit of 4 bytes"
    assert response == _refusal("413 Request Entity Too Large", text)


# --- out of file descriptors --------------------------------------------------------


def _connections(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), DEADLINE) for _ in range(count)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "name", "retry"),
    [
        ("router", "Router starved", "1"),
        ("handler-server", "HandlerServer at 127.0.0.1:{port}", "0.25"),
    ],
)
def test_running_out_of_descriptors_is_logged_once_an_episode(kind, name, retry) -> None:
    script = Path(__file__).parent / "_starved_server.py"
    pipe = subprocess.PIPE
    command = [sys.executable, str(script), kind]
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for _ in range(2):  # two episodes: the descriptors run out, then free up
            clients = _connections(port, 5)  # the server has descriptors for 3
            time.sleep(2.5)  # each retry fails again
            for client in clients:
                client.close()
            time.sleep(2.5)  # the server closes its 3, and accepts the other 2 at a retry
        child.stdin.write("report\n")
        child.stdin.flush()
        records = json.loads(child.stdout.readline())
    assert child.returncode == 0
    text = (
        f"pytest_gomodnet: {name.format(port=port)} cannot accept connections: [Errno 24] "
        f"Too many open files; it retries every {retry} s until a descriptor is free "
        "(close what leaks, or raise the limit: ulimit -n)"
    )
    assert records == [text, text]


# --- standalone servers: nothing outlives the with block ----------------------------


def _open_descriptors_of(path: Path) -> int:
    wanted = os.path.realpath(path)
    return sum(1 for fd in Path("/proc/self/fd").iterdir() if os.path.realpath(fd) == wanted)


ZIP_REQUEST = b"GET /big.test/m/@v/v1.0.0.zip HTTP/1.1\r\nHost: x\r\n\r\n"


def _waited_for(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` came true within DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _small_window(port: int) -> socket.socket:
    """A connection whose receive buffer stays small: a client that stops reading stalls
    the server at once (loopback's buffers could otherwise take the whole zip)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(DEADLINE)
    sock.connect(("127.0.0.1", port))
    return sock


@pytest.fixture
def big_store(tmp_path) -> Iterator[tuple[ModuleStore, Path]]:
    with ModuleStore(tmp_path / "store") as store:
        stored = store.add("big.test/m", "v1.0.0", files={"big.bin": os.urandom(24 << 20)})
        yield store, stored.zip_path


def test_a_standalone_goproxy_ends_a_stalled_download_by_its_with_block(big_store) -> None:
    store, zip_path = big_store
    before = set(threading.enumerate())
    with contextlib.ExitStack() as client:
        with GoProxy(store) as goproxy:  # client_timeout 10 s: the block ends first
            port = int(goproxy.url.rsplit(":", 1)[1])
            sock = client.enter_context(_small_window(port))
            sock.sendall(ZIP_REQUEST)
            time.sleep(2.0)  # the server fills the buffers, then its write waits
            assert _open_descriptors_of(zip_path) == 1
        # The client is still connected, and still not reading.
        assert _open_descriptors_of(zip_path) == 0
        assert set(threading.enumerate()) - before == set()


def test_a_standalone_server_drops_a_client_that_stops_reading_at_its_deadline(
    big_store,
) -> None:
    store, zip_path = big_store
    server = HandlerServer(GoProxy(store).handle, client_timeout=1.0)
    with server, _small_window(server.port) as sock:
        sock.sendall(ZIP_REQUEST)
        assert _waited_for(lambda: _open_descriptors_of(zip_path) == 1), "never opened"
        assert _waited_for(lambda: _open_descriptors_of(zip_path) == 0), "stayed open"
        received = 0
        sock.settimeout(DEADLINE)
        with contextlib.suppress(ConnectionResetError):  # what arrived, then the end
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        assert 0 < received < zip_path.stat().st_size


# --- nothing of one test reaches the next ---------------------------------------------


def test_a_connection_from_before_a_reset_is_never_served_by_the_next_tests_hosts() -> None:
    """An idle keep-alive connection, and one still waiting in the listen backlog (the
    loop busy) when the test ended, are both ended by reset(): neither is answered by
    the host the next test puts under the same name."""
    hosts = VirtualHosts()
    hosts.route("a.test", lambda request: Response(b"old test"))
    get = b"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"
    with Router(client_timeout=5.0) as router:
        router.add_host("a.test", "http://127.0.0.1:9", app=hosts.dispatch)
        with contextlib.ExitStack() as stack:
            idle = stack.enter_context(socket.create_connection(("127.0.0.1", router.port)))
            idle.sendall(get)
            assert _response(idle).endswith(b"\r\n\r\nold test")
            router._loop.call_soon_threadsafe(time.sleep, 0.5)  # the loop is busy...
            late = stack.enter_context(socket.create_connection(("127.0.0.1", router.port)))
            late.sendall(get)  # ...as this one arrives, and the test ends
            router.reset()
            hosts.route("a.test", lambda request: Response(b"next test"))
            router.add_host("a.test", "http://127.0.0.1:9", app=hosts.dispatch)
            with contextlib.suppress(OSError):
                idle.sendall(get)
            assert read_to_close(idle, reset_ends=True, deadline=DEADLINE) == b""
            assert read_to_close(late, reset_ends=True, deadline=DEADLINE) == b""
        assert router.log == []
