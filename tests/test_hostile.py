"""Hostile input against every server: a 4xx or a close within a deadline, never worse.

Each request below goes, as raw bytes (an HTTP client would normalise them), to
every server the plugin has: a GoProxy and a GoImportHost on their own
servers, the shared Origin, the Router (as a plain forward proxy and through a
TLS tunnel) and a FaultProxy. Each must answer with the exact status in the
table, or close the connection, within a deadline; then serve a normal
request as before; raise no error inside; and never read a file outside the
module store (a sentinel file sits next to it).
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import h2.connection
import h2.errors
import h2.events
import hyperframe.frame
import pytest
import trustme

from _helpers import read_to_close
from pytest_gomodnet._limits import MAX_REQUEST_BODY
from pytest_gomodnet.faultproxy import FaultProxy, Router
from pytest_gomodnet.goimport import GoImportHost
from pytest_gomodnet.goproxy import GoProxy, ModuleStore
from pytest_gomodnet.origin import HandlerServer, Origin

#: The client_timeout of every server here: how long a client may take to send a request.
CLIENT_TIMEOUT = 1.0
#: How long a hostile client waits for an answer or a close before the test fails.
DEADLINE = 8.0
MODULE, VERSION = "example.test/m", "v1.0.0"
MOD_PATH = f"/{MODULE}/@v/{VERSION}.mod"
SENTINEL = b"SENTINEL: outside the module store\n"
LONG = "a" * (70 * 1024)  # longer than the 64 KiB the servers accept for a line or a head
CLOSED = "closed"


# --- the servers ------------------------------------------------------------------


@dataclass
class Target:
    """One server as a hostile client sees it."""

    kind: str
    port: int
    host: str  # what the Host header says
    normal: tuple[str, bytes]  # a request target and the exact body it gets
    absolute: bool = False  # a forward proxy wants absolute-form targets
    tls: ssl.SSLContext | None = None  # the client's context, if the server speaks TLS
    tunnel: bool = False  # CONNECT host:443 first

    def target(self, path: str) -> str:
        return f"http://{self.host}{path}" if self.absolute else path

    def connect(self, *, handshake: bool = True) -> socket.socket:
        """A connection ready for the request bytes (tunnelled and TLS-wrapped if need be;
        without ``handshake``, left before the TLS handshake)."""
        sock = socket.create_connection(("127.0.0.1", self.port), DEADLINE)
        try:
            if self.tunnel:
                sock.sendall(f"CONNECT {self.host}:443 HTTP/1.1\r\n\r\n".encode())
                assert sock.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            if self.tls is not None and handshake:
                return self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return sock


@dataclass
class Servers:
    store: ModuleStore
    targets: dict[str, Target]
    checks: list[Callable[[], None]]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "sentinel").write_bytes(SENTINEL)
    (root / "store").mkdir()
    ca = trustme.CA()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    def server_context(host: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(host).configure_cert(context)
        return context

    with ModuleStore(root / "store") as store:
        stored = store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
        goproxy = GoProxy(store)
        goimport = GoImportHost()
        goimport.add(MODULE, repo="https://proxy.test")
        page = goimport.fetch(MODULE).body
        mod = (MOD_PATH, stored.go_mod)
        plain = HandlerServer(goproxy.handle, client_timeout=CLIENT_TIMEOUT)
        tls = HandlerServer(
            goproxy.handle, ssl_context=server_context("127.0.0.1"), client_timeout=CLIENT_TIMEOUT
        )
        imports = HandlerServer(goimport.handle, client_timeout=CLIENT_TIMEOUT)
        origin = Origin(client_timeout=CLIENT_TIMEOUT)
        origin.route("proxy.test", goproxy.handle)
        # Named like the session's Router, which it plays for this module: the leak
        # check then leaves alone the worker threads it starts as it needs them.
        router = Router(name="gomodnet-session-hostile-router", client_timeout=CLIENT_TIMEOUT)
        with plain, tls, imports, origin, router:
            router.add_host(
                "proxy.test", origin.url, tls=server_context("proxy.test"), app=origin.dispatch
            )
            with FaultProxy(plain.url, client_timeout=CLIENT_TIMEOUT) as faultproxy:
                targets = [
                    Target("goproxy", plain.port, "127.0.0.1", mod),
                    Target("goproxy-tls", tls.port, "127.0.0.1", mod, tls=client_context),
                    Target("goimport", imports.port, "example.test", ("/m?go-get=1", page)),
                    Target("origin", origin.port, "proxy.test", mod),
                    Target("router", router.port, "proxy.test", mod, absolute=True),
                    Target(
                        "router-tls",
                        router.port,
                        "proxy.test",
                        mod,
                        tls=client_context,
                        tunnel=True,
                    ),
                    Target("faultproxy", faultproxy.port, "127.0.0.1", mod),
                    Target("direct", router.listen("proxy.test", tls=False), "proxy.test", mod),
                    Target(
                        "direct-tls",
                        router.listen("proxy.test"),
                        "proxy.test",
                        mod,
                        tls=client_context,
                    ),
                ]
                checks = [plain.check, tls.check, imports.check, origin.check, router.check]
                yield Servers(store, {t.kind: t for t in targets}, [*checks, faultproxy.check])


@pytest.fixture(
    params=[
        "goproxy",
        "goproxy-tls",
        "goimport",
        "origin",
        "router",
        "router-tls",
        "faultproxy",
        "direct",
        "direct-tls",
    ]
)
def target(request: pytest.FixtureRequest, servers: Servers) -> Iterator[Target]:
    """Each server in turn; afterwards it must still serve, and have raised nothing inside."""
    target = servers.targets[request.param]
    yield target
    path, body = target.normal
    status, got = _split(_exchange(target, _get(target.target(path), target.host)))
    assert (status, got) == (200, body), f"{target.kind} no longer serves a normal request"
    for check in servers.checks:
        check()


@pytest.fixture(autouse=True)
def reads(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every file opened by path while the test runs; all must be in the store."""
    opened: list[str] = []
    real_open = io.open

    def recording_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            opened.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", recording_open)
    yield opened
    store = os.path.realpath(servers.store.directory) + os.sep
    assert [path for path in opened if not path.startswith(store)] == []


# --- the client ---------------------------------------------------------------------


def _get(target: str, host: str, *extra: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _exchange(target: Target, request: bytes) -> bytes:
    """Send ``request``; everything received until the server closes (DEADLINE at most)."""
    with target.connect() as sock:
        # A server may stop reading early (a head too long): what it sent still counts.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return read_to_close(sock, reset_ends=True, deadline=DEADLINE)


def _split(response: bytes) -> tuple[int | str, bytes]:
    """The status and body of a response; CLOSED if nothing came.

    http.server answers a request line without an HTTP version in the style of
    HTTP/0.9: a bare error page, no status line. Its code is in the page.
    """
    if not response:
        return CLOSED, b""
    while response.startswith((b"HTTP/1.1 100 ", b"HTTP/1.0 100 ")):  # interim: the next
        response = response.partition(b"\r\n\r\n")[2]
    if response.startswith(b"HTTP/1."):
        head, _, body = response.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body
    marker = b"<p>Error code: "
    assert marker in response, f"neither HTTP nor an error page: {response[:300]!r}"
    return int(response.split(marker, 1)[1][:3]), response


# --- the table ----------------------------------------------------------------------

WERKZEUG = ("goproxy", "goproxy-tls", "goimport", "origin")
ASYNC = ("router", "router-tls", "faultproxy", "direct", "direct-tls")


def _request(path: str, *extra: str) -> Callable[[Target], bytes]:
    return lambda t: _get(t.target(path), t.host, *extra)


def _normal(target: Target, *extra: str) -> bytes:
    """The target's normal request, with ``extra`` headers."""
    return _get(target.target(target.normal[0]), target.host, *extra)


def _raw(data: bytes) -> Callable[[Target], bytes]:
    return lambda t: data


def _everywhere(status: int | str) -> dict[str, int | str]:
    return dict.fromkeys(WERKZEUG + ASYNC, status)


CASES: list[tuple[str, Callable[[Target], bytes], dict[str, int | str]]] = [
    # traversal: whatever the encoding, a 404, and never the sentinel's bytes
    ("dot-dot", _request("/../../sentinel"), _everywhere(404)),
    ("dot-dot-in-module", _request(f"/{MODULE}/@v/../../../../sentinel"), _everywhere(404)),
    (
        "dot-dot-after-zip",
        _request(f"/{MODULE}/@v/{VERSION}.zip/../../../../../sentinel"),
        _everywhere(404),
    ),
    ("percent-2e", _request("/%2e%2e/%2e%2e/sentinel"), _everywhere(404)),
    ("percent-2f", _request(f"/{MODULE}/@v/..%2f..%2f..%2f..%2fsentinel.zip"), _everywhere(404)),
    ("percent-00", _request(f"/{MODULE}/@v/{VERSION}%00.zip"), _everywhere(404)),
    ("raw-nul", _request(f"/{MODULE}/@v/{VERSION}\x00.zip"), _everywhere(400)),
    ("absolute-file", _request("//etc/passwd"), _everywhere(404)),
    # invalid module paths and versions
    ("upper-case-path", _request("/EXAMPLE.test/m/@v/list"), _everywhere(404)),
    ("dash-path", _request("/-bad/@v/list"), _everywhere(404)),
    ("short-version", _request(f"/{MODULE}/@v/v1.0.info"), _everywhere(404)),
    ("bang-version", _request(f"/{MODULE}/@v/!!!.info"), _everywhere(404)),
    ("empty-version", _request(f"/{MODULE}/@v/.zip"), _everywhere(404)),
    # over-long and malformed heads
    (
        "long-request-line",
        _request("/" + LONG),
        dict.fromkeys(WERKZEUG, 414) | dict.fromkeys(ASYNC, 400),
    ),
    (
        "long-header",
        _request(MOD_PATH, f"X-Long: {LONG}"),
        dict.fromkeys(WERKZEUG, 431) | dict.fromkeys(ASYNC, 400),
    ),
    (
        "many-headers",
        _request("/", *(f"X-{i}: y" for i in range(200))),
        # The Router hands its in-process handler any number of headers.
        dict.fromkeys(WERKZEUG, 431)
        | dict.fromkeys(("router", "router-tls", "direct", "direct-tls"), 404)
        | {"faultproxy": 431},
    ),
    (
        "garbage",
        _raw(bytes(range(256)) + b"\r\n\r\n"),
        _everywhere(400),
    ),
    (
        "tls-hello-on-plain",
        _raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n"),
        _everywhere(400),
    ),
    (
        "bad-content-length",
        lambda t: _normal(t, "Content-Length: abc"),
        dict.fromkeys(WERKZEUG, 200) | dict.fromkeys(ASYNC, 400),
    ),
    (
        "negative-content-length",
        lambda t: _normal(t, "Content-Length: -5"),
        dict.fromkeys(WERKZEUG, 200) | dict.fromkeys(ASYNC, 400),
    ),
    (
        "bad-ipv6-url",
        _raw(b"GET http://[::1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        _everywhere(400),
    ),
    (
        "port-out-of-range",
        _raw(b"GET http://x:99999999/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        # The Router reads the host from the target; a tunnel to proxy.test serves no other;
        # a direct port serves its host whatever the request names (here: no such path).
        _everywhere(400) | {"router": 502, "router-tls": 421, "direct": 404, "direct-tls": 404},
    ),
    (
        "delete",
        lambda t: _normal(t).replace(b"GET", b"DELETE", 1),
        # A go-import host serves its page whatever the method, as static web servers do.
        _everywhere(405) | {"goimport": 200},
    ),
    (
        "http-1.0-closes-after-the-answer",
        lambda t: (
            _normal(t)
            .replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n")
            .replace(b"Connection: close\r\n", b"")
        ),
        _everywhere(200),
    ),
    ("bare-lf-line-ends", lambda t: _normal(t).replace(b"\r\n", b"\n"), _everywhere(400)),
    (
        "bare-lf-after-the-request-line",
        lambda t: _normal(t).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n", 1),
        _everywhere(400),
    ),
    ("lone-cr-in-query", _request(MOD_PATH + "?a\rb"), _everywhere(400)),
    ("lf-in-query", _request(MOD_PATH + "?a\nb"), _everywhere(400)),
    ("nul-in-query", _request(MOD_PATH + "?a\x00b"), _everywhere(400)),
    ("tab-in-query", _request(MOD_PATH + "?a\tb"), _everywhere(400)),
    (
        "expect-100-continue",
        lambda t: _normal(t, "Expect: 100-continue", "Content-Length: 5") + b"hello",
        # Each server answers 100 Continue first (skipped here), then the request.
        _everywhere(200),
    ),
    (
        "expect-something-else",
        lambda t: _normal(t, "Expect: something-else"),
        # http.server ignores an expectation it does not know; the Router refuses it.
        dict.fromkeys(WERKZEUG, 200) | dict.fromkeys(ASYNC, 417),
    ),
    (
        "body-shorter-than-its-length",
        lambda t: _normal(t, "Content-Length: 10") + b"abc",
        # http.server's handlers answer a GET without reading its body; the Router reads
        # a body before it answers, and says 408 after the client's deadline.
        dict.fromkeys(WERKZEUG, 200) | dict.fromkeys(ASYNC, 408),
    ),
    (
        "chunked-request-body",
        lambda t: _normal(t, "Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\n\r\n",
        dict.fromkeys(WERKZEUG, 200) | dict.fromkeys(ASYNC, 411),
    ),
]


@pytest.mark.parametrize(
    ("request_for", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_request_gets_its_status_or_a_close(target, request_for, expected) -> None:
    response = _exchange(target, request_for(target))
    status, _ = _split(response)
    assert status == expected[target.kind], response[:300]
    assert SENTINEL not in response


def test_reads_of_the_store_are_seen(target, servers, reads) -> None:
    """The other tests' "nothing read outside the store" means something: reads are seen."""
    zip_path = servers.store.get(MODULE, VERSION).zip_path
    path = f"/{MODULE}/@v/{VERSION}.zip"
    want = zip_path.read_bytes()
    reads.clear()  # the line above
    status, body = _split(_exchange(target, _get(target.target(path), target.host)))
    if target.kind == "goimport":
        assert (status, reads) == (404, [])
    else:
        assert (status, body) == (200, want)
        assert reads == [os.path.realpath(zip_path)]


# --- slow clients -------------------------------------------------------------------


def _normal_works(target: Target) -> None:
    path, body = target.normal
    assert _split(_exchange(target, _get(target.target(path), target.host))) == (200, body)


def _closed_while_trickling(sock: socket.socket, *, trickle: bool) -> bytes:
    """Send a byte every 0.2 s (if ``trickle``) until the server closes; what it sent."""
    received = b""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.send(b"a")
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                chunk = sock.recv(4096)
                if not chunk:
                    return received
                received += chunk
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return received
    raise AssertionError(f"a slow client was still connected after {DEADLINE} s")


@pytest.mark.parametrize("how", ["silent", "trickling"])
def test_a_slow_client_is_closed_by_its_deadline_and_others_are_served_meanwhile(
    target, how
) -> None:
    # Silent: connects (and, to a TLS server, never starts the handshake), then nothing.
    # Trickling: starts a request, then sends one more byte of a header every 0.2 s.
    with target.connect(handshake=how == "trickling") as sock:
        if how == "trickling":
            start = f"GET {target.target(target.normal[0])} HTTP/1.1\r\nHost: {target.host}\r\n"
            sock.sendall(start.encode())
        _normal_works(target)
        assert _closed_while_trickling(sock, trickle=how == "trickling") == b""


# --- what only the Router is asked ------------------------------------------------------

ROUTER_CASES = [
    (b"CONNECT nohost HTTP/1.1", 400, "gomodnet Router: malformed CONNECT target 'nohost'"),
    (b"CONNECT a:b:c HTTP/1.1", 400, "gomodnet Router: malformed CONNECT target 'a:b:c'"),
    (b"CONNECT :443 HTTP/1.1", 400, "gomodnet Router: malformed CONNECT target ':443'"),
    (
        b"CONNECT proxy.test:443",
        400,
        "gomodnet Router: malformed request line 'CONNECT proxy.test:443'",
    ),
    (b"CONNECT 127.0.0.2:443 HTTP/1.1", 502, "gomodnet Router: unknown host '127.0.0.2'"),
    (b"CONNECT [::1]:443 HTTP/1.1", 502, "gomodnet Router: unknown host '::1'"),
    (b"CONNECT unknown.test:443 HTTP/1.1", 502, "gomodnet Router: unknown host 'unknown.test'"),
    (
        b"CONNECT proxy.test:22 HTTP/1.1",
        502,
        "gomodnet Router: proxy.test is served on port 443 through CONNECT, not on port 22",
    ),
    (b"GET http://127.0.0.2/ HTTP/1.1", 502, "gomodnet Router: unknown host '127.0.0.2'"),
    (
        b"GET /relative HTTP/1.1",
        400,
        "gomodnet Router: a proxy request needs an absolute http:// URI, not '/relative'",
    ),
    (b"GET ftp://proxy.test/ HTTP/1.1", 502, "gomodnet Router: unknown host 'proxy.test'"),
]


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        ("9" * 5000, "99999999999999999999… (5000 digits)"),  # past int()'s 4,300 digits
        (str(MAX_REQUEST_BODY + 1), str(MAX_REQUEST_BODY + 1)),
        ("0" * 10 + str(MAX_REQUEST_BODY + 1), str(MAX_REQUEST_BODY + 1)),
    ],
    ids=["5000-digits", "one-over", "leading-zeros"],
)
def test_an_oversized_request_body_is_refused_before_it_is_read(servers, length, shown) -> None:
    router = servers.targets["router"]
    head = f"POST http://proxy.test/x HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: {length}"
    response = _exchange(router, head.encode() + b"\r\n\r\n")
    body = (
        f"gomodnet Router: a request body of {shown} bytes is over the limit of "
        f"{MAX_REQUEST_BODY} bytes\n"
    ).encode()
    assert response == (
        b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    _normal_works(router)
    for check in servers.checks:
        check()


@pytest.mark.parametrize(
    ("request_line", "status", "text"),
    ROUTER_CASES,
    ids=[line.decode() for line, _, _ in ROUTER_CASES],
)
def test_the_router_refuses_what_it_cannot_route(servers, request_line, status, text) -> None:
    router = servers.targets["router"]
    response = _exchange(router, request_line + b"\r\nHost: proxy.test\r\n\r\n")
    reason = {400: "Bad Request", 502: "Bad Gateway"}[status]
    body = f"{text}\n".encode()
    assert (
        response
        == (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + body
    )
    _normal_works(router)
    _normal_works(servers.targets["router-tls"])
    for check in servers.checks:
        check()


# --- HTTP/2: a client that chose h2 and then breaks the protocol ---------------------------


def _h2_client() -> h2.connection.H2Connection:
    client = h2.connection.H2Connection()
    client.initiate_connection()
    return client


def _huge_header_block() -> bytes:
    """A HEADERS frame and its CONTINUATIONs: 200 headers of 1 KiB, past the 64 KiB limit."""
    client = _h2_client()
    headers = [(":method", "GET"), (":path", MOD_PATH), (":scheme", "https")]
    headers += [(":authority", "proxy.test")] + [(f"x-pad-{i}", "v" * 1024) for i in range(200)]
    client.send_headers(1, headers, end_stream=True)
    return client.data_to_send()


def _stream_flood() -> bytes:
    """More open streams than the host allows at once (its SETTINGS say 100)."""
    client = _h2_client()
    headers = [(":method", "GET"), (":path", MOD_PATH), (":scheme", "https")]
    for stream_id in range(1, 2 * 150, 2):
        client.send_headers(stream_id, [*headers, (":authority", "proxy.test")])
    return client.data_to_send()


def _data_on_an_idle_stream() -> bytes:
    client = _h2_client()
    return client.data_to_send() + hyperframe.frame.DataFrame(7, data=b"x").serialize()


H2_HOSTILE = {
    "malformed preface": (b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + bytes(24), "PROTOCOL_ERROR"),
    "HTTP/1.1 after choosing h2": (_get(MOD_PATH, "proxy.test"), "PROTOCOL_ERROR"),
    "huge header block": (_huge_header_block(), "ENHANCE_YOUR_CALM"),
    "stream flood": (_stream_flood(), "PROTOCOL_ERROR"),
    "DATA on a stream never opened": (_data_on_an_idle_stream(), "PROTOCOL_ERROR"),
}


@pytest.mark.parametrize("case", H2_HOSTILE, ids=list(H2_HOSTILE))
def test_a_client_breaking_http2_gets_goaway_and_the_end(servers, case) -> None:
    """The host answers with GOAWAY and the error code HTTP/2 names (RFC 9113), closes
    within the deadline, and serves the next connection as before."""
    data, code = H2_HOSTILE[case]
    router = servers.targets["router-tls"]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with router.connect(handshake=False) as raw, context.wrap_socket(raw) as sock:
        assert sock.selected_alpn_protocol() == "h2"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        answer = read_to_close(sock, reset_ends=True, deadline=DEADLINE)
    events = h2.connection.H2Connection().receive_data(answer)
    ended = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert [h2.errors.ErrorCodes(e.error_code).name for e in ended] == [code]
    _normal_works(router)
    for check in servers.checks:
        check()
