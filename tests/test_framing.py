"""Framing, sans-IO: the bytes each framing puts on the wire, and faults counted over them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import h11
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Request, Response

from _helpers import drive, exchange, settled
from pytest_gomodnet._http import header
from pytest_gomodnet.errors import FaultPlanError
from pytest_gomodnet.faults import (
    ChunkedCut,
    Close,
    Corrupt,
    FaultPlan,
    LieContentLength,
    ResponseEngine,
    Truncate,
)
from pytest_gomodnet.framing import CHUNK_SIZE, FRAMINGS, Framer, Framing, framed_length
from pytest_gomodnet.goproxy import GoProxy, ModuleStore, StoredVersion
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.modules import go_mod_h1
from pytest_gomodnet.network import Network
from pytest_gomodnet.strategies import framings, truncation_points

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
    return drive(ResponseEngine(plan, framing), SOURCE_HEAD, blocks or [PAYLOAD])


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
        match=re.escape("framing='http/1.0' is not one of 'content-length', 'chunked', 'close'"),
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
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 15\r\n\r\n" + PAYLOAD
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


# --- through the Router: httpx -------------------------------------------------------

MODULE, VERSION = "example.test/m", "v1.0.0"
URL = f"https://proxy.test/{MODULE}/@v/{VERSION}"
GO_MOD = b"module example.test/m\n\ngo 1.21\n"
FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}


@pytest.fixture
def stored(module_store: ModuleStore) -> StoredVersion:
    return module_store.add(MODULE, VERSION, files=FILES, go_mod=GO_MOD)


def split(wire: bytes) -> tuple[bytes, bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body


@pytest.mark.parametrize("framing", FRAMINGS)
def test_response_bytes_are_the_framed_bytes(gomodnet, module_store, stored, framing) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing=framing)
    zip_bytes = stored.zip_path.read_bytes()
    head, body = split(gomodnet.response_bytes(f"{URL}.zip"))
    framer = Framer(framing, len(zip_bytes))
    assert head == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
        + framer.head(b"X\r\n\r\n")[3:]  # the framing's own header, last
    )
    assert body == framer.body(zip_bytes) + framer.end()
    with gomodnet.client() as client:
        response = client.get(f"{URL}.zip")
    assert response.content == zip_bytes
    zips = _settled_zip_exchanges(gomodnet)
    # response_bytes asked for the close; httpx keeps the connection unless the framing ends it
    ended = "fin" if framing == "close" else "ok"
    assert [(x.framing, x.ended) for x in zips] == [(framing, "fin"), (framing, ended)]


def test_a_close_delimited_cut_reaches_httpx_as_a_whole_response(
    gomodnet, module_store, stored
) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing="close")
    gomodnet.fault("proxy.test", Truncate(-1, where="body-end"), path="*.zip")
    with gomodnet.client() as client:
        response = client.get(f"{URL}.zip")
    assert response.status_code == 200
    assert response.content == stored.zip_path.read_bytes()[:-1]
    assert "content-length" not in response.headers
    (connection,) = gomodnet.log
    assert connection.ended == "fin"


@pytest.mark.parametrize(
    ("framing", "error"),
    [
        ("content-length", "peer closed connection without sending complete message body"),
        ("chunked", "peer unexpectedly closed connection"),
    ],
)
def test_a_framed_cut_is_an_error_to_httpx(gomodnet, module_store, stored, framing, error) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing=framing)
    gomodnet.fault("proxy.test", Truncate(-1, where="body-end"), path="*.zip")
    with gomodnet.client() as client, pytest.raises(httpx.RemoteProtocolError, match=error):
        client.get(f"{URL}.zip")


def test_a_path_framing_comes_before_the_hosts(gomodnet, module_store, stored) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing="chunked")
    gomodnet.frame("proxy.test", "close", path="*.zip")
    with gomodnet.client() as client:
        zip_response = client.get(f"{URL}.zip")
        mod_response = client.get(f"{URL}.mod")
    assert zip_response.headers["connection"] == "close"
    assert mod_response.headers["transfer-encoding"] == "chunked"
    assert mod_response.content == GO_MOD
    assert "gomodnet.frame('proxy.test', 'close', path='*.zip')" in gomodnet.story()
    assert "proxy.test: GOPROXY — proxy.test:" in gomodnet.story()
    assert ", framed chunked" in gomodnet.hosts["proxy.test"]


def test_a_handler_without_length_is_close_delimited_unless_framed(gomodnet) -> None:
    def streamed(request: Request) -> Response:
        return Response(iter([b"part one, ", b"part two"]), content_type="text/plain")

    gomodnet.add_handler("stream.test", streamed)
    head, body = split(gomodnet.response_bytes("https://stream.test/"))
    assert (header(head, b"connection"), header(head, b"content-length")) == (b"close", None)
    assert body == b"part one, part two"
    gomodnet.frame("stream.test", "content-length")
    head, body = split(gomodnet.response_bytes("https://stream.test/"))
    assert (header(head, b"connection"), header(head, b"content-length")) == (None, b"18")
    assert body == b"part one, part two"


@pytest.mark.parametrize("framing", FRAMINGS)
def test_an_upstream_of_your_own_is_reframed(gomodnet, module_store, stored, framing) -> None:
    with GoProxy(module_store) as upstream:
        gomodnet.add_host("proxy.test", upstream.url, framing=framing)
        with gomodnet.client() as client:
            first = client.get(f"{URL}.zip")
            second = client.get(f"{URL}.mod")
    assert first.content == stored.zip_path.read_bytes()
    assert second.content == GO_MOD
    expected = {"content-length": "content-length", "chunked": "transfer-encoding"}
    if framing in expected:
        assert expected[framing] in first.headers
    else:
        assert first.headers["connection"] == "close"


def test_framing_refuses_what_it_cannot_frame(gomodnet) -> None:
    relayed = (
        "framing='close': the Router relays https://127.0.0.1:1's TLS untouched and cannot "
        "re-frame it; give an http:// upstream to frame its responses"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(relayed)}$"):
        gomodnet.add_host("relay.test", "https://127.0.0.1:1", framing="close")
    with pytest.raises(FaultPlanError, match=re.escape("framing='http/1.0' is not one of")):
        gomodnet.frame("proxy.test", "http/1.0")


def test_bodiless_answers_are_not_framed(gomodnet, module_store, stored) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing="chunked")
    with gomodnet.client() as client:
        response = client.head(f"{URL}.zip")
    assert response.headers["content-length"] == str(stored.zip_path.stat().st_size)
    assert "transfer-encoding" not in response.headers
    (connection,) = gomodnet.log
    assert connection.exchanges[0].framing is None


# --- through the Router: the real go command ---------------------------------------------


def download(go: GoToolchain, home: Path, net: Network) -> dict[str, str]:
    result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=net.go_env())
    (info,) = result.json_objects()
    return info


def cached(home: Path, suffix: str) -> list[bytes]:
    download_cache = home / "gopath/pkg/mod/cache/download"
    return [p.read_bytes() for p in sorted(download_cache.rglob(f"*{suffix}")) if p.is_file()]


GO_REFUSES = {
    "zip": "zip: not a valid zip file",
    "info": f'{MODULE}@{VERSION}: invalid response from proxy "https://proxy.test": '
    "unexpected end of JSON input",
}


@pytest.mark.parametrize("kind", GO_REFUSES)
def test_go_refuses_a_close_delimited_cut_zip_or_info(
    go, tmp_path, gomodnet, module_store, stored, kind
) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing="close")
    gomodnet.fault("proxy.test", Truncate(-1, where="body-end"), path=f"*.{kind}")
    info = download(go, tmp_path, gomodnet)
    assert info["Error"] == GO_REFUSES[kind]
    assert cached(tmp_path, ".zip") == []


@pytest.mark.parametrize(
    "cut", [Truncate(5, where="body"), Truncate(-len(b"\ngo 1.21\n"), where="body-end")]
)
def test_go_accepts_a_close_delimited_cut_mod_without_a_sumdb(
    go, tmp_path, gomodnet, module_store, stored, cut
) -> None:
    """A finding: with GOSUMDB=off go keeps and hashes whatever .mod arrived, even "modul"."""
    gomodnet.add_goproxy("proxy.test", module_store, framing="close")
    gomodnet.fault("proxy.test", cut, path="*.mod")
    info = download(go, tmp_path, gomodnet)
    kept = GO_MOD[: 5 if cut.where == "body" else -len(b"\ngo 1.21\n")]
    assert "Error" not in info
    assert cached(tmp_path, ".mod") == [kept]
    assert info["GoModSum"] == go_mod_h1(kept) != stored.go_mod_h1
    assert info["Sum"] == stored.h1


# --- fuzzing: any framing, any cut -----------------------------------------------------


def test_httpx_sees_every_cut_but_a_close_delimited_bodys(gomodnet, module_store, stored) -> None:
    """Any framing, any cut: httpx raises, except for a close-delimited body, which it
    returns short and says nothing: the cut only a check of the bytes can find."""
    gomodnet.add_goproxy("proxy.test", module_store)
    url = f"{URL}.zip"

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        framing = data.draw(framings(), label="framing")
        gomodnet.frame("proxy.test", framing, path="*.zip")
        response = gomodnet.response_bytes(url)
        at = data.draw(truncation_points(response), label="at")
        gomodnet.fault("proxy.test", Truncate(at), path="*.zip")
        body_start = response.index(b"\r\n\r\n") + 4
        try:
            body: bytes | None = client.get(url).content
        except httpx.HTTPError:
            body = None
        silent = framing == "close" and at >= body_start
        assert body == (response[body_start:at] if silent else None)

    with gomodnet.client() as client:
        check()


def test_the_fault_proxy_frames_too(fault_proxy, module_store, stored) -> None:
    with GoProxy(module_store) as upstream:
        proxy = fault_proxy(upstream.url, framing="chunked")
        proxy.frame("close", path="*.mod")
        proxy.fault(Truncate(-1, where="body-end"), path="*.mod")
        with httpx.Client(base_url=proxy.url) as client:
            zip_response = client.get(f"/{MODULE}/@v/{VERSION}.zip")
            mod_response = client.get(f"/{MODULE}/@v/{VERSION}.mod")
    assert zip_response.headers["transfer-encoding"] == "chunked"
    assert zip_response.content == stored.zip_path.read_bytes()
    assert (mod_response.status_code, mod_response.content) == (200, GO_MOD[:-1])


def test_an_http_1_0_client_gets_close_where_chunked_was_asked(
    gomodnet, module_store, stored
) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, framing="chunked")
    request = f"GET http://proxy.test/{MODULE}/@v/{VERSION}.mod HTTP/1.0\r\n\r\n".encode()
    head, body = split(exchange(urlsplit(gomodnet.router_url).port or 0, request))
    assert (header(head, b"connection"), header(head, b"transfer-encoding")) == (b"close", None)
    assert body == GO_MOD
    assert gomodnet.log[0].exchanges[0].framing == "close"


def _settled_zip_exchanges(gomodnet):
    """The .zip exchanges once the Router has logged how each ended."""
    return [
        x for c in settled(lambda: gomodnet.log) for x in c.exchanges if x.path.endswith(".zip")
    ]
