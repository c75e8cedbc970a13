"""The shared origin server: one werkzeug server, many virtual hosts by Host header."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from werkzeug import Request, Response

from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.origin import HandlerServer, Origin, VirtualHosts


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


class _SlowToServe(HandlerServer):
    """A server whose thread starts serving only after 1.5 s: a stop meanwhile must not wait."""

    def thread_target(self) -> None:
        time.sleep(1.5)
        super().thread_target()


def test_stop_waits_a_second_at_most_and_names_the_server() -> None:
    server = _SlowToServe(_hello("slow"))
    server.start()
    thread = server.server_thread
    assert thread is not None
    started = time.monotonic()
    with pytest.raises(ServerError) as raised:
        server.stop()
    assert time.monotonic() - started < 1.4
    assert str(raised.value) == f"_SlowToServe at {server.url} did not stop within 1 s"
    # Once the thread serves, it sees the stop request and ends with its helper.
    thread.join(5)
    for helper in [t for t in threading.enumerate() if t.name == f"{thread.name}-stop"]:
        helper.join(5)
    assert not thread.is_alive()


def test_virtual_hosts_dispatch_in_process_without_a_socket() -> None:
    hosts = VirtualHosts()
    hosts.route("A.test", _hello("a"))
    answer = hosts.dispatch(Request.from_values("/x", headers={"Host": "a.test:443"}))
    assert answer.get_data() == b"a /x"
    missing = hosts.dispatch(Request.from_values("/x", headers={"Host": "b.test"}))
    assert (missing.status, missing.get_data()) == (
        "404 Not Found",
        b"no virtual host 'b.test' on this origin\n",
    )
    assert not hasattr(hosts, "url")
