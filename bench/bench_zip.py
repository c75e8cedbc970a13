"""A 200 MiB module zip through GoProxy, the Router (TLS terminated) and the fault engine.

Throughput is compared with a raw socket copy of the same file over loopback
(read + sendall in 1 MiB blocks, no HTTP, no TLS); both servers run in one
subprocess (bench/_zip_server.py) and this process is the client. Memory is
that subprocess's peak RSS during the Router downloads minus its RSS just before:
what serving the zip costs, not building it.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from typing import Any

from . import __main__ as table

ROUNDS = 3
TIMEOUT = 120.0


def _read_to_end(sock: socket.socket) -> int:
    buffer = memoryview(bytearray(1 << 20))
    total = 0
    while received := sock.recv_into(buffer):
        total += received
    return total


def _through_router(port: int, context: ssl.SSLContext, url_path: str) -> tuple[float, int]:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), TIMEOUT) as raw:
        raw.sendall(b"CONNECT proxy.test:443 HTTP/1.1\r\nHost: proxy.test:443\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(raw, server_hostname="proxy.test") as tls:
            request = f"GET {url_path} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n"
            tls.sendall(request.encode())
            received = _read_to_end(tls)
    return time.perf_counter() - started, received


def _raw_copy(port: int) -> tuple[float, int]:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        received = _read_to_end(sock)
    return time.perf_counter() - started, received


def _ask(server: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert server.stdin is not None
    server.stdin.write(command + "\n")
    server.stdin.flush()
    return _reply(server)


def _reply(server: subprocess.Popen[str]) -> dict[str, Any]:
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        raise RuntimeError("the zip server exited early (see its stderr above)")
    reply: dict[str, Any] = json.loads(line)
    return reply


def _measure(server: subprocess.Popen[str]) -> dict[str, Any]:
    info = _reply(server)
    context = ssl.create_default_context(cafile=info["ca"])
    before = _ask(server, "mark")
    routed = [_through_router(info["router"], context, info["url_path"]) for _ in range(ROUNDS)]
    after = _ask(server, "peak")
    copied = [_raw_copy(info["raw"]) for _ in range(ROUNDS)]
    assert all(received > info["size"] for _, received in routed), routed
    assert all(received == info["size"] for _, received in copied), copied
    return {
        "routed": info["size"] / min(seconds for seconds, _ in routed) / 1e6,
        "copied": info["size"] / min(seconds for seconds, _ in copied) / 1e6,
        "growth": (after["VmHWM"] - before["VmRSS"]) / 1024,
    }


def run(quick: bool) -> list[table.Row]:
    size = (4 if quick else 200) << 20
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "bench._zip_server", tmp, str(size)]
        pipe = subprocess.PIPE
        with subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True) as server:
            try:
                result = _measure(server)
            finally:
                server.communicate("quit\n", timeout=TIMEOUT)
    routed, copied, growth = result["routed"], result["copied"], result["growth"]
    mib = size >> 20
    return [
        table.Row(f"zip {mib} MiB, Router+TLS+faults, MB/s (vs raw copy)", routed, copied,
                  "MB/s", ">= 0.3x", routed / copied >= 0.3),
        table.Row(f"zip {mib} MiB, serving peak RSS growth, MiB", growth, 50.0, "MiB",
                  "< 50 MiB", growth < 50.0),
    ]  # fmt: skip
