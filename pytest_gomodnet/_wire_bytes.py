"""The exact bytes of one response, fetched through the Router the way a client would.

What cut offsets are aimed at: every byte counts, status line first, so the
request is made on a raw socket (an HTTP client would parse the bytes away).
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from ._limits import CLIENT_TIMEOUT

__all__ = ["fetch_response_bytes"]


def fetch_response_bytes(router_port: int, ca_bundle: Path, url: str) -> bytes:
    """``GET url`` through the Router at ``router_port``: every byte of the answer."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", router_port), CLIENT_TIMEOUT) as raw:
        if parts.scheme != "https":
            return _send_and_read_all(raw, request.replace(target.encode(), url.encode(), 1))
        raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        reply = raw.recv(4096)
        if not reply.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"the Router refused {host}: {reply!r}")
        context = ssl.create_default_context(cafile=str(ca_bundle))
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return _send_and_read_all(tls, request)


def _send_and_read_all(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    chunks = []
    while chunk := sock.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)
