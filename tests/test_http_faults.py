"""HTTP-level faults through the Router on real sockets: per path, and in per-exchange sequences."""

from __future__ import annotations

import httpx
import pytest
from werkzeug import Request, Response

from pytest_gomodnet.faults import (
    LOGIN_PAGE,
    ChunkedCut,
    HtmlLogin,
    LieContentLength,
    SlowFirstByte,
    Status,
    WrongContentType,
)
from pytest_gomodnet.network import Network

BODY = b'{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}'
INFO = "https://proxy.test/example.test/m/@v/v1.0.0.info"
MOD = "https://proxy.test/example.test/m/@v/v1.0.0.mod"


def _serve(request: Request) -> Response:
    return Response(BODY, content_type="application/json")


@pytest.fixture
def net(gomodnet: Network) -> Network:
    gomodnet.add_handler("proxy.test", _serve)
    return gomodnet


def _faults(net: Network) -> list[tuple[str, str | None]]:
    return [(x.path.rpartition(".")[2], x.fault) for c in net.log for x in c.exchanges]


def test_a_sequence_of_http_faults_hits_one_exchange_each(net) -> None:
    net.fault(
        "proxy.test",
        Status(503, b"busy\n"),
        HtmlLogin(),
        LieContentLength(10),
        ChunkedCut(5),
        None,
        path="*.info",
    )
    with net.client() as client:
        busy = client.get(INFO)
        assert (busy.status_code, busy.reason_phrase, busy.content) == (
            503,
            "Service Unavailable",
            b"busy\n",
        )
        assert busy.headers["content-type"] == "text/plain; charset=utf-8"
        login = client.get(INFO)
        assert (login.status_code, login.content) == (200, LOGIN_PAGE)
        assert login.headers["content-type"] == "text/html; charset=utf-8"
        with pytest.raises(
            httpx.RemoteProtocolError,
            match=f"received {len(BODY)} bytes, expected {len(BODY) + 10}",
        ):
            client.get(INFO)
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
            client.get(INFO)
        assert client.get(INFO).content == BODY
        # The path's queue is used up: clean from now on, and .mod never had one.
        assert client.get(INFO).content == BODY
        assert client.get(MOD).content == BODY
    assert _faults(net) == [
        ("info", "Status(code=503, body=b'busy\\n')"),
        ("info", "HtmlLogin()"),
        ("info", "LieContentLength(extra=10)"),
        ("info", "ChunkedCut(at=5)"),
        ("info", None),
        ("info", None),
        ("mod", None),
    ]


def test_wrong_content_type_changes_only_that_header(net) -> None:
    net.fault("proxy.test", WrongContentType("text/html; charset=utf-8"), None, path="*.info")
    with net.client() as client:
        wrong = client.get(INFO)
        right = client.get(INFO)
    assert (wrong.status_code, wrong.content) == (200, BODY)
    assert wrong.headers["content-type"] == "text/html; charset=utf-8"
    assert wrong.headers["content-length"] == str(len(BODY))
    assert right.headers["content-type"] == "application/json"


def test_slow_first_byte_outlasts_a_read_timeout_then_the_retry_is_clean(net) -> None:
    net.fault("proxy.test", SlowFirstByte(30), None, path="*.info")
    with net.client() as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(INFO, timeout=httpx.Timeout(5.0, read=0.3))
        assert client.get(MOD).content == BODY  # another path is not slowed
        assert client.get(INFO).content == BODY
    (slow, *_rest) = [x for c in net.log for x in c.exchanges]
    assert (slow.fault, slow.bytes_down) == ("SlowFirstByte(seconds=30)", 0)


def test_slow_first_byte_then_delivers_every_byte(net) -> None:
    net.fault("proxy.test", SlowFirstByte(0.2))
    with net.client() as client:
        response = client.get(INFO)
    assert (response.status_code, response.content) == (200, BODY)
    assert _faults(net) == [("info", "SlowFirstByte(seconds=0.2)")]
