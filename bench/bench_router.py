"""Connections per second through the Router (plain and TLS) vs a bare asyncio server."""

from __future__ import annotations

import socket
import ssl
import time

import trustme
from werkzeug import Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import Origin

from . import __main__ as table
from ._bare import BareServer

BODY = b"x" * 2048


def _read_all(sock: socket.socket) -> int:
    total = 0
    while chunk := sock.recv(65536):
        total += len(chunk)
    return total


def _plain_rate(port: int, request: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(request)
            assert _read_all(sock) > len(BODY)
    return count / (time.perf_counter() - started)


def _tls_rate(port: int, context: ssl.SSLContext, count: int, *, tunnel: bool) -> float:
    request = b"GET /m.zip HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n"
    started = time.perf_counter()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tunnel:
                raw.sendall(b"CONNECT proxy.test:443 HTTP/1.1\r\nHost: proxy.test:443\r\n\r\n")
                assert raw.recv(4096).startswith(b"HTTP/1.1 200")
            with context.wrap_socket(raw, server_hostname="proxy.test") as tls:
                tls.sendall(request)
                assert _read_all(tls) > len(BODY)
    return count / (time.perf_counter() - started)


def run(quick: bool) -> list[table.Row]:
    count = 30 if quick else 400
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("proxy.test").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with Origin() as origin, Router() as router:
        origin.route("proxy.test", lambda r: Response(BODY, content_type="application/zip"))
        origin.route("plain.test", lambda r: Response(BODY, content_type="application/zip"))
        # As the Network wires it: the Router calls the origin's dispatch in process.
        router.add_host("proxy.test", origin.url, tls=server_context, app=origin.dispatch)
        router.add_host("plain.test", origin.url, app=origin.dispatch)
        get = (
            b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
        )
        routed_plain = _plain_rate(router.port, get, count)
        routed_tls = _tls_rate(router.port, client_context, count, tunnel=True)
        response = _sample_response(router.port, get)
    with BareServer(response) as bare:
        bare_plain = _plain_rate(bare.port, get, count)
    with BareServer(response, tls=server_context) as bare:
        bare_tls = _tls_rate(bare.port, client_context, count, tunnel=False)
        with Router() as relay:
            relay.add_host("proxy.test", f"https://127.0.0.1:{bare.port}")
            relayed_tls = _tls_rate(relay.port, client_context, count, tunnel=True)
    return [
        table.Row("Router conns/s, plain HTTP (vs bare asyncio)", routed_plain, bare_plain,
                  "c/s", ">= 0.5x", routed_plain / bare_plain >= 0.5),
        table.Row("Router conns/s, TLS terminated (vs bare TLS)", routed_tls, bare_tls,
                  "c/s", ">= 0.5x", routed_tls / bare_tls >= 0.5),
        table.Row("Router conns/s, TLS relayed (vs bare TLS)", relayed_tls, bare_tls,
                  "c/s", ">= 0.5x", relayed_tls / bare_tls >= 0.5),
    ]  # fmt: skip


def _sample_response(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
