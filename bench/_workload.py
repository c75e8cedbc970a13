"""``python bench/_workload.py MODE N``: N connections through a Router, for
:mod:`bench.instructions` to count. Only names every version of the plugin has
(``Router``, ``add_host``, ``Origin``), so one workload measures any two trees."""

from __future__ import annotations

import socket
import ssl
import sys

import trustme
from werkzeug import Request, Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import Origin

BODY = b"x" * 2048
PLAIN = b"GET http://plain.test/m.zip HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"
TUNNEL = b"CONNECT proxy.test:443 HTTP/1.1\r\nHost: proxy.test:443\r\n\r\n"
TUNNELLED = b"GET /m.zip HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n"


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


def main(mode: str, count: int) -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("proxy.test").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    client.set_alpn_protocols(["http/1.1"])  # the same exchange on trees with and without h2
    with Origin() as origin, Router() as router:
        origin.route("plain.test", _zip)
        origin.route("proxy.test", _zip)
        router.add_host("plain.test", origin.url, app=origin.dispatch, inline=True)
        router.add_host("proxy.test", origin.url, tls=server, app=origin.dispatch, inline=True)
        for _ in range(count):
            if mode == "plain":
                _plain(router.port)
            else:
                _tls(router.port, client)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
