"""Under load: many connections through the Router, every response accounted for.

200 clients hold their tunnels open at once, then each asks a GoProxy for its
own module version's zip; some of them get a fault. Each answer must be
exactly the right bytes or exactly the injected fault's symptom, and the
Router's log must tell the same story. A bounded soak then shows that
thousands of connections leave memory and file descriptors flat.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from _helpers import read_to_close
from pytest_gomodnet.faults import FaultPlan, Reset, Status, Truncate, synthesized_response
from pytest_gomodnet.goproxy import ModuleStore, StoredVersion
from pytest_gomodnet.network import Network

MODULE = "example.test/load"
HOST = "proxy.test"
CLIENTS = 200
# Seconds any one client step may take; generous, as the machine is shared.
STEP_TIMEOUT = 60.0
BUSY = Status(503, b"busy\n")


def _version(i: int) -> str:
    return f"v1.0.{i}"


def _zip_url_path(i: int) -> str:
    return f"/{MODULE}/@v/{_version(i)}.zip"


def _plan_for(i: int) -> FaultPlan | None:
    """Every fifth client is cut, every fifth reset, every fifth told 503; the rest clean."""
    kind = i % 5
    if kind == 1:
        return Truncate(1000 + 7 * i, where="body")
    if kind == 2:
        return Reset(500 + 11 * i, where="body")
    if kind == 3:
        return BUSY
    return None


@pytest.fixture(scope="module")
def load_store() -> ModuleStore:
    """One version per client, each zip different (so crossed wires would show)."""
    rng = random.Random(8)
    with ModuleStore() as store:
        for i in range(CLIENTS):
            files = {"data.bin": rng.randbytes(24 * 1024), "load.go": b"package load\n"}
            store.add(MODULE, _version(i), files=files)
        yield store


@pytest.fixture
def net(gomodnet: Network, load_store: ModuleStore) -> Network:
    gomodnet.add_goproxy(HOST, load_store)
    return gomodnet


# --- the client -----------------------------------------------------------------


@dataclass
class Received:
    """What one client got: the bytes, and how the connection ended."""

    data: bytes
    ended: str  # "eof" or the name of the error that ended it


async def _fetch(
    router_port: int,
    context: ssl.SSLContext,
    path: str,
    all_open: asyncio.Event,
    opened: list[int],
) -> Received:
    """Open a tunnel and TLS to HOST, wait until every client has, then GET ``path``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", router_port)
    try:
        writer.write(f"CONNECT {HOST}:443 HTTP/1.1\r\nHost: {HOST}:443\r\n\r\n".encode())
        reply = await reader.readuntil(b"\r\n\r\n")
        assert reply == b"HTTP/1.1 200 Connection established\r\n\r\n"
        await writer.start_tls(context, server_hostname=HOST)
        opened.append(1)
        if len(opened) == CLIENTS:
            all_open.set()
        await all_open.wait()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        try:
            while chunk := await reader.read(1 << 16):
                chunks.append(chunk)
            ended = "eof"
        except (ConnectionError, ssl.SSLError) as exc:
            ended = type(exc).__name__
        return Received(b"".join(chunks), ended)
    finally:
        writer.transport.abort()


async def _fetch_all(router_port: int, context: ssl.SSLContext) -> list[Received]:
    all_open, opened = asyncio.Event(), []
    fetches = [
        _fetch(router_port, context, _zip_url_path(i), all_open, opened) for i in range(CLIENTS)
    ]
    return await asyncio.wait_for(asyncio.gather(*fetches), STEP_TIMEOUT)


def _clean_response(stored: StoredVersion) -> bytes:
    """The exact bytes a clean GET of the zip gets (the head is the Router's, in process)."""
    body = stored.zip_path.read_bytes()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def _expected(plan: FaultPlan | None, clean: bytes) -> tuple[bytes, set[str], str]:
    """The bytes a client must get under ``plan``, how its read may end, and the log's word."""
    head_length = clean.index(b"\r\n\r\n") + 4
    if isinstance(plan, Truncate):
        return clean[: head_length + plan.at], {"eof"}, "fin"
    if isinstance(plan, Reset):
        # Through TLS a reset after the last record reads as an end of stream, or an error.
        return clean[: head_length + plan.at], {"eof", "ConnectionResetError"}, "rst"
    if isinstance(plan, Status):
        return synthesized_response(plan), {"eof"}, "fin"
    return clean, {"eof"}, "fin"


# --- 200 at once ------------------------------------------------------------------


@pytest.mark.slow
def test_two_hundred_concurrent_clients_each_get_their_bytes_or_their_fault(
    net, load_store
) -> None:
    for i in range(CLIENTS):
        plan = _plan_for(i)
        if plan is not None:
            net.fault(HOST, plan, path=_zip_url_path(i))
    context = ssl.create_default_context(cafile=str(net.ca_bundle))

    received = asyncio.run(_fetch_all(urlsplit(net.router_url).port, context))

    outcomes = {"clean": 0, "Truncate": 0, "Reset": 0, "Status": 0}
    for i, got in enumerate(received):
        plan = _plan_for(i)
        clean = _clean_response(load_store.get(MODULE, _version(i)))
        want, endings, _ = _expected(plan, clean)
        assert got.data == want, f"client {i} ({plan!r}): {len(got.data)} B, wanted {len(want)} B"
        assert got.ended in endings, f"client {i} ({plan!r}) ended {got.ended}"
        outcomes[type(plan).__name__ if plan else "clean"] += 1
    assert outcomes == {"clean": 80, "Truncate": 40, "Reset": 40, "Status": 40}

    by_path = {}
    for connection in net.log:
        (exchange,) = connection.exchanges
        by_path[exchange.path] = (connection, exchange)
    assert len(by_path) == CLIENTS == len(net.log)
    for i in range(CLIENTS):
        plan = _plan_for(i)
        clean = _clean_response(load_store.get(MODULE, _version(i)))
        want, _, log_ending = _expected(plan, clean)
        connection, exchange = by_path[_zip_url_path(i)]
        assert (connection.host, connection.mode) == (HOST, "tls")
        assert exchange.fault == (repr(plan) if plan else None)
        assert (exchange.status, exchange.bytes_down) == (503 if plan == BUSY else 200, len(want))
        assert exchange.ended == connection.ended == log_ending


# --- the soak ----------------------------------------------------------------------

#: Connections in the soak, after the warm-up; each a full TLS tunnel or a plain request.
#: (About 7 s for all of them on a shared 2-core machine.)
SOAK_CONNECTIONS = 5000
WARM_UP = 500
CHECKPOINTS = 5
SOAK_WORKERS = 4
#: How far the open descriptors may stray from the warm-up count (another test's
#: server closing late, the GC's timing); a leak of one per connection is thousands.
FD_MARGIN = 8
#: How far resident memory may grow after the warm-up (seen: about 3 MiB, as malloc's
#: arenas settle); a leak of 2 KB per connection would be 10 MiB.
RSS_MARGIN = 10 * 1024 * 1024


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _one_request(router_port: int, context: ssl.SSLContext, i: int, want: bytes) -> None:
    """One connection: every tenth through a TLS tunnel, the rest as plain proxy requests."""
    path = _zip_url_path(i % CLIENTS)
    with socket.create_connection(("127.0.0.1", router_port), STEP_TIMEOUT) as raw:
        if i % 10 == 0:
            raw.sendall(f"CONNECT {HOST}:443 HTTP/1.1\r\n\r\n".encode())
            assert raw.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            with context.wrap_socket(raw, server_hostname=HOST) as tls:
                got = _exchange(tls, f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n")
        else:
            got = _exchange(raw, f"GET http://{HOST}{path} HTTP/1.1\r\nHost: {HOST}\r\n")
    assert got == want, f"connection {i}: {len(got)} B, wanted {len(want)} B"


def _exchange(sock: socket.socket, request_head: str) -> bytes:
    sock.sendall((request_head + "Connection: close\r\n\r\n").encode())
    return read_to_close(sock)


def _settled_fds(limit: int) -> int:
    """The fd count once it is at most ``limit``, or after 2 s: the Router closes its side
    of a finished connection a moment after the client does."""
    deadline = time.monotonic() + 2.0
    while (count := _open_fds()) > limit and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


@pytest.mark.slow
def test_soak_keeps_memory_and_descriptors_flat(gomodnet_backbone, load_store) -> None:
    # Each stretch runs in a Network of its own: a network's log keeps every connection
    # (about 1.4 KB each) until the network closes, and that is not a leak.
    wants = [_clean_response(load_store.get(MODULE, _version(i))) for i in range(CLIENTS)]
    fds_at_start = _open_fds()

    with ThreadPoolExecutor(SOAK_WORKERS, thread_name_prefix="soak-client") as pool:

        def stretch(first: int, last: int) -> None:
            with gomodnet_backbone.network() as net:
                net.add_goproxy(HOST, load_store)
                context = ssl.create_default_context(cafile=str(net.ca_bundle))
                port = urlsplit(net.router_url).port
                jobs = [
                    pool.submit(_one_request, port, context, i, wants[i % CLIENTS])
                    for i in range(first, last)
                ]
                for job in jobs:
                    job.result(STEP_TIMEOUT)
                assert len(net.log) == last - first
                assert {c.ended for c in net.log} == {"fin"}

        stretch(0, WARM_UP)
        fds, rss = _settled_fds(fds_at_start), _rss()
        samples = []
        per_checkpoint = SOAK_CONNECTIONS // CHECKPOINTS
        for k in range(CHECKPOINTS):
            first = WARM_UP + k * per_checkpoint
            stretch(first, first + per_checkpoint)
            samples.append((_settled_fds(fds), _rss()))

    story = f"after warm-up {fds} fds, {rss >> 20} MiB; then " + ", ".join(
        f"{f} fds, {r >> 20} MiB" for f, r in samples
    )
    assert all(abs(f - fds) <= FD_MARGIN for f, _ in samples), story
    assert all(r - rss < RSS_MARGIN for _, r in samples), story
