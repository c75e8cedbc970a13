"""Connections through a Router, for the A/B tools to measure any two trees.

``python bench/_workload.py MODE N``: N connections, for :mod:`bench.instructions` to
count. ``python bench/_workload.py serve MODE DIR``: a Router that stays up for
:mod:`bench.ab`: it prints its port, then for each line ``N`` on its stdin makes N
connections from its own thread (a client in the Router's process, as a Python test's
is) and prints the seconds they took and the CPU seconds the Router's thread has used
so far; a client elsewhere uses the port, and ``0`` asks for the CPU seconds alone. Only
names every version of the plugin has (``Router``, ``add_host``, ``Origin``, the
thread name), so one workload measures any two trees.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import trustme
from werkzeug import Request, Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import Origin

BODY = b"x" * 2048
PLAIN = b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
TUNNEL = b"CONNECT proxy.test:443 HTTP/1.1\r\nHost: proxy.test:443\r\n\r\n"
TUNNELLED = b"GET /m.zip HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n"
SERVER_PEM, CA_PEM = "proxy.test.pem", "ca.pem"
ROUTER_THREAD = "gomodnet-router"


def _zip(request: Request) -> Response:
    return Response(BODY, content_type="application/zip")


def _plain(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(PLAIN)
        while sock.recv(65536):
            pass


def _tls(port: int, context: ssl.SSLContext) -> None:
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(TUNNEL)
        raw.recv(4096)
        with context.wrap_socket(raw, server_hostname="proxy.test") as tls:
            tls.sendall(TUNNELLED)
            while tls.recv(65536):
                pass


def connect(mode: str, port: int, client: ssl.SSLContext, count: int) -> None:
    """``count`` connections of ``mode``, one after another, each read to its end."""
    for _ in range(count):
        if mode == "plain":
            _plain(port)
        else:
            _tls(port, client)


def write_certificates(directory: Path) -> None:
    """A new CA's certificate, and proxy.test's key and chain, as :func:`contexts` reads them."""
    ca = trustme.CA()
    ca.issue_cert("proxy.test").private_key_and_cert_chain_pem.write_to_path(directory / SERVER_PEM)
    ca.cert_pem.write_to_path(directory / CA_PEM)


def contexts(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The server's and the client's TLS contexts from the certificates in ``directory``."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(directory / SERVER_PEM)
    client = ssl.create_default_context(cafile=directory / CA_PEM)
    client.set_alpn_protocols(["http/1.1"])  # the same exchange on trees with and without h2
    return server, client


@contextlib.contextmanager
def serving(server: ssl.SSLContext) -> Iterator[int]:
    """A Router serving plain.test and proxy.test (TLS with ``server``) in process; its port."""
    with Origin() as origin, Router() as router:
        origin.route("plain.test", _zip)
        origin.route("proxy.test", _zip)
        router.add_host("plain.test", origin.url, app=origin.dispatch, inline=True)
        router.add_host("proxy.test", origin.url, tls=server, app=origin.dispatch, inline=True)
        yield router.port


def main(mode: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        write_certificates(Path(scratch))
        server, client = contexts(Path(scratch))
    with serving(server) as port:
        connect(mode, port, client, count)


def router_clock() -> int:
    """The CPU-time clock of the Router's loop thread: its work alone, whatever the
    client (in this process or not) costs."""
    threads = [thread for thread in threading.enumerate() if thread.name == ROUTER_THREAD]
    if len(threads) != 1 or threads[0].ident is None:
        names = sorted(thread.name for thread in threading.enumerate())
        raise RuntimeError(f"want one running thread named {ROUTER_THREAD!r}, found {names}")
    return time.pthread_getcpuclockid(threads[0].ident)


def serve(mode: str, directory: str) -> None:
    """Serve until stdin ends, with the certificates :func:`write_certificates` left in
    ``directory`` (the A/B's other client trusts them too)."""
    server, client = contexts(Path(directory))
    with serving(server) as port:
        clock = router_clock()
        print(port, flush=True)
        for line in sys.stdin:
            started = time.perf_counter()
            connect(mode, port, client, int(line))
            print(time.perf_counter() - started, time.clock_gettime(clock), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], int(sys.argv[2]))
