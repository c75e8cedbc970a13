"""What go 1.27 does when HTTP/2 breaks under it: the table in docs/go-behaviour.md.

proxy.test serves one module through the Router; go offers ``h2`` by ALPN and the
Router takes it, so go asks ``.info``, ``.mod`` and ``.zip`` as streams 1, 3 and 5
of one connection. Each case applies one HTTP/2 fault and asserts go's exact
error, and which requests it made (a retry shows as a second exchange).
"""

from __future__ import annotations

import math
import os
import time

import pytest

from _h2net import MODULE, URL, VERSION, download, serve_module
from _helpers import settled
from pytest_gomodnet._h2stream import FLUSH_BYTES
from pytest_gomodnet.boundaries import H2_FRAME_SIZE
from pytest_gomodnet.faults import (
    CloseBeforeResponse,
    DataBeforeHeaders,
    EndStreamEarly,
    GoAway,
    NoSettingsAck,
    StreamReset,
    Truncate,
    WindowStall,
)
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network

FILES = {"m.go": b"package m\n\nconst Answer = 42\n", "big.txt": b"x" * 100_000}


@pytest.fixture
def net(gomodnet: Network, module_store: ModuleStore) -> Network:
    return serve_module(gomodnet, module_store, FILES)


def asked(net: Network) -> list[list[tuple[int | None, str, str]]]:
    """Per connection: (stream, file asked, how it ended) of each exchange."""
    return [
        [(x.stream, x.path.rpartition(".")[2], x.ended) for x in c.exchanges]
        for c in settled(lambda: net.log, connections=True)
    ]


FAILS = {
    "zip stream reset, INTERNAL_ERROR": (
        StreamReset(200),
        "stream error: stream ID 5; INTERNAL_ERROR; received from peer",
    ),
    "zip stream reset, CANCEL": (
        StreamReset(200, code="CANCEL"),
        "stream error: stream ID 5; CANCEL; received from peer",
    ),
    "zip abrupt GOAWAY": (
        GoAway(200, code="INTERNAL_ERROR"),
        "http2: server sent GOAWAY and closed the connection; "
        'LastStreamID=5, ErrCode=INTERNAL_ERROR, debug=""',
    ),
    "zip DATA cut, connection closed": (Truncate(200, where="body"), "unexpected EOF"),
    "zip END_STREAM short of its Content-Length": (EndStreamEarly(200), "unexpected EOF"),
    # Before the answer's head: a Get error, not a read one.
    "zip DATA before HEADERS": (
        DataBeforeHeaders(),
        'Get "URL.zip": stream error: stream ID 5; PROTOCOL_ERROR',
    ),
}


@pytest.mark.parametrize("case", FAILS, ids=list(FAILS))
def test_go_fails_on_these_h2_faults(go, tmp_path, net, case) -> None:
    plan, expected = FAILS[case]
    net.fault("proxy.test", plan, path="*.zip")
    info = download(go, tmp_path, net)
    if not expected.startswith("Get "):
        expected = f'read "URL.zip": {expected}'
    assert info["Error"] == f"{MODULE}@{VERSION}: " + expected.replace("URL", URL)
    zips = [x for connection in asked(net) for x in connection if x[1] == "zip"]
    assert len(zips) == 1, zips  # none is retried
    assert not list((tmp_path / "gopath/pkg/mod/cache/download").rglob("*.zip"))


def test_go_takes_a_zip_over_its_first_window_in_frames_over_16_kib(
    go, tmp_path, gomodnet, module_store
) -> None:
    """6 MB of random bytes (stored in the zip as they are), past go's first stream window
    of 4 MiB. go allows DATA frames of up to 1 MiB (its SETTINGS), so the zip goes out in
    frames of a whole write each (FLUSH_BYTES), not of 16 KiB as to curl; go checks every
    byte against the zip's hash, and keeps the zip as it was served."""
    files = {"m.go": b"package m\n", "r.bin": os.urandom(6_000_000)}
    net = serve_module(gomodnet, module_store, files)
    zip_bytes = module_store.get(MODULE, VERSION).zip_path.read_bytes()
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    (kept,) = (tmp_path / "gopath/pkg/mod/cache/download").rglob("*.zip")
    assert kept.read_bytes() == zip_bytes
    (conn,) = settled(lambda: net.log, connections=True)
    (*_, zip_stream) = conn.exchanges
    heads, data, ends = zip_stream.frames
    size, _, frames = data.removeprefix("DATA ").removesuffix(" frames").partition(" B in ")
    assert (conn.protocol, heads, int(size), ends) == (
        "h2",
        "HEADERS",
        len(zip_bytes),
        "END_STREAM",
    )
    writes = math.ceil(len(zip_bytes) / FLUSH_BYTES)
    assert writes <= int(frames) < math.ceil(len(zip_bytes) / H2_FRAME_SIZE)


def test_a_graceful_goaway_mid_zip_lets_go_finish(go, tmp_path, net, module_store) -> None:
    net.fault("proxy.test", GoAway(200), path="*.zip")
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    assert asked(net) == [[(1, "info", "ok"), (3, "mod", "ok"), (5, "zip", "ok")]]


def test_refused_stream_before_headers_is_retried_on_the_same_connection(
    go, tmp_path, net, module_store
) -> None:
    net.fault("proxy.test", StreamReset(0, code="REFUSED_STREAM", where="headers"), path="*.mod")
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    assert asked(net) == [
        [(1, "info", "ok"), (3, "mod", "rst_stream"), (5, "mod", "ok"), (7, "zip", "ok")]
    ]


def test_a_stream_above_goaways_last_stream_id_is_retried_on_a_new_connection(
    go, tmp_path, net, module_store
) -> None:
    net.fault("proxy.test", GoAway(0, last_stream_id=1, where="headers"), path="*.mod")
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    assert asked(net) == [
        [(1, "info", "ok"), (3, "mod", "goaway")],
        [(1, "mod", "ok"), (3, "zip", "ok")],
    ]


def test_a_close_before_the_answer_on_a_reused_h2_connection_is_not_retried(
    go, tmp_path, net
) -> None:
    net.fault("proxy.test", CloseBeforeResponse(), path="*.mod")
    info = download(go, tmp_path, net)
    assert info["Error"] == f'{MODULE}@{VERSION}: Get "{URL}.mod": unexpected EOF'
    assert asked(net) == [[(1, "info", "ok"), (3, "mod", "fin")]]


def test_go_waits_out_a_stalled_window_then_fails_on_the_reset(go, tmp_path, net) -> None:
    """go's HTTP/2 client has no deadline of its own on a stream: it waits as long as the
    stall lasts (its PINGs, if any, answered), then reports the RST_STREAM."""
    net.fault("proxy.test", WindowStall(200, 1.5), path="*.zip")
    started = time.monotonic()
    info = download(go, tmp_path, net)
    took = time.monotonic() - started
    assert info["Error"] == (
        f'{MODULE}@{VERSION}: read "{URL}.zip": stream error: stream ID 5; CANCEL; '
        "received from peer"
    )
    assert took >= 1.5
    assert asked(net) == [[(1, "info", "ok"), (3, "mod", "ok"), (5, "zip", "window_stall")]]
    ((*_, zip_stream),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    assert zip_stream.frames == ["HEADERS", "DATA 200 B", "no frame for 1.5 s", "RST_STREAM CANCEL"]
    assert not list((tmp_path / "gopath/pkg/mod/cache/download").rglob("*.zip"))


def test_go_never_waits_for_the_settings_ack(go, tmp_path, net, module_store) -> None:
    net.fault("proxy.test", NoSettingsAck())
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    (conn,) = settled(lambda: net.log, connections=True)
    assert (conn.fault, conn.frames) == (
        "NoSettingsAck(send_settings=True)",
        ["SETTINGS ACK withheld"],
    )
    assert asked(net) == [[(1, "info", "ok"), (3, "mod", "ok"), (5, "zip", "ok")]]


def test_go_refuses_a_host_that_sends_no_settings_and_does_not_retry(go, tmp_path, net) -> None:
    """The first frame from a server must be SETTINGS: go takes the response's HEADERS as
    a connection error, the first request fails, and go asks nothing more."""
    net.fault("proxy.test", NoSettingsAck(send_settings=False))
    info = download(go, tmp_path, net)
    assert info["Error"] == (
        f'{MODULE}@{VERSION}: Get "{URL}.info": connection error: PROTOCOL_ERROR'
    )
    assert asked(net) == [[(1, "info", "ok")]]
