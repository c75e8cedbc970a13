"""Hypothesis examples per second for a truncation fuzz loop, three ways, over HTTP/2
too, and for the default strategy.

Each example cuts the zip response at an offset hypothesis picks and makes one
httpx request over a fresh TLS connection: through the Router (``net.fault``),
against a pytest-httpserver handler reconfigured per example, and against a
bare asyncio server sending precomputed bytes. The last loop is what a user's
test does with the default strategy: ``net.aimed_faults(url)`` (every fast kind,
every framing) armed in ``net.example()``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_gomodnet.faults import Truncate
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.strategies import AimedFault
from pytest_gomodnet.tls import GomodnetCA

from . import _best
from . import _table as table
from ._bare import BareServer

CLOSE = {"Connection": "close"}
T = TypeVar("T")


def _rate(examples: int, drawn: st.SearchStrategy[T] | int, one: Callable[[T], None]) -> float:
    """Examples a second of ``one`` over ``drawn`` (an int: offsets up to it)."""
    strategy = st.integers(0, drawn) if isinstance(drawn, int) else drawn

    @settings(max_examples=examples, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def loop(value: T) -> None:
        with contextlib.suppress(httpx.HTTPError):
            one(value)

    started = time.perf_counter()
    loop()
    return examples / (time.perf_counter() - started)


def run(quick: bool) -> list[table.Row]:
    rounds, examples = (1, 20) if quick else (4, 60)
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = stack.enter_context(ModuleStore())
        stored = store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n" * 200})
        body = stored.zip_path.read_bytes()
        url = "https://proxy.test/example.test/m/@v/v1.0.0.zip"
        ca = GomodnetCA(directory / "ca")
        net = stack.enter_context(stack.enter_context(Backbone(ca, directory)).network())
        net.add_goproxy("proxy.test", store)
        response = net.response_bytes(url)
        routed_client = net.client()

        def routed(at: int) -> None:
            net.fault("proxy.test", Truncate(at), path="*.zip")
            routed_client.get(url, headers=CLOSE)

        h2_client = net.client(http2=True)

        def routed_h2(at: int) -> None:
            # Every cut ends the connection (HTTP/2 has no Connection: close to ask it).
            net.fault("proxy.test", Truncate(at), path="*.zip")
            h2_client.get(url)

        def aimed(fault: AimedFault) -> None:
            with net.example():
                fault.arm()
                routed_client.get(url, headers=CLOSE)

        local = ca.chain("127.0.0.1", directory=directory / "local")
        verify = local.client_context()
        server = stack.enter_context(HTTPServer("127.0.0.1", 0, ssl_context=local.server_context()))
        server_client = stack.enter_context(httpx.Client(verify=verify))

        def reconfigured(at: int) -> None:
            server.clear()

            def cut(request: Request) -> Response:
                headers = {"Content-Length": str(len(body))}
                return Response(body[:at], headers=headers, direct_passthrough=True)

            server.expect_request("/m.zip").respond_with_handler(cut)
            server_client.get(server.url_for("/m.zip"), headers=CLOSE)

        bare = stack.enter_context(BareServer(response, tls=local.server_context()))
        bare_client = stack.enter_context(httpx.Client(verify=verify))

        def precomputed(at: int) -> None:
            bare.response = response[:at]
            bare_client.get(f"https://127.0.0.1:{bare.port}/m.zip", headers=CLOSE)

        # The same bare server behind a CONNECT, reached as the routed client reaches the
        # Router: what the tunnel's round trip costs any proxy, apart from the Router's work.
        named = ca.chain("proxy.test", directory=directory / "tunnel")
        tunnel = stack.enter_context(BareServer(response, tls=named.server_context(), tunnel=True))
        tunnel_client = stack.enter_context(
            httpx.Client(proxy=f"http://127.0.0.1:{tunnel.port}", verify=named.client_context())
        )

        def tunnelled(at: int) -> None:
            tunnel.response = response[:at]
            tunnel_client.get(url, headers=CLOSE)

        rate = _best.best_rates(rounds, {
            "routed": lambda: _rate(examples, len(response), routed),
            "routed h2": lambda: _rate(examples, len(response), routed_h2),
            "aimed": lambda: _rate(examples, net.aimed_faults(url), aimed),
            "httpserver": lambda: _rate(examples, len(body), reconfigured),
            "bare": lambda: _rate(examples, len(response), precomputed),
            "bare tunnel": lambda: _rate(examples, len(response), tunnelled),
        })  # fmt: skip
    router_rate, httpserver_rate, bare_rate = rate["routed"], rate["httpserver"], rate["bare"]
    aimed_rate = rate["aimed"]
    return [
        table.Row("fuzz e/s, Router+TLS (vs httpserver per example)", router_rate,
                  httpserver_rate, "e/s", ">= 3x", router_rate / httpserver_rate >= 3),
        table.Row("fuzz e/s, Router+TLS (vs bare asyncio TLS)", router_rate,
                  bare_rate, "e/s", ">= 0.9x", router_rate / bare_rate >= 0.9),
        table.Row("fuzz e/s, Router+TLS (vs bare tunnel, info)", router_rate,
                  rate["bare tunnel"], "e/s", "-", None),
        table.Row("fuzz e/s, default aimed_faults (vs bare asyncio TLS)", aimed_rate,
                  bare_rate, "e/s", ">= 0.7x", aimed_rate / bare_rate >= 0.7),
        table.Row("fuzz e/s, Router+TLS over HTTP/2 (vs over HTTP/1.1)", rate["routed h2"],
                  router_rate, "e/s", ">= 0.5x", rate["routed h2"] / router_rate >= 0.5),
    ]  # fmt: skip
