"""proxy.test serving one module through the Router, as the HTTP/2 tests use it."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import h2.connection
import h2.events
from hyperframe.frame import Frame

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

MODULE, VERSION = "example.test/m", "v1.0.0"
URL = f"https://proxy.test/{MODULE}/@v/{VERSION}"


def serve_module(gomodnet: Network, store: ModuleStore, files: dict[str, bytes]) -> Network:
    """``gomodnet`` with proxy.test serving MODULE@VERSION made of ``files``."""
    store.add(MODULE, VERSION, files=files)
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet


def download(go: GoToolchain, home: Path, net: Network) -> dict[str, str]:
    """``go mod download -json MODULE@VERSION`` through ``net``: its one JSON object."""
    result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=net.go_env())
    (info,) = result.json_objects()
    return info


#: How long a bare HTTP/2 client waits for what it expects before the test fails.
DEADLINE = 8.0


class BareH2Client:
    """One HTTP/2 connection to a host through the Router's tunnel, made by hand with h2:
    for tests that look at the frames themselves (httpx shows none of them). Every frame
    received is kept in :attr:`frames` as ``(type, stream, flags)``, every h2 event in
    :attr:`events`."""

    def __init__(self, net: Network, host: str = "proxy.test") -> None:
        context = ssl.create_default_context(cafile=str(net.ca_bundle))
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", urlsplit(net.router_url).port), DEADLINE)
        try:
            raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\n\r\n".encode())
            assert raw.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            self.sock = context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self.h2 = h2.connection.H2Connection()
        self.frames: list[tuple[str, int, set[str]]] = []
        self.events: list[h2.events.Event] = []
        self._unparsed = b""
        try:
            assert self.sock.selected_alpn_protocol() == "h2"
            self.h2.initiate_connection()
            self._send()
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self) -> BareH2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def get(self, path: str) -> int:
        """Open a stream asking GET ``path``; its id."""
        stream_id = self.h2.get_next_available_stream_id()
        headers = [(":method", "GET"), (":path", path), (":scheme", "https")]
        self.h2.send_headers(stream_id, [*headers, (":authority", "proxy.test")], end_stream=True)
        self._send()
        return stream_id

    def ping(self, data: bytes) -> None:
        self.h2.ping(data)
        self._send()

    def until(self, done: Callable[[list[h2.events.Event]], bool]) -> list[h2.events.Event]:
        """Read until ``done(events)`` holds; the test fails after DEADLINE seconds."""
        ends = time.monotonic() + DEADLINE
        while not done(self.events):
            left = ends - time.monotonic()
            assert left > 0, f"not there within {DEADLINE} s; events: {self.events}"
            self.sock.settimeout(left)
            data = self.sock.recv(1 << 16)
            assert data, f"the connection closed; events: {self.events}"
            self._keep_frames(data)
            self.events += self.h2.receive_data(data)
            self._send()
        return self.events

    def _keep_frames(self, data: bytes) -> None:
        self._unparsed += data
        while len(self._unparsed) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._unparsed[:9]))
            if len(self._unparsed) < 9 + length:
                return
            name = type(frame).__name__.removesuffix("Frame").upper()
            self.frames.append((name, frame.stream_id, set(frame.flags)))
            self._unparsed = self._unparsed[9 + length :]

    def _send(self) -> None:
        self.sock.sendall(self.h2.data_to_send())


def of_stream(events: list[h2.events.Event], stream_id: int, kind: type) -> bool:
    """Whether ``events`` has a ``kind`` event on ``stream_id``."""
    return any(isinstance(e, kind) and e.stream_id == stream_id for e in events)
