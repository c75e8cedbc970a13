"""Memory after rounds of stalled downloads: clients that ask for a big zip, then stop reading.

Each round opens CLIENTS TLS tunnels through a Router (client_timeout 1 s) to a GoProxy
served in process, asks each for the same zip, and reads nothing. The Router must close
each at its write deadline (``client-stalled``) and release the response and its store
file. The server side runs in a subprocess of its own (``python -m bench.bench_stalled``),
so its RSS is its own; no round may leave a connection open or the zip open.

Two rows: what the process holds after the last round, over what it held before the
first, once glibc has been asked to return its free memory (``malloc_trim``); and the
same without asking, for information. The difference is memory the allocator keeps
for reuse (the rounds after the first reuse it and do not grow), not memory held by
a connection.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path

import trustme

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.goproxy import GoProxy, ModuleStore

from . import _table as table
from ._subprocess import output_of
from ._zip_server import MODULE, VERSION, build, memory_kib

CLIENT_TIMEOUT = 1.0
#: Seconds a round may take before the benchmark fails (the stalls end within about 1 s).
ROUND_DEADLINE = 60.0


def _stall(port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    """A client that asks for the zip and never reads a byte of the answer."""
    raw = socket.create_connection(("127.0.0.1", port), 10)
    raw.sendall(b"CONNECT proxy.test:443 HTTP/1.1\r\nHost: proxy.test:443\r\n\r\n")
    assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    tls = context.wrap_socket(raw, server_hostname="proxy.test")
    tls.sendall(f"GET /{MODULE}/@v/{VERSION}.zip HTTP/1.1\r\nHost: proxy.test\r\n\r\n".encode())
    return tls


def _open_files(path: Path) -> int:
    wanted = os.path.realpath(path)
    return sum(1 for fd in Path("/proc/self/fd").iterdir() if os.path.realpath(fd) == wanted)


def _round(router: Router, context: ssl.SSLContext, clients: int, zip_path: Path) -> None:
    """One round: every client stalls, the Router ends each (``client-stalled``) and lets
    go of the zip. The zip is closed as the exchange unwinds, a moment after its ending
    is logged, so both are awaited under one deadline."""
    before = len(router.log)
    stalled = [_stall(router.port, context) for _ in range(clients)]
    deadline = time.monotonic() + ROUND_DEADLINE
    while True:
        ended = [c.ended for c in router.log[before:]]
        done = len(ended) == clients and "open" not in ended
        if done and _open_files(zip_path) == 0:
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {ROUND_DEADLINE} s: endings {ended}, the zip open "
                f"{_open_files(zip_path)} times"
            )
        time.sleep(0.05)
    for sock in stalled:
        sock.close()
    assert ended == ["client-stalled"] * clients, f"a stalled client ended otherwise: {ended}"


def _rss_kib() -> tuple[int, int]:
    """This process's RSS in KiB, and again after glibc returned its free memory."""
    gc.collect()
    rss = memory_kib()["VmRSS"]
    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)
    return rss, memory_kib()["VmRSS"]


def serve(directory: Path, size: int, rounds: int, clients: int) -> dict[str, list[int]]:
    """The RSS (KiB) before the first round and after each, as is and trimmed."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("proxy.test").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with (
        ModuleStore(directory) as store,
        Router(client_timeout=CLIENT_TIMEOUT) as router,
    ):
        zip_path = build(store, size)
        goproxy = GoProxy(store)
        router.add_host("proxy.test", "http://127.0.0.1:9", tls=server_context, app=goproxy.handle)
        measured = [_rss_kib()]
        for _ in range(rounds):
            _round(router, client_context, clients, zip_path)
            measured.append(_rss_kib())
    return {"rss": [m[0] for m in measured], "trimmed": [m[1] for m in measured]}


def run(quick: bool) -> list[table.Row]:
    size, rounds, clients = (16 << 20, 2, 5) if quick else (50 << 20, 6, 50)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "bench.bench_stalled", tmp, str(size), str(rounds),
                   str(clients)]  # fmt: skip
        measured = json.loads(output_of(command, timeout=600))
    held = (measured["trimmed"][-1] - measured["trimmed"][0]) / 1024
    kept = (measured["rss"][-1] - measured["rss"][0]) / 1024
    mib = size >> 20
    return [
        table.Row(f"{rounds}x{clients} stalled {mib} MiB zips, RSS held, MiB", held, 32.0,
                  "MiB", "< 32 MiB", held < 32.0),
        table.Row(f"{rounds}x{clients} stalled, RSS untrimmed, MiB (info)", kept, 32.0,
                  "MiB", "-", None),
    ]  # fmt: skip


if __name__ == "__main__":
    directory, size, rounds, clients = Path(sys.argv[1]), *map(int, sys.argv[2:5])
    print(json.dumps(serve(directory, size, rounds, clients)))
