"""The shared origin server: one werkzeug server, many virtual hosts by Host header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from werkzeug import Request, Response

from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.origin import Origin


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        yield server


def _hello(name: str):
    def handler(request: Request) -> Response:
        return Response(f"{name} {request.path}", content_type="text/plain")

    return handler


def test_routes_by_host_header(origin: Origin) -> None:
    origin.route("a.test", _hello("a"))
    origin.route("B.test", _hello("b"))
    with httpx.Client(base_url=origin.url) as client:
        assert client.get("/x", headers={"Host": "a.test"}).text == "a /x"
        assert client.get("/y", headers={"Host": "b.test:443"}).text == "b /y"
        missing = client.get("/z", headers={"Host": "c.test"})
    assert (missing.status_code, missing.text) == (404, "no virtual host 'c.test' on this origin\n")


def test_clear_routes_forgets_everything(origin: Origin) -> None:
    origin.route("a.test", _hello("a"))
    origin.clear_routes()
    with httpx.Client(base_url=origin.url) as client:
        assert client.get("/", headers={"Host": "a.test"}).status_code == 404


def test_handler_error_is_a_500_and_kept_for_check(origin: Origin) -> None:
    def broken(request: Request) -> Response:
        raise KeyError("boom")

    origin.route("a.test", broken)
    with httpx.Client(base_url=origin.url) as client:
        response = client.get("/", headers={"Host": "a.test"})
    assert (response.status_code, response.text) == (
        500,
        "internal error in the handler for 'a.test': KeyError\n",
    )
    with pytest.raises(ServerError, match=r"a virtual host's handler failed: KeyError\('boom'\)"):
        origin.check()
    origin.check()  # reported once
