"""The fault engine, sans-IO: exact bytes forwarded for every plan at the offsets that matter."""

from __future__ import annotations

import pytest

from _helpers import drive
from pytest_gomodnet.errors import FaultPlanError
from pytest_gomodnet.faults import (
    ChunkedCut,
    Close,
    CloseBeforeResponse,
    Corrupt,
    Drip,
    FaultPlan,
    Frame,
    HtmlLogin,
    LieContentLength,
    Reset,
    ResponseEngine,
    Send,
    Sleep,
    SlowFirstByte,
    Stall,
    Status,
    Throttle,
    Truncate,
    WindowStall,
    WrongContentType,
    synthesized_response,
)

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 10\r\n\r\n"
BODY = b"0123456789"
RESPONSE = HEAD + BODY


def run(plan: FaultPlan | None, chunks: list[bytes] | None = None) -> tuple[bytes, list]:
    """Feed HEAD then BODY (in ``chunks``) and return (bytes sent, non-Send actions)."""
    return drive(ResponseEngine(plan), HEAD, chunks or [BODY])


OFFSETS = {
    "zero": 0,
    "inside the status line": 5,
    "just before the blank line": len(HEAD) - 2,
    "at the header/body boundary": len(HEAD),
    "mid-body": len(HEAD) + 4,
    "last byte": len(RESPONSE) - 1,
}


@pytest.mark.parametrize("at", OFFSETS.values(), ids=list(OFFSETS))
@pytest.mark.parametrize("chunks", [[BODY], [b"012", b"3456", b"789"]], ids=["one", "three"])
def test_truncate_sends_exactly_at_bytes(at, chunks) -> None:
    assert run(Truncate(at), chunks) == (RESPONSE[:at], [Close("fin")])


# Every byte fault that takes an offset, with what the client must receive and how the
# connection must end, at every offset above plus exactly at the end of the body
# (the response's Content-Length reached) and past it.
AT_OFFSETS = {**OFFSETS, "exactly at Content-Length": len(RESPONSE), "past the end": 1000}
CHUNKINGS = {
    "one chunk": [BODY],
    "three chunks": [b"012", b"3456", b"789"],
    "byte by byte": [bytes([b]) for b in BODY],
}


def flipped(at: int) -> bytes:
    if at >= len(RESPONSE):
        return RESPONSE  # nothing there to flip
    return RESPONSE[:at] + bytes([RESPONSE[at] ^ 0xFF]) + RESPONSE[at + 1 :]


CUT_PLANS = {
    "Truncate fin": (lambda at: Truncate(at), lambda at: (RESPONSE[:at], [Close("fin")])),
    "Truncate rst": (
        lambda at: Truncate(at, close="rst"),
        lambda at: (RESPONSE[:at], [Close("rst")]),
    ),
    "Truncate tls-no-close-notify": (
        lambda at: Truncate(at, close="tls-no-close-notify"),
        lambda at: (RESPONSE[:at], [Close("tls-no-close-notify")]),
    ),
    "Reset": (lambda at: Reset(at), lambda at: (RESPONSE[:at], [Close("rst")])),
    "Stall": (
        lambda at: Stall(at, seconds=1.5),
        lambda at: (RESPONSE[:at], [Sleep(1.5), Close("deadline")]),
    ),
    "Corrupt": (lambda at: Corrupt(at), lambda at: (flipped(at), [])),
}


@pytest.mark.parametrize("chunks", CHUNKINGS.values(), ids=list(CHUNKINGS))
@pytest.mark.parametrize("at", AT_OFFSETS.values(), ids=list(AT_OFFSETS))
@pytest.mark.parametrize("plan", CUT_PLANS, ids=list(CUT_PLANS))
def test_every_offset_plan_forwards_exactly_its_bytes(plan, at, chunks) -> None:
    make, expected = CUT_PLANS[plan]
    assert run(make(at), chunks) == expected(min(at, len(RESPONSE)))


# where= only moves the origin: each relative offset equals one absolute offset.
WHERE_EQUIVALENTS = [
    ({"at": 0, "where": "headers"}, 0),
    ({"at": 5, "where": "headers"}, 5),
    ({"at": 0, "where": "body"}, len(HEAD)),
    ({"at": 4, "where": "body"}, len(HEAD) + 4),
    ({"at": len(BODY) - 1, "where": "body"}, len(RESPONSE) - 1),
    ({"at": len(BODY), "where": "body"}, len(RESPONSE)),
    ({"at": 0, "where": "body-end"}, len(RESPONSE)),
    ({"at": -1, "where": "body-end"}, len(RESPONSE) - 1),
    ({"at": -len(BODY), "where": "body-end"}, len(HEAD)),
]


@pytest.mark.parametrize("chunks", CHUNKINGS.values(), ids=list(CHUNKINGS))
@pytest.mark.parametrize(("relative", "absolute"), WHERE_EQUIVALENTS, ids=repr)
@pytest.mark.parametrize("kind", [Truncate, Reset, Corrupt, Stall], ids=lambda k: k.__name__)
def test_where_offsets_equal_their_absolute_offset(kind, relative, absolute, chunks) -> None:
    extra = {"seconds": 1.5} if kind is Stall else {}
    assert run(kind(**relative, **extra), chunks) == run(kind(absolute, **extra), chunks)


@pytest.mark.parametrize("chunks", CHUNKINGS.values(), ids=list(CHUNKINGS))
@pytest.mark.parametrize("plan", [Throttle(40), Drip(7, 0.01), CloseBeforeResponse()], ids=repr)
def test_whole_response_plans_forward_exact_bytes(plan, chunks) -> None:
    sent, rest = run(plan, chunks)
    if isinstance(plan, CloseBeforeResponse):
        assert (sent, rest) == (b"", [Close("fin")])
        return
    assert sent == RESPONSE
    assert all(isinstance(action, Sleep) for action in rest)
    if isinstance(plan, Throttle):  # the pauses add up to the size over the rate
        assert sum(a.seconds for a in rest) == pytest.approx(len(RESPONSE) / 40)


@pytest.mark.parametrize("chunks", CHUNKINGS.values(), ids=list(CHUNKINGS))
@pytest.mark.parametrize(
    ("at", "frames"),
    [
        (0, b""),
        (4, b"4\r\n0123\r\n"),
        (len(BODY) - 1, b"9\r\n012345678\r\n"),
        (len(BODY), b"a\r\n0123456789\r\n"),
        (1000, b"a\r\n0123456789\r\n"),  # past the body: all of it, still no last chunk
    ],
)
def test_chunked_cut_at_every_body_offset(at, frames, chunks) -> None:
    chunked_head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sent, rest = run(ChunkedCut(at), chunks)
    assert rest == [Close("fin")]
    # Frames follow the chunks fed, so compare the de-chunked payload and the framing.
    assert sent.startswith(chunked_head)
    assert dechunk(sent[len(chunked_head) :]) == dechunk(frames)
    assert not sent.endswith(b"0\r\n\r\n")


def dechunk(data: bytes) -> bytes:
    payload = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        assert rest[size : size + 2] == b"\r\n"
        payload, data = payload + rest[:size], rest[size + 2 :]
    return payload


def test_truncate_at_content_length_delivers_all_then_closes() -> None:
    assert run(Truncate(len(RESPONSE), close="rst")) == (RESPONSE, [Close("rst")])


def test_where_body_and_body_end_count_from_the_parts() -> None:
    assert run(Truncate(0, where="body"))[0] == HEAD
    assert run(Truncate(3, where="body"))[0] == HEAD + b"012"
    assert run(Truncate(-1, where="body-end"))[0] == HEAD + b"012345678"
    assert run(Truncate(0, where="body-end"))[0] == RESPONSE


def test_reset_and_tls_close_modes() -> None:
    assert run(Reset(7)) == (RESPONSE[:7], [Close("rst")])
    assert run(Truncate(7, close="tls-no-close-notify"))[1] == [Close("tls-no-close-notify")]


def test_stall_goes_silent_then_closes_by_its_deadline() -> None:
    assert run(Stall(4, seconds=2.5, where="body")) == (
        HEAD + b"0123",
        [Sleep(2.5), Close("deadline")],
    )


@pytest.mark.parametrize("chunks", [[BODY], [b"012", b"3456", b"789"]], ids=["one", "three"])
def test_a_window_stall_stops_its_stream_at_the_offset(chunks) -> None:
    """The engine hands the stall to the HTTP/2 side as one frame action; nothing after."""
    plan = WindowStall(4, seconds=2.5)
    engine = ResponseEngine(plan)
    assert drive(engine, HEAD, chunks) == (HEAD + b"0123", [Frame(plan)])
    assert (engine.done, engine.ended) == (True, "window_stall")
    past_the_end = WindowStall(10, seconds=1.0)
    assert run(past_the_end) == (RESPONSE, [Frame(past_the_end)])


def test_corrupt_flips_one_byte_and_delivers_everything() -> None:
    sent, rest = run(Corrupt(2, where="body"), [b"01", b"23456789"])
    assert sent == HEAD + b"01" + bytes([ord("2") ^ 0xFF]) + b"3456789"
    assert rest == []


def test_throttle_paces_by_rate() -> None:
    engine = ResponseEngine(Throttle(20))
    actions = engine.start(b"x" * 10)
    assert actions == [Send(b"x"), Sleep(0.05)] * 10


def test_drip_sends_chunks_with_delays() -> None:
    sent, rest = run(Drip(chunk=40, delay=0.01))
    assert sent == RESPONSE
    assert rest == [Sleep(0.01)] * 3


def test_close_before_response_sends_nothing() -> None:
    assert run(CloseBeforeResponse()) == (b"", [Close("fin")])


def test_lie_content_length_declares_more_then_closes() -> None:
    sent, rest = run(LieContentLength(5))
    assert sent == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 15\r\n\r\n" + BODY
    )
    assert rest == [Close("fin")]


def test_chunked_cut_reframes_and_stops_without_last_chunk() -> None:
    sent, rest = run(ChunkedCut(4), [b"012", b"3456789"])
    assert sent == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\n012\r\n1\r\n3\r\n"
    )
    assert rest == [Close("fin")]


def test_wrong_content_type_and_slow_first_byte() -> None:
    sent, _ = run(WrongContentType("text/html; charset=latin1"))
    assert sent == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/html; charset=latin1\r\n\r\n"
        + BODY
    )
    assert run(SlowFirstByte(0.25)) == (RESPONSE, [Sleep(0.25)])


def test_synthesized_responses() -> None:
    assert synthesized_response(Status(410, b"not found: gone\n")) == (
        b"HTTP/1.1 410 Gone\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 16\r\n\r\nnot found: gone\n"
    )
    login = synthesized_response(HtmlLogin())
    assert login.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n")
    assert b'<input name="password" type="password">' in login


def test_clean_engine_passes_everything() -> None:
    assert run(None, [b"01", b"", b"23456789"]) == (RESPONSE, [])


def test_reprs_paste_back() -> None:
    plan = Truncate(100, close="rst", where="body")
    assert repr(plan) == "Truncate(at=100, close='rst', where='body')"
    assert eval(repr(plan)) == plan


BAD = [
    (lambda: Truncate(-1), "Truncate: at=-1 must be >= 0"),
    (lambda: Truncate(1.5), "Truncate: at=1.5 must be an int"),
    (lambda: Truncate(True), "Truncate: at=True must be an int"),
    (lambda: Truncate(1, where="body-end"), "with where='body-end' must be <= 0"),
    (lambda: Truncate(1, close="slam"), "Truncate: close='slam' is not one of 'fin', 'rst'"),
    (lambda: Truncate(1, where="tail"), "Truncate: where='tail' is not one of"),
    (lambda: Throttle(0), "Throttle: bytes_per_second=0 must be a positive int"),
    (lambda: Stall(5, seconds=0), "Stall: seconds=0 must be a positive number"),
    (lambda: Stall(5, seconds=None), "Stall: seconds=None must be a positive number"),
    (lambda: Stall(5, seconds=float("inf")), "Stall: seconds=inf must be finite"),
    (lambda: Stall(5, seconds=float("nan")), "Stall: seconds=nan must be a positive number"),
    (lambda: Stall(-1, seconds=1), "Stall: at=-1 must be >= 0"),
    (lambda: Stall("5", seconds=1), "Stall: at='5' must be an int"),
    (lambda: Reset(-3), "Reset: at=-3 must be >= 0"),
    (lambda: Reset(2.0), "Reset: at=2.0 must be an int"),
    (lambda: Corrupt(-1), "Corrupt: at=-1 must be >= 0"),
    (lambda: Corrupt(1.0), "Corrupt: at=1.0 must be an int"),
    (lambda: ChunkedCut(-1), "ChunkedCut: at=-1 must be >= 0"),
    (lambda: Throttle(-5), "Throttle: bytes_per_second=-5 must be a positive int"),
    (lambda: Throttle(1.5), "Throttle: bytes_per_second=1.5 must be a positive int"),
    (lambda: Drip(10, float("inf")), "Drip: delay=inf must be finite"),
    (lambda: SlowFirstByte(float("inf")), "SlowFirstByte: seconds=inf must be finite"),
    (lambda: Drip(0, 0.1), "Drip: chunk=0 must be a positive int"),
    (lambda: Corrupt(1, xor=0), "Corrupt: xor=0 must be an int from 1 to 255"),
    (lambda: Status(99), "Status: code=99 is not an HTTP status"),
    (lambda: Status(500, "text"), "Status: body='text' must be bytes"),
    (lambda: LieContentLength(0), "LieContentLength: extra=0 must be a positive int"),
    (lambda: WrongContentType("a\nb"), "is not a printable one-line header value"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_arguments_name_the_problem(make, message) -> None:
    with pytest.raises(FaultPlanError) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


def test_stall_requires_seconds() -> None:
    with pytest.raises(TypeError, match="seconds"):
        Stall(5)  # type: ignore[call-arg]


def test_body_end_needs_a_content_length() -> None:
    engine = ResponseEngine(Truncate(-1, where="body-end"))
    with pytest.raises(
        FaultPlanError, match="where='body-end' needs a response whose length is known"
    ):
        engine.start(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
