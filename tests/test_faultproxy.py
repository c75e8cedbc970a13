"""The Router and FaultProxy on real sockets, judged by curl, httpx, Python ssl and raw sockets."""

from __future__ import annotations

import gc
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import trustme
from werkzeug import Request, Response

from _helpers import exchange, open_tunnel, read_to_close, settled
from pytest_gomodnet.errors import FaultPlanError, ServerError
from pytest_gomodnet.faultproxy import Connection, FaultProxy, Router
from pytest_gomodnet.faults import (
    ChunkedCut,
    CloseBeforeResponse,
    Corrupt,
    Drip,
    HandshakeAbort,
    Refuse,
    Reset,
    Stall,
    Status,
    Throttle,
    Truncate,
    synthesized_response,
)
from pytest_gomodnet.origin import HandlerServer, Origin

BODY = bytes(range(256)) * 200  # 51,200 bytes


def _serve(request: Request) -> Response:
    return Response(BODY, content_type="application/zip")


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    with Origin() as server:
        yield server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def router(origin: Origin, ca: trustme.CA) -> Iterator[Router]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("proxy.test").configure_cert(server_context)
    origin.route("proxy.test", _serve)
    origin.route("plain.test", _serve)
    with Router() as r:
        r.add_host("proxy.test", origin.url, tls=server_context)
        r.add_host("plain.test", origin.url)
        yield r
    r.check()


@pytest.fixture
def client(router: Router, ca: trustme.CA) -> Iterator[httpx.Client]:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with httpx.Client(proxy=router.url, verify=context, timeout=5) as c:
        yield c


def curl(router: Router, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "--max-time", "5", "-x", router.url, *extra, url],
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_clean_tls_exchange_is_byte_exact(router, client) -> None:
    assert client.get("https://proxy.test/m.zip").content == BODY
    (connection,) = router.log
    assert (connection.host, connection.mode) == ("proxy.test", "tls")
    assert [(x.method, x.path, x.status) for x in connection.exchanges] == [("GET", "/m.zip", 200)]


def _all_ended(router: Router) -> list[Connection]:
    """The log once every connection in it has ended (the Router logs after the client)."""
    return list(settled(lambda: router.log, connections=True))


def test_curl_reports_a_cut_body_with_exit_18(router) -> None:
    router.fault("plain.test", Truncate(1000, where="body"))
    result = curl(router, "http://plain.test/m.zip")
    assert result.returncode == 18
    assert result.stderr == (
        f"curl: (18) transfer closed with {len(BODY) - 1000} bytes remaining to read\n"
    )


def test_curl_reports_a_reset_with_exit_56(router) -> None:
    router.fault("plain.test", Reset(1000, where="body"))
    result = curl(router, "http://plain.test/m.zip")
    assert result.returncode == 56
    assert result.stderr == "curl: (56) Recv failure: Connection reset by peer\n"


def test_curl_times_out_on_a_stall_with_exit_28(router) -> None:
    router.fault("plain.test", Stall(10, seconds=3))
    result = curl(router, "http://plain.test/m.zip", "--max-time", "0.5")
    assert result.returncode == 28
    assert re.fullmatch(
        r"curl: \(28\) Operation timed out after \d+ milliseconds with 0 bytes received\n",
        result.stderr,
    ), result.stderr


def test_curl_receives_exactly_what_whole_response_plans_promise(router, tmp_path) -> None:
    router.fault("plain.test", Corrupt(1000, where="body"), Drip(8192, 0.01), CloseBeforeResponse())
    bodies = []
    for index in range(3):
        out = tmp_path / f"body{index}"
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "5", "-x", router.url, "-o", str(out),
             "http://plain.test/m.zip"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        bodies.append(
            (result.returncode, result.stderr, out.read_bytes() if out.exists() else None)
        )
    flipped = BODY[:1000] + bytes([BODY[1000] ^ 0xFF]) + BODY[1001:]
    assert bodies == [
        (0, "", flipped),
        (0, "", BODY),
        (52, "curl: (52) Empty reply from server\n", None),
    ]
    assert [(c.exchanges[0].fault, c.exchanges[0].ended) for c in _all_ended(router)] == [
        ("Corrupt(at=1000, xor=255, where='body')", "ok"),
        ("Drip(chunk=8192, delay=0.01)", "ok"),
        ("CloseBeforeResponse()", "fin"),
    ]


def test_httpx_sees_each_fault_as_its_own_error(router, client) -> None:
    router.fault("proxy.test", Truncate(100, where="body"), Reset(100, where="body"), Stall(5, 0.5))
    with pytest.raises(httpx.RemoteProtocolError, match="received 100 bytes, expected 51200"):
        client.get("https://proxy.test/m.zip")
    # An RST makes the kernel drop bytes the client had not read yet, so httpx
    # reports either the reset or a disconnect, depending on timing.
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get("https://proxy.test/m.zip")
    with pytest.raises(httpx.ReadTimeout):
        client.get("https://proxy.test/m.zip", timeout=0.2)
    assert [c.exchanges[0].ended for c in router.log] == ["fin", "rst", "open"]
    time.sleep(0.6)  # the stall's own deadline ends it
    assert router.log[2].exchanges[0].ended == "deadline"


def test_httpx_sees_a_reset_of_plain_http_as_a_read_error(router) -> None:
    # Without TLS in between, the RST reaches httpx as the socket's own ECONNRESET.
    router.fault("plain.test", Reset(100, where="body"), Truncate(100, where="body"))
    with httpx.Client(proxy=router.url, timeout=5) as plain:
        with pytest.raises(httpx.ReadError, match=r"^\[Errno 104\] Connection reset by peer$"):
            plain.get("http://plain.test/m.zip")
        with pytest.raises(httpx.RemoteProtocolError, match="received 100 bytes, expected 51200"):
            plain.get("http://plain.test/m.zip")
        assert plain.get("http://plain.test/m.zip").content == BODY
    assert [c.exchanges[0].ended for c in _all_ended(router)] == ["rst", "fin", "ok"]


def test_sequence_cuts_the_first_exchange_and_lets_the_retry_through(router, client) -> None:
    router.fault("proxy.test", Truncate(100), None, path="*.zip")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("https://proxy.test/m.zip")
    assert client.get("https://proxy.test/m.zip").content == BODY
    assert client.get("https://proxy.test/m.zip").content == BODY


def test_path_faults_leave_other_paths_clean(router, client) -> None:
    router.fault("proxy.test", Truncate(10), path="*.zip")
    assert client.get("https://proxy.test/m.mod").content == BODY
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("https://proxy.test/m.zip")


def _tunnel(router: Router, host: str = "proxy.test") -> socket.socket:
    return open_tunnel(router.port, host)


def _read_until_error(sock: socket.socket, error: type[Exception]) -> bytes:
    """Everything received before ``error`` ends the reading; fails if it never comes."""
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except error:
        return received
    pytest.fail(f"the connection ended cleanly after {len(received)} bytes, not with {error}")


def test_tls_no_close_notify_is_an_ssl_eof(router, ca) -> None:
    router.fault("proxy.test", Truncate(50, close="tls-no-close-notify"))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with _tunnel(router) as raw:
        assert raw.recv(1024) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        # suppress_ragged_eofs=False: otherwise Python's ssl reports the missing
        # close_notify as a clean EOF.
        with context.wrap_socket(
            raw, server_hostname="proxy.test", suppress_ragged_eofs=False
        ) as tls:
            tls.sendall(b"GET /m.zip HTTP/1.1\r\nHost: proxy.test\r\n\r\n")
            received = _read_until_error(tls, ssl.SSLEOFError)
    assert len(received) == 50
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")


def test_reset_is_a_real_tcp_rst(router) -> None:
    router.fault("plain.test", Reset(20))
    with socket.create_connection(("127.0.0.1", router.port), timeout=5) as sock:
        sock.sendall(b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\n\r\n")
        received = _read_until_error(sock, ConnectionResetError)
    assert len(received) == 20


def test_refuse_resets_the_tunnel_and_handshake_abort_closes_it(router, client) -> None:
    router.fault("proxy.test", Refuse(), HandshakeAbort(), None)
    with pytest.raises(httpx.ReadError, match="Connection reset by peer"):
        client.get("https://proxy.test/m.zip")
    with pytest.raises(httpx.ConnectError, match=r"^\[SSL: UNEXPECTED_EOF_WHILE_READING\]"):
        client.get("https://proxy.test/m.zip")
    assert client.get("https://proxy.test/m.zip").content == BODY
    assert [c.fault for c in router.log[:2]] == ["Refuse()", "HandshakeAbort()"]


def test_connection_faults_cannot_aim_at_a_path(router) -> None:
    with pytest.raises(FaultPlanError, match=r"Refuse\(\) happens before any request is read"):
        router.fault("proxy.test", Refuse(), path="*.zip")


def test_throttle_delivers_at_the_asked_rate(router, client) -> None:
    router.fault("proxy.test", Throttle(200_000))
    started = time.monotonic()
    assert client.get("https://proxy.test/m.zip").content == BODY
    rate = len(BODY) / (time.monotonic() - started)
    assert 100_000 < rate < 260_000


def test_unknown_host_is_a_502_naming_it(router) -> None:
    with _tunnel(router, "nowhere.test") as sock:
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert reply.endswith(b"gomodnet Router: unknown host 'nowhere.test'\n")


GARBAGE = {
    "not a request line": (b"HELLO\r\n\r\n", "malformed request line 'HELLO'"),
    "binary": (b"\x16\x03\x01\x00\xa5\r\n\r\n", "a NUL or a lone CR in line 1 of the request head"),
    "binary without a NUL": (
        b"\x16\x03\x01\xa5\r\n\r\n",
        "malformed request line '\\x16\\x03\\x01¥'",
    ),
    "bare LF": (
        b"GET http://plain.test/ HTTP/1.1\r\nHost: plain.test\n\n",
        "line 2 of the request head ends in a bare LF (HTTP/1.1 ends every line with CRLF)",
    ),
    "control character in the target": (
        b"GET http://plain.test/a\x01b HTTP/1.1\r\n\r\n",
        "a control character in the request target 'http://plain.test/a\\x01b'",
    ),
    "CONNECT without a port": (
        b"CONNECT proxy.test HTTP/1.1\r\n\r\n",
        "malformed CONNECT target 'proxy.test'",
    ),
    "CONNECT with a named port": (
        b"CONNECT proxy.test:https HTTP/1.1\r\n\r\n",
        "malformed CONNECT target 'proxy.test:https'",
    ),
    "origin-form target": (
        b"GET /m.zip HTTP/1.1\r\nHost: plain.test\r\n\r\n",
        "a proxy request needs an absolute http:// URI, not '/m.zip'",
    ),
    "Content-Length not a number": (
        b"POST http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\nContent-Length: ten\r\n\r\n",
        "malformed Content-Length 'ten'",
    ),
    "a head that never ends": (
        b"GET http://plain.test/" + b"a" * 70_000,
        "request head longer than 65536 bytes",
    ),
}


@pytest.mark.parametrize("case", GARBAGE, ids=list(GARBAGE))
def test_garbage_gets_400_and_the_router_keeps_serving(router, client, case) -> None:
    garbage, message = GARBAGE[case]
    body = f"gomodnet Router: {message}\n".encode()
    with socket.create_connection(("127.0.0.1", router.port), timeout=5) as sock:
        sock.sendall(garbage)
        reply = read_to_close(sock, reset_ends=True)  # ends: the Router closed the connection
    assert reply == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    assert client.get("https://proxy.test/m.zip").content == BODY
    router.check()  # a client's garbage is not the Router's own failure


def test_garbage_inside_a_tls_tunnel_gets_400_too(router, ca, client) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with _tunnel(router) as raw:
        assert raw.recv(1024) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        with context.wrap_socket(raw, server_hostname="proxy.test") as tls:
            tls.sendall(b"NONSENSE\r\n\r\n")
            reply = read_to_close(tls, reset_ends=True)
    body = b"gomodnet Router: malformed request line 'NONSENSE'\n"
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"\r\n\r\n" + body)
    assert client.get("https://proxy.test/m.zip").content == BODY
    router.check()


@pytest.mark.parametrize(
    "host", ["proxy_test", "proxy.test:443", "", "-bad.test", "*.proxy.test", "prox y.test"]
)
def test_a_host_name_that_is_not_valid_is_a_value_error(router, host) -> None:
    with pytest.raises(ValueError, match=r"^invalid host ") as add:
        router.add_host(host, "http://127.0.0.1:8080")
    with pytest.raises(ValueError, match=r"^invalid host ") as fault:
        router.fault(host, Truncate(1))
    assert str(add.value) == str(fault.value)


def test_host_names_are_checked_with_the_rule_broken(router) -> None:
    with pytest.raises(ValueError, match="proxy_test") as info:
        router.add_host("proxy_test", "http://127.0.0.1:8080")
    assert str(info.value) == (
        'invalid host "proxy_test": not an IP address, and DNS label "proxy_test" has "_": '
        "only letters, digits and '-' are allowed"
    )
    with pytest.raises(ValueError, match="wildcard") as info:
        router.fault("*.proxy.test", None)
    assert str(info.value) == (
        'invalid host "*.proxy.test": a Router routes one name, not a wildcard'
    )
    router.add_host("Mixed.Case.test", "http://127.0.0.1:8080")  # names are case-insensitive
    router.add_host("127.0.0.1", "http://127.0.0.1:8080")


def test_upstreams_must_be_on_loopback(router) -> None:
    with pytest.raises(ValueError, match="is not on loopback"):
        router.add_host("evil.test", "http://192.0.2.1:80")


def test_fault_proxy_in_front_of_a_base_url(origin) -> None:
    origin.route("127.0.0.1", _serve)
    with FaultProxy(origin.url, Truncate(10, where="body"), None) as proxy, httpx.Client() as c:
        with pytest.raises(httpx.RemoteProtocolError, match="received 10 bytes"):
            c.get(f"{proxy.url}/m.zip")
        assert c.get(f"{proxy.url}/m.zip").content == BODY
    proxy.check()


def test_close_is_bounded_even_with_a_stalled_connection(router) -> None:
    router.fault("plain.test", Stall(10, seconds=30))
    sock = socket.create_connection(("127.0.0.1", router.port), timeout=5)
    sock.sendall(b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\n\r\n")
    assert sock.recv(10)
    started = time.monotonic()
    router.close()
    assert time.monotonic() - started < 3.0  # bounded: not the 30 s stall
    sock.close()


def test_close_is_bounded_even_with_a_handler_that_does_not_return(origin) -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(request: Request) -> Response:
        entered.set()
        release.wait(10)
        return Response(b"late")

    router = Router()
    router.start()
    router.add_host("stuck.test", origin.url, app=stuck)
    try:
        with socket.create_connection(("127.0.0.1", router.port), timeout=5) as sock:
            sock.sendall(b"GET http://stuck.test/ HTTP/1.1\r\nHost: stuck.test\r\n\r\n")
            assert entered.wait(5)
            started = time.monotonic()
            with pytest.raises(ServerError, match=r"a handler was still running 1 s after close"):
                router.close()
            took = time.monotonic() - started
            assert sock.recv(100) == b""  # the client's connection was ended, not left hanging
    finally:
        release.set()
    assert took < 3.0  # the 1 s wait, with room for a loaded machine


# --- a host the Router relays (added without tls=): bytes pass untouched ------------


def test_a_relayed_host_keeps_its_own_tls_end_to_end(ca) -> None:
    upstream_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("relay.test").configure_cert(upstream_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with (
        HandlerServer(_serve, ssl_context=upstream_context) as upstream,
        Router() as relay_router,
    ):
        relay_router.add_host("relay.test", upstream.url)  # https://127.0.0.1:PORT, no tls=
        with httpx.Client(proxy=relay_router.url, verify=client_context, timeout=5) as c:
            assert c.get("https://relay.test/m.zip").content == BODY
        (connection,) = _all_ended(relay_router)
        assert (connection.host, connection.mode, connection.ended) == (
            "relay.test",
            "relay",
            "fin",
        )
        (tunnel,) = connection.exchanges
        assert (tunnel.method, tunnel.path, tunnel.fault, tunnel.ended) == (
            "CONNECT",
            "relay.test:443",
            None,
            "ok",
        )
        assert tunnel.bytes_down > len(BODY)  # TLS bytes, both ways
        assert tunnel.bytes_up > 0
        relay_router.check()


def test_a_relayed_tunnel_ends_after_its_idle_deadline_but_not_while_bytes_flow() -> None:
    # An upstream that reads and never answers: the tunnel lives while the client sends,
    # then ends one client_timeout after the last byte either way.
    with socket.create_server(("127.0.0.1", 0)) as silent, Router(client_timeout=0.5) as router:
        router.add_host("silent.test", f"http://127.0.0.1:{silent.getsockname()[1]}")
        with _tunnel(router, "silent.test") as sock:
            assert sock.recv(1024) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            upstream, _ = silent.accept()
            with upstream:
                for _ in range(4):  # 1.2 s of upload in all, never 0.5 s without a byte
                    sock.sendall(b"x")
                    last_byte = time.monotonic()
                    assert upstream.recv(16) == b"x"
                    time.sleep(0.3)
                assert read_to_close(sock, reset_ends=True) == b""
                waited = time.monotonic() - last_byte
        (connection,) = router.log
    assert connection.ended == "deadline"
    assert connection.exchanges[0].bytes_up == 4
    assert 0.45 < waited < 3.0  # the deadline, counted from the last byte, with room for load
    router.check()


def _relayed_exchange(router: Router, request: bytes) -> tuple[bytes, str]:
    """What a client gets through a CONNECT tunnel the Router relays, and how it ended."""
    with _tunnel(router, "plain.test") as sock:
        assert sock.recv(1024) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, "reset"
    return received, "eof"


def _undated(response: bytes) -> bytes:
    return re.sub(rb"Date: [^\r]*", lambda m: b"Date: " + b"-" * (len(m[0]) - 6), response)


def test_byte_faults_on_a_relayed_host_count_the_bytes_it_relays(router) -> None:
    # plain.test is added without tls=, so a CONNECT to it is relayed: here to plain
    # HTTP, which makes every relayed byte readable.
    router.fault("plain.test", Truncate(100), Reset(20), None)
    request = b"GET /m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
    cut, cut_end = _relayed_exchange(router, request)
    reset, reset_end = _relayed_exchange(router, request)
    whole, whole_end = _relayed_exchange(router, request)
    assert whole_end == "eof"
    assert whole.startswith(b"HTTP/1.1 200 OK\r\n")
    assert whole.endswith(b"\r\n\r\n" + BODY)
    # The Date header may tick between connections; it always has the same length.
    assert (_undated(cut), cut_end) == (_undated(whole[:100]), "eof")
    assert (reset, reset_end) == (whole[:20], "reset")
    assert [
        (c.mode, c.ended, c.exchanges[0].fault, c.exchanges[0].bytes_down)
        for c in _all_ended(router)
    ] == [
        ("relay", "fin", "Truncate(at=100, close='fin', where=None)", 100),
        ("relay", "rst", "Reset(at=20, where=None)", 20),
        ("relay", "fin", None, len(whole)),
    ]
    assert router.log[0].exchanges[0].bytes_up == len(request)


def test_http_faults_on_a_relayed_host_are_an_error_not_a_silent_pass(router) -> None:
    router.fault("plain.test", Status(503))
    request = b"GET /m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
    assert _relayed_exchange(router, request)[0] == b""
    with pytest.raises(ServerError, match=r"Status\(code=503, body=b''\) rewrites HTTP"):
        router.check()


def test_framing_a_relayed_host_is_an_error_not_a_silent_pass(router) -> None:
    router.frame("plain.test", "close")
    request = b"GET /m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
    assert _relayed_exchange(router, request)[0] == b""
    with pytest.raises(ServerError, match=r"framing='close' re-frames HTTP, but the Router relays"):
        router.check()


def test_a_status_fault_honours_the_clients_connection_close(router) -> None:
    router.fault("plain.test", Status(503, b"busy\n"))
    with socket.create_connection(("127.0.0.1", router.port), timeout=5) as sock:
        sock.sendall(
            b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
        )
        received = b"".join(iter(lambda: sock.recv(4096), b""))  # TimeoutError if kept open
    assert received == synthesized_response(Status(503, b"busy\n"))
    (connection,) = router.log
    assert connection.ended == "fin"


# --- hosts served in process -----------------------------------------------------

# Requests whose WSGI view is easy to get wrong: escapes, non-ASCII, repeated headers.
ODD_REQUESTS = {
    "escaped space and query": b"GET /a%20b/x?q=1&go-get=1 HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n",
    "underscore header": b"GET /u HTTP/1.1\r\nX_Forwarded: 1\r\n",
    "utf-8 escapes": b"GET /%C3%A9?x=%C3%A9 HTTP/1.1\r\n",
    "escaped percent": b"GET /a%2541 HTTP/1.1\r\n",
    "not utf-8": b"GET /a%FF HTTP/1.1\r\n",
    "HTTP/1.0 with a body": (
        b"POST /p HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    ),
}


def _describe(request: Request) -> Response:
    """Echo what a handler sees of a request (minus what differs by design: the scheme)."""
    seen = [
        request.method,
        request.path,
        request.full_path,
        request.host,
        repr(sorted(request.args.items(multi=True))),
        repr(sorted((k, v) for k, v in request.headers.items() if k != "Connection")),
        repr(request.get_data()),
        request.environ["SERVER_PROTOCOL"],
        repr(request.content_length),
    ]
    return Response("\n".join(seen), content_type="text/plain; charset=utf-8")


@pytest.mark.parametrize("inline", [False, True], ids=["worker", "inline"])
@pytest.mark.parametrize("case", ODD_REQUESTS, ids=list(ODD_REQUESTS))
def test_an_in_process_handler_sees_what_the_origin_server_shows_it(origin, case, inline) -> None:
    origin.route("echo.test", _describe)
    line, _, headers = ODD_REQUESTS[case].partition(b"\r\n")
    method, target, version = line.split(b" ")
    body = b"abc" if method == b"POST" else b""
    rest = b"Host: echo.test\r\n" + headers + b"Connection: close\r\n\r\n" + body
    direct = exchange(origin.port, b"%s %s %s\r\n%s" % (method, target, version, rest))
    with Router() as router:
        router.add_host("echo.test", origin.url, app=origin.dispatch, inline=inline)
        absolute = b"http://echo.test" + target
        routed = exchange(router.port, b"%s %s %s\r\n%s" % (method, absolute, version, rest))
    router.check()
    assert routed.partition(b"\r\n\r\n")[2] == direct.partition(b"\r\n\r\n")[2]
    assert routed.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_handler_that_blocks_holds_up_only_its_own_exchange(origin) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        entered.set()
        release.wait(5)
        return Response(b"late")

    origin.route("slow.test", slow)
    origin.route("quick.test", _serve)
    with Router() as router:
        router.add_host("slow.test", origin.url, app=origin.dispatch)
        router.add_host("quick.test", origin.url, app=origin.dispatch, inline=True)
        with socket.create_connection(("127.0.0.1", router.port), timeout=5) as waiting:
            waiting.sendall(
                b"GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\nConnection: close\r\n\r\n"
            )
            assert entered.wait(5)  # the slow handler is running: the quick one goes now
            quick = b"GET http://quick.test/m.zip HTTP/1.1\r\nHost: quick.test\r\n"
            assert exchange(router.port, quick + b"Connection: close\r\n\r\n").endswith(BODY)
            assert not release.is_set()
            release.set()
            assert b"".join(iter(lambda: waiting.recv(4096), b"")).endswith(b"\r\n\r\nlate")
    router.check()


def test_an_inline_host_is_called_inline_only_for_a_request_naming_it(origin) -> None:
    seen: list[str] = []

    def where(request: Request) -> Response:
        seen.append(threading.current_thread().name)
        return Response(b"ok")

    origin.route("inline.test", where)
    origin.route("other.test", where)
    with Router(name="gomodnet-test-router") as router:
        router.add_host("inline.test", origin.url, app=origin.dispatch, inline=True)
        get = b"GET http://inline.test/ HTTP/1.1\r\n%sConnection: close\r\n\r\n"
        for host in (b"Host: inline.test\r\n", b"Host: inline.test:80\r\n", b""):
            assert exchange(router.port, get % host).endswith(b"\r\n\r\nok")
        # Another host's name never reaches the app at all.
        other = exchange(router.port, get % b"Host: other.test\r\n")
        assert other.startswith(b"HTTP/1.1 421 Misdirected Request\r\n")
    router.check()
    assert seen[:2] == ["gomodnet-test-router", "gomodnet-test-router"]
    assert seen[2].startswith("gomodnet-test-router-worker")
    assert len(seen) == 3


@pytest.mark.parametrize("inline", [False, True], ids=["worker", "inline"])
def test_head_gets_no_body_and_the_connection_stays_in_step(origin, inline) -> None:
    origin.route("echo.test", _serve)
    with Router() as router:
        router.add_host("echo.test", origin.url, app=origin.dispatch, inline=inline)
        with socket.create_connection(("127.0.0.1", router.port), timeout=5) as sock:
            sock.sendall(b"HEAD http://echo.test/m.zip HTTP/1.1\r\nHost: echo.test\r\n\r\n")
            head = sock.recv(65536)
            sock.sendall(
                b"GET http://echo.test/m.zip HTTP/1.1\r\nHost: echo.test\r\n"
                b"Connection: close\r\n\r\n"
            )
            after = b"".join(iter(lambda: sock.recv(65536), b""))
    router.check()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\n\r\n")  # the head alone, though it names the body's length
    assert f"Content-Length: {len(BODY)}\r\n".encode() in head
    assert after.startswith(b"HTTP/1.1 200 OK\r\n")
    assert after.endswith(b"\r\n\r\n" + BODY)


@pytest.mark.parametrize("inline", [False, True], ids=["worker", "inline"])
def test_a_request_served_in_process_is_freed_at_once_not_by_the_collector(origin, inline) -> None:
    """The request an app is given does not hold itself in its environ (werkzeug's
    populate_request): that cycle kept each request's environ, headers and body alive
    until the cyclic collector ran, and cost a plain connection 4 % (docs/bench.md)."""
    origin.route("echo.test", _serve)
    get = b"GET http://echo.test/m.zip HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\n\r\n"
    with Router() as router:
        router.add_host("echo.test", origin.url, app=origin.dispatch, inline=inline)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept here, to look at
        try:
            answers = [exchange(router.port, get) for _ in range(20)]
            gc.collect()
            cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, Request)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    router.check()
    assert all(answer.endswith(BODY) for answer in answers)
    assert cyclic == []


# --- connection faults at a FaultProxy: what an httpx client sees -----------------------


def test_fault_proxy_refuse_resets_the_connection_then_serves(origin) -> None:
    origin.route("127.0.0.1", _serve)
    with FaultProxy(origin.url, Refuse(), None) as proxy, httpx.Client(timeout=5) as c:
        with pytest.raises(httpx.ReadError, match=r"^\[Errno 104\] Connection reset by peer$"):
            c.get(f"{proxy.url}/m.zip")
        assert c.get(f"{proxy.url}/m.zip").content == BODY
        assert [(x.fault, x.ended, len(x.exchanges)) for x in proxy.log[:1]] == [
            ("Refuse()", "rst", 0)
        ]


def test_fault_proxy_over_tls_aborts_the_handshake_and_refuses(origin, ca) -> None:
    origin.route("127.0.0.1", _serve)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    plans = (HandshakeAbort(), Refuse(), None)
    with (
        FaultProxy(origin.url, *plans, tls=server_context) as proxy,
        httpx.Client(verify=client_context, timeout=5) as c,
    ):
        assert proxy.url.startswith("https://127.0.0.1:")
        with pytest.raises(httpx.ConnectError, match=r"^\[SSL: UNEXPECTED_EOF_WHILE_READING\]"):
            c.get(f"{proxy.url}/m.zip")
        with pytest.raises(httpx.ConnectError, match=r"^\[Errno 104\] Connection reset by peer$"):
            c.get(f"{proxy.url}/m.zip")
        assert c.get(f"{proxy.url}/m.zip").content == BODY
        assert [(x.fault, x.ended) for x in proxy.log[:2]] == [
            ("HandshakeAbort()", "handshake-abort"),
            ("Refuse()", "rst"),
        ]


def test_fault_proxy_over_plain_http_rejects_handshake_abort_at_once(origin) -> None:
    with pytest.raises(FaultPlanError) as raised:
        FaultProxy(origin.url, HandshakeAbort())
    assert str(raised.value).startswith(
        "HandshakeAbort() closes a connection before its TLS handshake, but this FaultProxy "
        "serves plain HTTP at http://127.0.0.1:"
    )
    assert str(raised.value).endswith(": pass tls= to serve HTTPS, or use CloseBeforeResponse()")


def test_a_connection_fault_waits_for_the_next_connection(router, client) -> None:
    # The keep-alive connection of the first exchange carries the second one too: a Refuse
    # queued behind it is for the next connection, not taken (and lost) by that exchange.
    router.fault("proxy.test", None, Refuse(), None)
    assert client.get("https://proxy.test/m.zip").content == BODY
    assert client.get("https://proxy.test/m.zip").content == BODY
    assert [len(c.exchanges) for c in router.log] == [2]
    with client.stream("GET", "https://proxy.test/m.zip") as busy:  # a second connection
        with pytest.raises(httpx.ReadError, match="Connection reset by peer"):
            client.get("https://proxy.test/m.zip")
        busy.read()
    assert [c.fault for c in router.log] == [None, "Refuse()"]


def test_faults_a_relayed_host_cannot_carry_out_fail_at_fault(ca) -> None:
    upstream_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("relay.test").configure_cert(upstream_context)
    with HandlerServer(_serve, ssl_context=upstream_context) as upstream, Router() as router:
        router.add_host("relay.test", upstream.url)  # https://: relayed byte for byte
        with pytest.raises(FaultPlanError) as status:
            router.fault("relay.test", None, Status(503))
        with pytest.raises(FaultPlanError) as path:
            router.fault("relay.test", Truncate(100), path="*.zip")
        router.fault("later.test", Status(503), must_fire=False)  # it never can
        with pytest.raises(FaultPlanError) as added_later:
            router.add_host("later.test", upstream.url)
    assert str(status.value) == (
        "Status(code=503, body=b'') rewrites HTTP, but relay.test is relayed byte for byte "
        "(its upstream serves its own TLS): add the host with an http:// upstream for HTTP faults"
    )
    assert str(path.value) == (
        "relay.test is relayed byte for byte (its upstream serves its own TLS), so the Router "
        "never sees a request path: drop path='*.zip', or add the host with an http:// "
        "upstream for the Router to terminate TLS"
    )
    assert str(added_later.value) == str(status.value).replace("relay.test", "later.test")


def test_refuse_meets_a_plain_request_too(router) -> None:
    router.fault("plain.test", Refuse(), None)
    with httpx.Client(proxy=router.url, timeout=5) as plain:
        with pytest.raises(httpx.ReadError, match=r"^\[Errno 104\] Connection reset by peer$"):
            plain.get("http://plain.test/m.zip")
        assert plain.get("http://plain.test/m.zip").content == BODY
    assert [(c.mode, c.fault, c.ended) for c in _all_ended(router)] == [
        ("http", "Refuse()", "rst"),
        ("http", None, "client-closed"),
    ]


def test_pipelined_requests_each_get_their_answer_in_order(router, origin) -> None:
    """A POST's body and the next request arrive with its head in one segment: the body
    goes upstream, the next request is answered after it."""
    origin.route("echo.test", lambda request: Response(b"got " + request.get_data()))
    router.add_host("echo.test", origin.url)
    post = b"POST http://echo.test/a HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 5\r\n\r\nhello"
    get = b"GET http://echo.test/b HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\n\r\n"
    reply = exchange(router.port, post + get)
    bodies = re.findall(rb"HTTP/1\.1 200 OK\r\n.*?\r\n\r\n(got [a-z]*)", reply, re.S)
    assert bodies == [b"got hello", b"got "]
    (connection,) = _all_ended(router)
    assert [(x.method, x.path, x.status) for x in connection.exchanges] == [
        ("POST", "/a", 200),
        ("GET", "/b", 200),
    ]


def test_hosts_sharing_a_context_are_offered_anew_after_a_fault_scope(origin, ca) -> None:
    """Inside the scope b.test sets the shared context to HTTP/1.1 alone (its ChunkedCut
    waits, and so does a.test's); after it, a.test's next handshake offers h2 again."""
    shared = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("a.test", "b.test").configure_cert(shared)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    client_context.set_alpn_protocols(["h2", "http/1.1"])

    def offered(router: Router, host: str) -> str | None:
        with open_tunnel(router.port, host) as raw:
            assert raw.recv(1024) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            with client_context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.selected_alpn_protocol()

    with Router() as router:
        router.add_host("a.test", origin.url, tls=shared)
        router.add_host("b.test", origin.url, tls=shared)
        seen = [offered(router, "a.test")]
        with router.fault_scope():
            for host in ("a.test", "b.test"):
                router.fault(host, ChunkedCut(10), path="*.mod", must_fire=False)
            seen.append(offered(router, "b.test"))
        seen.append(offered(router, "a.test"))
    assert seen == ["h2", "http/1.1", "h2"]
