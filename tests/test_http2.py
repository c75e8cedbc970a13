"""HTTP/2 on the private network: every TLS host the Router terminates offers ``h2`` by ALPN.

Proof first that the real clients take it (go 1.27 through the CONNECT tunnel,
httpx with ``http2=True``), then that exchanges over HTTP/2 go through the same
fault queues and log as HTTP/1.1 ones.
"""

from __future__ import annotations

import math
import time

import h2.events
import httpx
import pytest
from h2.exceptions import InvalidBodyLengthError
from hypothesis import HealthCheck, given, settings
from werkzeug import Response

from _h2net import MODULE, URL, VERSION, BareH2Client, download, of_stream, serve_module
from _helpers import settled
from pytest_gomodnet._limits import MAX_REQUEST_BODY
from pytest_gomodnet.errors import FaultPlanError, ServerError
from pytest_gomodnet.faults import (
    CONNECTION_FAULTS,
    H2_FAULTS,
    ChunkedCut,
    Corrupt,
    DataBeforeHeaders,
    EndStreamEarly,
    GoAway,
    LieContentLength,
    NoSettingsAck,
    SlowFirstByte,
    Status,
    StreamReset,
    Truncate,
    WindowStall,
)
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network
from pytest_gomodnet.strategies import fault_plans

FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}


@pytest.fixture
def net(gomodnet: Network, module_store: ModuleStore) -> Network:
    return serve_module(gomodnet, module_store, FILES)


def test_go_speaks_h2_through_the_connect_tunnel(go, tmp_path, net, module_store) -> None:
    info = download(go, tmp_path, net)
    assert info["Sum"] == module_store.get(MODULE, VERSION).h1
    (conn,) = settled(lambda: net.log, connections=True)
    assert (conn.host, conn.mode, conn.protocol) == ("proxy.test", "tls", "h2")
    assert [(x.stream, x.path, x.status, x.ended) for x in conn.exchanges] == [
        (1, f"/{MODULE}/@v/{VERSION}.info", 200, "ok"),
        (3, f"/{MODULE}/@v/{VERSION}.mod", 200, "ok"),
        (5, f"/{MODULE}/@v/{VERSION}.zip", 200, "ok"),
    ]


def test_httpx_speaks_h2_when_asked(net, module_store) -> None:
    with net.client(http2=True) as client:
        response = client.get(f"{URL}.zip")
    assert response.http_version == "HTTP/2"
    assert response.content == module_store.get(MODULE, VERSION).zip_path.read_bytes()
    (conn,) = settled(lambda: net.log, connections=True)
    assert conn.protocol == "h2"


# --- the same faults, frames and log over HTTP/2 (httpx) -----------------------------------


def _zip(store: ModuleStore) -> bytes:
    return store.get(MODULE, VERSION).zip_path.read_bytes()


def test_a_stream_reset_hits_the_zip_stream_and_the_connection_goes_on(net, module_store) -> None:
    net.fault("proxy.test", StreamReset(100), path="*.zip")
    with net.client(http2=True) as client:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            client.get(f"{URL}.zip")
        mod = client.get(f"{URL}.mod")
    assert str(raised.value) == "<StreamReset stream_id:1, error_code:2, remote_reset:True>"
    assert mod.content == module_store.get(MODULE, VERSION).go_mod
    (conn,) = settled(lambda: net.log, connections=True)
    zip_stream, mod_stream = conn.exchanges
    assert (zip_stream.stream, zip_stream.ended, zip_stream.frames) == (
        1,
        "rst_stream",
        ["HEADERS", "DATA 100 B", "RST_STREAM INTERNAL_ERROR"],
    )
    assert (mod_stream.stream, mod_stream.ended) == (3, "ok")


def test_a_truncate_over_h2_cuts_the_data_then_ends_the_connection(net, module_store) -> None:
    net.fault("proxy.test", Truncate(100, where="body"), path="*.zip")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError) as raised:
        client.get(f"{URL}.zip")
    assert str(raised.value) == "Server disconnected"
    (conn,) = settled(lambda: net.log, connections=True)
    (exchange,) = conn.exchanges
    assert (conn.protocol, conn.ended, exchange.frames) == (
        "h2",
        "fin",
        ["HEADERS", "DATA 100 B", "connection fin"],
    )


def test_offsets_count_the_response_as_http1_shows_it(net, module_store) -> None:
    """Truncate(at) with no ``where`` counts the head as text: a cut inside it sends no
    HEADERS frame at all, and the log's bytes down are the engine's count."""
    net.fault("proxy.test", Truncate(20), path="*.zip")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{URL}.zip")
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    assert (exchange.bytes_down, exchange.frames) == (20, ["connection fin"])


def test_status_and_delay_plans_work_over_h2(net) -> None:
    net.fault("proxy.test", Status(503, b"down\n"), SlowFirstByte(0.2), path="*.mod")
    with net.client(http2=True) as client:
        down = client.get(f"{URL}.mod")
        started = time.monotonic()
        slow = client.get(f"{URL}.mod")
        took = time.monotonic() - started
    assert (down.http_version, down.status_code, down.content) == ("HTTP/2", 503, b"down\n")
    assert down.headers["content-type"] == "text/plain; charset=utf-8"
    assert slow.status_code == 200
    assert took >= 0.2


def test_a_graceful_goaway_lets_the_stream_finish_then_closes(net, module_store) -> None:
    """httpx 0.28 fails the stream in flight all the same: it takes any GOAWAY as the end."""
    net.fault("proxy.test", GoAway(100), path="*.zip")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError) as raised:
        client.get(f"{URL}.zip")
    assert str(raised.value) == (
        "<ConnectionTerminated error_code:0, last_stream_id:1, additional_data:None>"
    )
    (conn,) = settled(lambda: net.log, connections=True)
    (exchange,) = conn.exchanges
    size = len(_zip(module_store))
    assert (conn.ended, exchange.ended) == ("goaway", "ok")
    assert exchange.frames == [
        "HEADERS",
        "DATA 100 B",
        "GOAWAY last_stream_id=1 NO_ERROR",
        f"DATA {size - 100} B",
        "END_STREAM",
    ]


def test_an_abrupt_goaway_ends_the_connection_at_once(net) -> None:
    net.fault("proxy.test", GoAway(100, code="INTERNAL_ERROR"), path="*.zip")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError) as raised:
        client.get(f"{URL}.zip")
    assert str(raised.value) == (
        "<ConnectionTerminated error_code:2, last_stream_id:1, additional_data:None>"
    )
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    assert (exchange.ended, exchange.frames) == (
        "goaway",
        ["HEADERS", "DATA 100 B", "GOAWAY last_stream_id=1 INTERNAL_ERROR"],
    )


def test_the_failure_report_shows_the_protocol_stream_and_frames(net) -> None:
    net.fault("proxy.test", StreamReset(0, code="CANCEL"), path="*.mod")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{URL}.mod")
    settled(lambda: net.log, connections=True)
    text = net.format_log()
    assert text.splitlines()[1:] == [
        f"  stream 1: GET /{MODULE}/@v/{VERSION}.mod → 200; 142 B up, 80 B down; rst_stream "
        "fault=StreamReset(at=0, code='CANCEL', where='body')",
        "    frames sent: HEADERS, RST_STREAM CANCEL",
    ]
    assert text.splitlines()[0].startswith("proxy.test [tls h2] ended ")


# --- plans refused where HTTP/2 gives them no meaning ------------------------------------


@pytest.mark.parametrize("how", ["http1_only", "framed chunked"])
def test_h2_plans_are_refused_on_a_host_that_offers_http1_only(net, how) -> None:
    if how == "http1_only":
        net.http1_only("proxy.test")
    else:
        net.frame("proxy.test", "chunked", path="*.zip")
    with pytest.raises(FaultPlanError) as raised:
        net.fault("proxy.test", StreamReset(10))
    assert str(raised.value) == (
        "StreamReset(at=10, code='INTERNAL_ERROR', where='body') is an HTTP/2 fault, but "
        "proxy.test offers HTTP/1.1 alone (it is http1_only(), framed chunked or close, or "
        "added without tls=)"
    )


@pytest.mark.parametrize(
    "plan",
    [StreamReset(10), WindowStall(10, 1.0), NoSettingsAck()],
    ids=["StreamReset", "WindowStall", "NoSettingsAck (a connection fault)"],
)
def test_an_h2_plan_met_by_an_http1_client_is_a_clear_error(net, plan) -> None:
    net.fault("proxy.test", plan)
    # httpx without http2=True offers no h2
    with net.client() as client, pytest.raises(httpx.RemoteProtocolError) as cut:
        client.get(f"{URL}.mod")
    assert str(cut.value) == "Server disconnected without sending a response."
    with pytest.raises(ServerError) as raised:
        net.close()
    assert (
        f"{plan!r} is an HTTP/2 fault, but this client speaks HTTP/1.1 to proxy.test (it did "
        "not offer h2 by ALPN)"
    ) in str(raised.value)


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        (ChunkedCut(10), "peer closed connection without sending complete message body"),
        (Corrupt(3), "illegal status line: bytearray(b'HTT\\xaf/1.1 200 OK')"),
    ],
    ids=["ChunkedCut", "Corrupt counted from the status line"],
)
def test_a_waiting_http1_plan_makes_its_host_offer_http1_alone(net, plan, error) -> None:
    net.fault("proxy.test", plan, path="*.mod")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError) as raised:
        client.get(f"{URL}.mod")
    assert str(raised.value).split(" (", 1)[0] == error
    assert [c.protocol for c in net.log] == ["http/1.1"]


def test_a_host_offers_h2_again_once_its_http1_plan_is_taken(net) -> None:
    """HTTP/1.1 alone only while the plan waits: once it is taken, the host offers h2 again."""
    with net.client(http2=True) as client:
        client.get(f"{URL}.info")
    net.fault("proxy.test", ChunkedCut(10), path="*.mod")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{URL}.mod")
    for _ in range(2):
        with net.client(http2=True) as client:
            assert client.get(f"{URL}.info").http_version == "HTTP/2"
    assert [c.protocol for c in settled(lambda: net.log, connections=True)] == [
        "h2",
        "http/1.1",
        "h2",
        "h2",
    ]


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            ChunkedCut(10),
            "ChunkedCut(at=10) rewrites HTTP/1.1 framing, but this client speaks HTTP/2 to "
            "proxy.test (no chunked bodies there): use StreamReset or Truncate(where='body'), "
            "or make proxy.test http1_only()",
        ),
        (
            Corrupt(3),
            "Corrupt(at=3, xor=255, where=None) flips a byte of the response head, which "
            "HTTP/2 sends HPACK-coded in a HEADERS frame: give where='body', or make the host "
            "http1_only()",
        ),
    ],
    ids=["ChunkedCut", "Corrupt in the head"],
)
def test_http1_framing_plans_met_over_h2_are_a_clear_error(net, plan, message) -> None:
    with net.client(http2=True) as client:
        client.get(f"{URL}.info")  # the HTTP/2 connection is open before the plan is armed
        net.fault("proxy.test", plan)
        with pytest.raises(httpx.HTTPError):
            client.get(f"{URL}.mod")
    with pytest.raises(ServerError) as raised:
        net.close()
    assert message in str(raised.value)


def test_corrupt_in_the_body_flips_a_data_byte(net, module_store) -> None:
    net.fault("proxy.test", Corrupt(0, xor=0x01, where="body"), path="*.mod")
    with net.client(http2=True) as client:
        got = client.get(f"{URL}.mod").content
    mod = module_store.get(MODULE, VERSION).go_mod
    assert got == bytes([mod[0] ^ 0x01]) + mod[1:]


def test_bad_http2_fault_arguments_say_what_to_give() -> None:
    with pytest.raises(FaultPlanError) as raised:
        StreamReset(5, code="OOPS")
    assert str(raised.value) == (
        "StreamReset: code='OOPS' is not an HTTP/2 error code: a name such as "
        "'INTERNAL_ERROR' (RFC 9113, section 7) or an int from 0 to 2**32-1"
    )
    with pytest.raises(FaultPlanError, match=r"GoAway: last_stream_id=-1 must be None or an int"):
        GoAway(0, last_stream_id=-1)


def test_an_http1_only_host_is_served_http1_to_an_h2_client(net) -> None:
    net.http1_only("proxy.test")
    with net.client(http2=True) as client:
        response = client.get(f"{URL}.mod")
    assert (response.http_version, response.status_code) == ("HTTP/1.1", 200)
    assert [c.protocol for c in net.log] == ["http/1.1"]
    assert net.faults == ["http1_only('proxy.test')"]


def test_a_lying_content_length_over_h2_ends_without_end_stream(net, module_store) -> None:
    net.fault("proxy.test", LieContentLength(100), path="*.mod")
    with net.client(http2=True) as client, pytest.raises(httpx.RemoteProtocolError) as raised:
        client.get(f"{URL}.mod")
    assert str(raised.value) == "Server disconnected"
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    size = len(module_store.get(MODULE, VERSION).go_mod)
    assert exchange.frames == ["HEADERS", f"DATA {size} B", "connection fin"]


def test_end_stream_short_of_the_content_length(net, module_store) -> None:
    """httpx 0.28 lets h2's own exception through here, unwrapped."""
    net.fault("proxy.test", EndStreamEarly(5), path="*.mod")
    with net.client(http2=True) as client, pytest.raises(InvalidBodyLengthError) as raised:
        client.get(f"{URL}.mod")
    size = len(module_store.get(MODULE, VERSION).go_mod)
    assert str(raised.value) == f"InvalidBodyLengthError: Expected {size} bytes, received 5"
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    assert (exchange.ended, exchange.frames) == (
        "end_stream",
        ["HEADERS", "DATA 5 B", "END_STREAM"],
    )


def test_data_before_headers(net, module_store) -> None:
    net.fault("proxy.test", DataBeforeHeaders(), path="*.mod")
    with net.client(http2=True) as client, pytest.raises(httpx.LocalProtocolError) as raised:
        client.get(f"{URL}.mod")
    assert str(raised.value) == "cannot receive data before headers"
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    size = len(module_store.get(MODULE, VERSION).go_mod)
    assert exchange.frames == ["DATA 0 B before HEADERS", "HEADERS", f"DATA {size} B", "END_STREAM"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=fault_plans(kinds=H2_FAULTS))
def test_httpx_never_takes_a_broken_h2_stream_for_the_zip(net, module_store, plan) -> None:
    """Fuzzing the HTTP/2 plans: the client errs, or it has the whole zip, never less."""
    with net.example(), net.client(http2=True) as client:
        # A connection fault meets the next connection, whatever it asks.
        net.fault("proxy.test", plan, path=None if isinstance(plan, CONNECTION_FAULTS) else "*.zip")
        try:
            got = client.get(f"{URL}.zip").content
        except (httpx.HTTPError, InvalidBodyLengthError):
            return
        assert got == _zip(module_store)


def test_a_request_body_over_the_limit_is_refused_on_its_stream(net) -> None:
    with net.client(http2=True) as client:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            client.post(f"{URL}.mod", content=bytes(MAX_REQUEST_BODY + 1))
        after = client.get(f"{URL}.mod")  # the connection goes on
    assert str(raised.value) == "<StreamReset stream_id:1, error_code:7, remote_reset:True>"
    assert after.status_code == 200
    assert [x.stream for c in net.log for x in c.exchanges] == [3]


def test_a_stream_for_another_host_gets_421_and_the_connection_goes_on(net) -> None:
    """As inside an HTTP/1.1 tunnel: a tunnel to proxy.test never reaches other.test's
    handler, whatever the stream's :authority names."""
    net.add_handler("other.test", lambda request: Response(b"other's secret\n"))
    with net.client(http2=True) as client:
        misdirected = client.get(f"{URL}.info", headers={"Host": "other.test"})
        served = client.get(f"{URL}.info")
    assert misdirected.http_version == "HTTP/2"
    assert (misdirected.status_code, misdirected.text) == (
        421,
        "gomodnet Router: this tunnel serves proxy.test, not 'other.test': "
        "open a tunnel to other.test for it\n",
    )
    assert served.status_code == 200
    (conn,) = settled(lambda: net.log, connections=True)
    assert (conn.host, conn.protocol) == ("proxy.test", "h2")
    assert [(x.stream, x.status, x.ended) for x in conn.exchanges] == [
        (1, 421, "misdirected-request"),
        (3, 200, "ok"),
    ]


# --- a stream whose window never opens; SETTINGS never acknowledged --------------------------


MOD_PATH = f"/{MODULE}/@v/{VERSION}.mod"
ZIP_PATH = f"/{MODULE}/@v/{VERSION}.zip"


def test_a_window_stall_stops_the_stream_then_resets_it(net, module_store) -> None:
    net.fault("proxy.test", WindowStall(100, 0.5), path="*.zip")
    with net.client(http2=True) as client:
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            client.get(f"{URL}.zip")
        took = time.monotonic() - started
        mod = client.get(f"{URL}.mod")  # the same connection goes on
    assert str(raised.value) == "<StreamReset stream_id:1, error_code:8, remote_reset:True>"
    assert took >= 0.5
    assert mod.content == module_store.get(MODULE, VERSION).go_mod
    (conn,) = settled(lambda: net.log, connections=True)
    zip_stream, mod_stream = conn.exchanges
    assert (zip_stream.stream, zip_stream.ended, zip_stream.frames) == (
        1,
        "window_stall",
        ["HEADERS", "DATA 100 B", "no frame for 0.5 s", "RST_STREAM CANCEL"],
    )
    assert (mod_stream.stream, mod_stream.ended) == (3, "ok")


def test_a_client_with_a_shorter_read_deadline_gives_up_on_a_stalled_window(net) -> None:
    net.fault("proxy.test", WindowStall(100, 2.0), path="*.zip")
    with net.client(http2=True, timeout=0.5) as client, pytest.raises(httpx.ReadTimeout):
        client.get(f"{URL}.zip")
    ((exchange,),) = [c.exchanges for c in settled(lambda: net.log, connections=True)]
    assert exchange.frames[:3] == ["HEADERS", "DATA 100 B", "no frame for 2 s"]


def test_while_one_stream_stalls_the_others_and_pings_are_answered(net, module_store) -> None:
    """Frame by frame: the .mod stream opened after the stall began ends, and the PING
    sent then comes back, before the stalled stream gets anything more (its RST_STREAM)."""
    net.fault("proxy.test", WindowStall(100, 2.0), path="*.zip")
    with BareH2Client(net) as client:
        stalled = client.get(ZIP_PATH)
        client.until(lambda events: of_stream(events, stalled, h2.events.DataReceived))
        other = client.get(MOD_PATH)
        client.ping(b"stalled?")
        client.until(lambda events: of_stream(events, stalled, h2.events.StreamReset))
    frames = client.frames
    assert [f for f in frames if f[1] == stalled] == [
        ("HEADERS", stalled, {"END_HEADERS"}),
        ("DATA", stalled, set()),
        ("RSTSTREAM", stalled, set()),
    ]
    before_the_reset = frames[: frames.index(("RSTSTREAM", stalled, set()))]
    assert ("DATA", other, {"END_STREAM"}) in before_the_reset
    assert ("PING", 0, {"ACK"}) in before_the_reset
    (reset,) = [e for e in client.events if isinstance(e, h2.events.StreamReset)]
    assert reset.error_code == 8  # CANCEL
    mod = b"".join(
        e.data
        for e in client.events
        if isinstance(e, h2.events.DataReceived) and e.stream_id == other
    )
    assert mod == module_store.get(MODULE, VERSION).go_mod
    (conn,) = settled(lambda: net.log, connections=True)
    assert [(x.stream, x.ended) for x in conn.exchanges] == [(1, "window_stall"), (3, "ok")]


def _frames_for_one_get(net: Network) -> list[tuple[str, int, set[str]]]:
    """Every frame a bare client receives on a new connection asking the .mod."""
    with BareH2Client(net) as client:
        stream = client.get(MOD_PATH)
        client.until(lambda events: of_stream(events, stream, h2.events.StreamEnded))
    return client.frames


def test_no_settings_ack_withholds_the_ack_alone(net) -> None:
    served = [
        ("HEADERS", 1, {"END_HEADERS"}),
        ("DATA", 1, set()),
        ("DATA", 1, {"END_STREAM"}),
    ]
    assert _frames_for_one_get(net) == [("SETTINGS", 0, set()), ("SETTINGS", 0, {"ACK"}), *served]
    net.fault("proxy.test", NoSettingsAck())
    assert _frames_for_one_get(net) == [("SETTINGS", 0, set()), *served]
    net.fault("proxy.test", NoSettingsAck(send_settings=False))
    assert _frames_for_one_get(net) == served
    faulted = settled(lambda: net.log, connections=True)[1:]
    assert [(c.fault, c.frames) for c in faulted] == [
        ("NoSettingsAck(send_settings=True)", ["SETTINGS ACK withheld"]),
        (
            "NoSettingsAck(send_settings=False)",
            ["SETTINGS withheld", "SETTINGS ACK withheld"],
        ),
    ]


@pytest.mark.parametrize("send_settings", [True, False])
def test_httpx_never_waits_for_the_settings_ack(net, module_store, send_settings) -> None:
    """Nor for the host's SETTINGS: h2 takes a response with none before it."""
    net.fault("proxy.test", NoSettingsAck(send_settings))
    with net.client(http2=True) as client:
        response = client.get(f"{URL}.mod")
    assert (response.http_version, response.content) == (
        "HTTP/2",
        module_store.get(MODULE, VERSION).go_mod,
    )
    (conn,) = settled(lambda: net.log, connections=True)
    assert conn.fault == f"NoSettingsAck(send_settings={send_settings})"
    assert net.format_log().splitlines()[1] == (
        "  connection frames: "
        + ("SETTINGS ACK withheld" if send_settings else "SETTINGS withheld, SETTINGS ACK withheld")
    )


def test_no_settings_ack_takes_no_path(net) -> None:
    with pytest.raises(FaultPlanError) as raised:
        net.fault("proxy.test", NoSettingsAck(), path="*.zip")
    assert str(raised.value) == (
        "NoSettingsAck(send_settings=True) happens before any request is read, so it cannot "
        "take path='*.zip'"
    )


@pytest.mark.parametrize(
    "plan", [WindowStall(10, 1.0), NoSettingsAck()], ids=["WindowStall", "NoSettingsAck"]
)
def test_the_new_h2_plans_are_refused_on_an_http1_only_host(net, plan) -> None:
    net.http1_only("proxy.test")
    with pytest.raises(FaultPlanError) as raised:
        net.fault("proxy.test", plan)
    assert str(raised.value) == (
        f"{plan!r} is an HTTP/2 fault, but proxy.test offers HTTP/1.1 alone (it is "
        "http1_only(), framed chunked or close, or added without tls=)"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: WindowStall(5, 0), "WindowStall: seconds=0 must be a positive number"),
        (lambda: WindowStall(5, math.inf), "WindowStall: seconds=inf must be finite"),
        (lambda: WindowStall(-1, 1), "WindowStall: at=-1 must be >= 0"),
        (
            lambda: WindowStall(5, 1, code="SLOW"),
            "WindowStall: code='SLOW' is not an HTTP/2 error code: a name such as "
            "'INTERNAL_ERROR' (RFC 9113, section 7) or an int from 0 to 2**32-1",
        ),
        (
            lambda: NoSettingsAck("no"),
            "NoSettingsAck: send_settings='no' must be True (the host sends its own "
            "SETTINGS, unacknowledged) or False (it sends none)",
        ),
    ],
    ids=["no pause", "endless", "negative offset", "unknown code", "send_settings not a bool"],
)
def test_bad_arguments_of_the_new_h2_plans_say_what_to_give(make, message) -> None:
    with pytest.raises(FaultPlanError) as raised:
        make()
    assert str(raised.value) == message
