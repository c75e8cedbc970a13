"""HTTP/2 DATA-frame edges: the boundaries and strategies name them, and a host on the
private network really ends its frames there, so a plan drawn at an edge cuts there."""

from __future__ import annotations

import math
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import h2.connection
import h2.events
import h2.settings
import pytest
from hypothesis import find
from hypothesis.errors import NoSuchExample

from _helpers import settled
from pytest_gomodnet.boundaries import H2_FRAME_SIZE, h2_frame_edges, response_boundaries
from pytest_gomodnet.faults import FaultPlan, StreamReset, Truncate
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network
from pytest_gomodnet.strategies import aimed_faults, fault_plans, truncation_points

MODULE, VERSION = "example.test/big", "v1.0.0"
ZIP_PATH = f"/{MODULE}/@v/{VERSION}.zip"
URL = f"https://proxy.test{ZIP_PATH}"
LONG = "example.test/long"  # a body of many flow-control windows
LONG_PATH = f"/{LONG}/@v/{VERSION}.zip"


def _response(body: bytes, framing: bytes = b"Content-Length: %d") -> bytes:
    header = framing % len(body) if b"%d" in framing else framing
    return b"HTTP/1.1 200 OK\r\n" + header + b"\r\n\r\n" + body


def test_a_content_length_body_gets_the_edges_of_its_first_frames() -> None:
    response = _response(bytes(70_000))
    start = response.index(b"\r\n\r\n") + 4
    named = {b.offset - start: b.name for b in response_boundaries(response) if "HTTP/2" in b.name}
    assert named == {
        16_383: "HTTP/2: one byte short of the end of DATA frame 1",
        16_384: "HTTP/2: the end of DATA frame 1",
        16_385: "HTTP/2: one byte past the end of DATA frame 1",
        32_767: "HTTP/2: one byte short of the end of DATA frame 2",
        32_768: "HTTP/2: the end of DATA frame 2",
        32_769: "HTTP/2: one byte past the end of DATA frame 2",
        49_151: "HTTP/2: one byte short of the end of DATA frame 3",
        49_152: "HTTP/2: the end of DATA frame 3",
        49_153: "HTTP/2: one byte past the end of DATA frame 3",
        65_534: "HTTP/2: one byte short of the first flow-control window",
        65_535: "HTTP/2: the end of the first flow-control window",
        65_536: "HTTP/2: the end of DATA frame 4",
        65_537: "HTTP/2: one byte past the end of DATA frame 4",
    }


@pytest.mark.parametrize(
    "response",
    [
        _response(bytes(16_384)),  # one frame, whose end is the body's end
        _response(b"8000\r\n" + bytes(0x8000) + b"\r\n0\r\n\r\n", b"Transfer-Encoding: chunked"),
        _response(bytes(40_000), b"Connection: close"),  # no HTTP/2 without a length
    ],
    ids=["one-frame", "chunked", "close"],
)
def test_no_frame_edges_where_http2_has_none(response: bytes) -> None:
    assert [b for b in response_boundaries(response) if "HTTP/2" in b.name] == []


def test_frame_edges_are_the_first_frames_and_the_first_window() -> None:
    assert h2_frame_edges(100_000) == (16_384, 32_768, 49_152, 65_535, 65_536)
    assert h2_frame_edges(40_000) == (16_384, 32_768)
    assert h2_frame_edges(16_384) == ()


def test_strategies_draw_the_edges_inside_the_response() -> None:
    response = _response(bytes(40_000))
    start = response.index(b"\r\n\r\n") + 4
    assert find(truncation_points(response), lambda at: at == start + 32_768) == start + 32_768
    reset = find(
        fault_plans(kinds=[StreamReset], response=response),
        lambda plan: isinstance(plan, StreamReset) and plan.at == 16_385,
    )
    assert reset.at == 16_385
    with pytest.raises(NoSuchExample):
        find(
            fault_plans(kinds=[StreamReset], response=response),
            lambda plan: isinstance(plan, StreamReset) and plan.at >= 40_000,
        )


# --- on the wire: a host that speaks HTTP/2 ends its DATA frames at these edges -----------


@pytest.fixture
def net(tmp_path: Path, module_store: ModuleStore) -> Iterator[Network]:
    """A network of its own: the raw client below uses a direct port, which lasts as long
    as its Router."""
    # Random bytes: the zip stores them uncompressed, so its body is over 100 KiB.
    files = {"big.bin": os.urandom(100_000), "go.mod": f"module {MODULE}\n".encode()}
    module_store.add(MODULE, VERSION, files=files)
    long_files = {"long.bin": os.urandom(300_000), "go.mod": f"module {LONG}\n".encode()}
    module_store.add(LONG, VERSION, files=long_files)
    with Network.standalone(directory=tmp_path) as network:
        network.add_goproxy("proxy.test", module_store)
        yield network


def _data_frames(
    net: Network, *, window: int, path: str = ZIP_PATH, connection_window: int | None = None
) -> tuple[list[int], str]:
    """GET the zip at ``path`` over HTTP/2 with a client whose streams start with ``window``
    bytes of flow-control window, and which opens it again only once the host has used it
    all (the connection's likewise, ``connection_window`` bytes; None: opened wide at the
    start): the DATA payload sizes the host sent, and how the stream ended."""
    port = int(net.direct_url("proxy.test").rsplit(":", 1)[1])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    client = h2.connection.H2Connection()
    client.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
    )
    client.initiate_connection()
    if connection_window is None:
        client.increment_flow_control_window(1 << 30)
    elif connection_window > 65_535:  # the window every connection starts with
        client.increment_flow_control_window(connection_window - 65_535)
    head = [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "proxy.test")]
    client.send_headers(1, head, end_stream=True)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with context.wrap_socket(raw, server_hostname="proxy.test") as sock:
        sock.sendall(client.data_to_send())
        sizes: list[int] = []
        while data := sock.recv(1 << 16):
            for event in client.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    sizes.append(event.flow_controlled_length)
                    if sum(sizes) % window == 0:
                        client.increment_flow_control_window(window, stream_id=1)
                    if connection_window and sum(sizes) % connection_window == 0:
                        client.increment_flow_control_window(connection_window)
                elif isinstance(event, h2.events.StreamEnded):
                    return sizes, "END_STREAM"
                elif isinstance(event, h2.events.StreamReset):
                    return sizes, "RST_STREAM"
            sock.sendall(client.data_to_send())
    return sizes, "connection closed"


@pytest.mark.parametrize("window", [65_535, 4 << 20], ids=["httpx-window", "go-window"])
def test_the_host_ends_its_frames_at_the_named_edges(net, window) -> None:
    response = net.response_bytes(URL)
    start = response.index(b"\r\n\r\n") + 4
    sizes, ended = _data_frames(net, window=window)
    assert ended == "END_STREAM"
    assert sum(sizes) == len(response) - start
    frame_ends = {sum(sizes[: i + 1]) for i in range(len(sizes))}
    named = {
        b.offset - start for b in response_boundaries(response) if b.name.startswith("HTTP/2: the")
    }
    expected = {16_384, 32_768, 49_152, 65_535 if window == 65_535 else 65_536}
    assert named & frame_ends == expected


@pytest.mark.parametrize(
    ("window", "connection_window"),
    [(65_535, None), (20_000, None), (4 << 20, 65_535), (4 << 20, 90_000)],
    ids=["stream-65535", "stream-20000", "connection-65535", "connection-90000"],
)
def test_a_body_of_many_windows_spends_each_window_exactly(net, window, connection_window) -> None:
    """The host frames most DATA itself, past h2: it must spend the windows h2 keeps (the
    stream's and the connection's), or it sends more than the client allowed (h2 here
    raises FlowControlError) or waits for a window the client already opened (the read
    deadline)."""
    response = net.response_bytes(f"https://proxy.test{LONG_PATH}")
    body = len(response) - response.index(b"\r\n\r\n") - 4
    sizes, ended = _data_frames(
        net, window=window, path=LONG_PATH, connection_window=connection_window
    )
    assert (ended, sum(sizes), max(sizes)) == ("END_STREAM", body, H2_FRAME_SIZE)
    frame_ends = {sum(sizes[: i + 1]) for i in range(len(sizes))}
    edge = min(window, connection_window or window)
    assert set(range(edge, body, edge)) <= frame_ends  # each window used to its end
    (conn,) = [c for c in settled(lambda: net.log) if c.protocol == "h2"]
    (exchange,) = conn.exchanges
    frames = len([size for size in sizes if size])  # END_STREAM came in an empty DATA frame
    assert exchange.frames == ["HEADERS", f"DATA {body} B in {frames} frames", "END_STREAM"]


def test_curl_takes_the_data_the_host_frames_itself(net, tmp_path) -> None:
    """curl (nghttp2) takes DATA frames of 16 KiB at most, so the host frames all but the
    first of each write itself: curl gets the body byte for byte, over HTTP/2."""
    url, out = f"https://proxy.test{LONG_PATH}", tmp_path / "long.zip"
    curl = ["curl", "-sS", "--http2", "--max-time", "10", "-w", "%{http_version}", "-o", str(out)]
    proxy = ["-x", net.router_url, "--cacert", str(net.ca_bundle)]
    done = subprocess.run([*curl, *proxy, url], capture_output=True, text=True, timeout=20)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "2")
    (conn,) = settled(lambda: net.log)
    (exchange,) = conn.exchanges
    response = net.response_bytes(url)
    body = response[response.index(b"\r\n\r\n") + 4 :]
    assert out.read_bytes() == body
    frames = math.ceil(len(body) / H2_FRAME_SIZE)
    # curl may close once it has every byte the Content-Length names, before END_STREAM.
    assert exchange.frames[:2] == ["HEADERS", f"DATA {len(body)} B in {frames} frames"]


@pytest.mark.parametrize(
    ("plan", "frames", "ended"),
    [
        (StreamReset(2 * H2_FRAME_SIZE), [H2_FRAME_SIZE, H2_FRAME_SIZE], "RST_STREAM"),
        (StreamReset(2 * H2_FRAME_SIZE - 1), [H2_FRAME_SIZE, H2_FRAME_SIZE - 1], "RST_STREAM"),
        (StreamReset(H2_FRAME_SIZE + 1), [H2_FRAME_SIZE, 1], "RST_STREAM"),
        (Truncate(H2_FRAME_SIZE, where="body"), [H2_FRAME_SIZE], "connection closed"),
    ],
    ids=["reset-at-edge", "reset-one-short", "reset-one-past", "truncate-at-edge"],
)
def test_a_plan_at_an_edge_cuts_exactly_there(net, plan: FaultPlan, frames, ended) -> None:
    net.fault("proxy.test", plan, path="*.zip")
    assert _data_frames(net, window=4 << 20) == (frames, ended)


def test_aimed_faults_draw_a_frame_edge_for_the_zip(net) -> None:
    response = net.response_bytes(URL)
    start = response.index(b"\r\n\r\n") + 4
    aimed = find(
        aimed_faults(net, URL, kinds=[Truncate], framings=["content-length"]),
        lambda a: a.plan.at == start + 2 * H2_FRAME_SIZE,
    )
    assert (aimed.framing, aimed.plan.at - start) == ("content-length", 32_768)
