"""Connections per second through the Router (plain and TLS) vs a bare asyncio server."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time

import trustme
from werkzeug import Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import Origin

from . import _best
from . import _table as table
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
    rounds, count = (2, 15) if quick else (5, 100)
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("proxy.test").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    get = _get("plain.test")
    with contextlib.ExitStack() as stack:
        origin, router = stack.enter_context(Origin()), stack.enter_context(Router())
        for host in ("proxy.test", "plain.test", "worker.test"):
            origin.route(host, lambda r: Response(BODY, content_type="application/zip"))
        # As the Network wires its GoProxy and GoImportHost hosts: the Router calls the
        # origin's dispatch in process, on its own thread (those handlers never block).
        router.add_host(
            "proxy.test", origin.url, tls=server_context, app=origin.dispatch, inline=True
        )
        router.add_host("plain.test", origin.url, app=origin.dispatch, inline=True)
        # As it wires a test's own handler (add_handler), which may block: in a worker.
        router.add_host("worker.test", origin.url, app=origin.dispatch)
        response = _sample_response(router.port, get)
        bare = stack.enter_context(BareServer(response))
        bare_tls = stack.enter_context(BareServer(response, tls=server_context))
        bare_tunnel = stack.enter_context(BareServer(response, tls=server_context, tunnel=True))
        relay = stack.enter_context(Router())
        relay.add_host("proxy.test", f"https://127.0.0.1:{bare_tls.port}")
        rate = _best.best_rates(rounds, {
            "plain": lambda: _plain_rate(router.port, get, count),
            "worker": lambda: _plain_rate(router.port, _get("worker.test"), count),
            "bare": lambda: _plain_rate(bare.port, get, count),
            "tls": lambda: _tls_rate(router.port, client_context, count, tunnel=True),
            "relayed": lambda: _tls_rate(relay.port, client_context, count, tunnel=True),
            "bare tls": lambda: _tls_rate(bare_tls.port, client_context, count, tunnel=False),
            "bare tunnel": lambda: _tls_rate(bare_tunnel.port, client_context, count, tunnel=True),
        })  # fmt: skip
    plain, worker, bare_plain = rate["plain"], rate["worker"], rate["bare"]
    tls, relayed, bare_tls_rate = rate["tls"], rate["relayed"], rate["bare tls"]
    return [
        table.Row("Router conns/s, plain HTTP (vs bare asyncio)", plain, bare_plain,
                  "c/s", ">= 0.75x", plain / bare_plain >= 0.75),
        table.Row("Router conns/s, plain, handler in a worker (info)", worker, bare_plain,
                  "c/s", "-", None),
        table.Row("Router conns/s, TLS terminated (vs bare TLS)", tls, bare_tls_rate,
                  "c/s", ">= 0.9x", tls / bare_tls_rate >= 0.9),
        table.Row("Router c/s, TLS terminated (vs bare tunnel, info)", tls,
                  rate["bare tunnel"], "c/s", "-", None),
        table.Row("Router conns/s, TLS relayed (vs bare TLS)", relayed, bare_tls_rate,
                  "c/s", ">= 0.5x", relayed / bare_tls_rate >= 0.5),
    ]  # fmt: skip


def _get(host: str) -> bytes:
    return f"GET http://{host}/m.zip HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def _sample_response(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
