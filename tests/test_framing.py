"""Framing, sans-IO: the bytes each framing puts on the wire, and faults counted over them."""

from __future__ import annotations

import h11
import pytest

from pytest_gomodnet.errors import FaultPlanError
from pytest_gomodnet.faults import (
    ChunkedCut,
    Close,
    Corrupt,
    FaultPlan,
    LieContentLength,
    ResponseEngine,
    Send,
    Truncate,
)
from pytest_gomodnet.framing import CHUNK_SIZE, FRAMINGS, Framer, Framing, framed_length

SOURCE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 10\r\n\r\n"
PAYLOAD = b"0123456789"
HEADS = {
    "content-length": SOURCE_HEAD,
    "chunked": b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n",
    "close": b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n",
}
WIRE = {
    "content-length": HEADS["content-length"] + PAYLOAD,
    "chunked": HEADS["chunked"] + b"a\r\n0123456789\r\n0\r\n\r\n",
    "close": HEADS["close"] + PAYLOAD,
}
BLOCKINGS = {
    "one block": [PAYLOAD],
    "three blocks": [b"012", b"3456", b"789"],
    "byte by byte": [bytes([b]) for b in PAYLOAD],
}


def run(
    plan: FaultPlan | None, framing: Framing, blocks: list[bytes] | None = None
) -> tuple[bytes, list[object]]:
    """Feed SOURCE_HEAD and PAYLOAD framed as ``framing``: (bytes sent, other actions)."""
    engine = ResponseEngine(plan, framing)
    actions = engine.start(SOURCE_HEAD)
    for block in blocks or [PAYLOAD]:
        actions += engine.feed(block)
    actions += engine.finish()
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    return sent, [a for a in actions if not isinstance(a, Send)]


@pytest.mark.parametrize("blocks", BLOCKINGS.values(), ids=list(BLOCKINGS))
@pytest.mark.parametrize("framing", FRAMINGS)
def test_clean_response_in_each_framing(framing: Framing, blocks: list[bytes]) -> None:
    assert run(None, framing, blocks) == (WIRE[framing], [])


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5]
)
@pytest.mark.parametrize("block", [1000, CHUNK_SIZE, 100_000])
def test_chunks_do_not_depend_on_the_blocks_fed(size: int, block: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    framer = Framer("chunked", size)
    fed = b"".join(framer.body(payload[i : i + block]) for i in range(0, size, block))
    wire = fed + framer.end()
    whole = Framer("chunked", size)
    assert wire == whole.body(payload) + whole.end()
    assert len(wire) == framed_length("chunked", size)
    assert len(payload) == framed_length("close", size) == framed_length("content-length", size)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_framed_head_drops_the_other_framings(framing: Framing) -> None:
    source = (
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 10\r\nX-Kept: yes\r\n\r\n"
    )
    expected = {
        "content-length": b"Content-Length: 10",
        "chunked": b"Transfer-Encoding: chunked",
        "close": b"Connection: close",
    }
    assert Framer(framing, 10).head(source) == (
        b"HTTP/1.1 200 OK\r\nX-Kept: yes\r\n" + expected[framing] + b"\r\n\r\n"
    )


def test_content_length_framing_needs_the_length() -> None:
    with pytest.raises(ValueError, match="content-length framing needs the payload's length"):
        Framer("content-length", None)


def test_unknown_framing_names_the_choices() -> None:
    with pytest.raises(
        FaultPlanError,
        match="framing='http/1.0' is not one of 'content-length', 'chunked', 'close'",
    ):
        ResponseEngine(None, "http/1.0")  # type: ignore[arg-type]


# --- faults count wire bytes: head plus framed body -------------------------------


@pytest.mark.parametrize("blocks", BLOCKINGS.values(), ids=list(BLOCKINGS))
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("at", [0, 5, 70, 75, 1000])
def test_truncate_cuts_the_framed_response(framing: Framing, at: int, blocks) -> None:
    assert run(Truncate(at), framing, blocks) == (WIRE[framing][:at], [Close("fin")])


@pytest.mark.parametrize("framing", FRAMINGS)
def test_where_body_and_body_end_count_framed_bytes(framing: Framing) -> None:
    body_start = len(HEADS[framing])
    wire = WIRE[framing]
    assert run(Truncate(3, where="body"), framing)[0] == wire[: body_start + 3]
    assert run(Truncate(-1, where="body-end"), framing)[0] == wire[:-1]
    assert run(Truncate(0, where="body-end"), framing) == (wire, [Close("fin")])


def test_corrupt_counts_the_chunk_size_line() -> None:
    sent, _ = run(Corrupt(0, xor=0x01, where="body"), "chunked")
    assert sent == HEADS["chunked"] + b"`\r\n0123456789\r\n0\r\n\r\n"


def test_plans_with_their_own_framing_keep_it() -> None:
    lie, _ = run(LieContentLength(5), "close")
    assert lie == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 15\r\n\r\n"
        + PAYLOAD
    )
    assert run(ChunkedCut(4), "close") == run(ChunkedCut(4), "chunked")


# --- what a client can see: h11, the parser under httpx -----------------------------


def client_reads(wire: bytes) -> str:
    """What h11 makes of ``wire`` followed by a clean close: "complete" or its error."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/m.zip", headers=[("Host", "proxy.test")]))
    conn.receive_data(wire)
    conn.receive_data(b"")
    body = b""
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return f"complete, {len(body)} bytes"
            elif event is h11.NEED_DATA:
                return "waits for more"
    except h11.RemoteProtocolError as exc:
        return f"error: {exc}"


def test_only_a_close_delimited_cut_looks_complete() -> None:
    cut = {f: run(Truncate(-3, where="body-end"), f)[0] for f in FRAMINGS}
    assert client_reads(cut["close"]) == "complete, 7 bytes"
    assert client_reads(cut["content-length"]) == (
        "error: peer closed connection without sending complete message body "
        "(received 7 bytes, expected 10)"
    )
    assert client_reads(cut["chunked"]) == "error: peer unexpectedly closed connection"
    for framing in FRAMINGS:
        assert client_reads(WIRE[framing]) == "complete, 10 bytes"
