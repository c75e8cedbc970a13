"""The Network outside pytest, and the fault_proxy fixture."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import httpx
import pytest
from werkzeug import Response

from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.faultproxy import FaultProxy, Router
from pytest_gomodnet.faults import Corrupt, Status, Truncate
from pytest_gomodnet.goimport import GoImportHost
from pytest_gomodnet.goproxy import GoProxy, ModuleStore
from pytest_gomodnet.network import Network
from pytest_gomodnet.origin import HandlerServer, Origin


def test_standalone_network_serves_and_cleans_up(tmp_path) -> None:
    with ModuleStore() as store, Network.standalone(directory=tmp_path) as net:
        stored = store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\n"})
        net.add_goproxy("proxy.test", store)
        with net.client() as client:
            body = client.get("https://proxy.test/example.test/m/@v/v1.0.0.zip").content
        assert body == stored.zip_path.read_bytes()


def test_handler_errors_surface_when_the_network_closes(tmp_path) -> None:
    def broken(request):
        raise RuntimeError("handler bug")

    raised = pytest.raises(ServerError, match=r"RuntimeError\('handler bug'\)")
    with raised, Network.standalone(directory=tmp_path) as net:
        net.add_handler("broken.test", broken)
        with net.client() as client:
            assert client.get("https://broken.test/").status_code == 500


def test_story_names_hosts_faults_and_connections(gomodnet, module_store) -> None:
    gomodnet.add_goproxy("proxy.test", module_store, shape="wrong-order")
    gomodnet.fault("proxy.test", Status(503, b"busy\n"), path="*.info")
    with gomodnet.client() as client:
        assert client.get("https://proxy.test/example.test/m/@v/v1.0.0.info").status_code == 503
    story = gomodnet.story()
    assert "proxy.test: GOPROXY — proxy.test:" in story
    assert "gomodnet.fault('proxy.test', Status(code=503, body=b'busy\\n'), path='*.info')" in story
    assert "GET /example.test/m/@v/v1.0.0.info → 503" in story


def test_fault_proxy_fixture(fault_proxy, module_store) -> None:
    stored = module_store.add("example.test/m", "v1.0.0")
    with GoProxy(module_store) as upstream:
        proxy = fault_proxy(upstream.url, Truncate(5, where="body"), None, path="*.mod")
        with httpx.Client(base_url=proxy.url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/example.test/m/@v/v1.0.0.mod")
            assert client.get("/example.test/m/@v/v1.0.0.mod").content == stored.go_mod


def _hello(request):
    return Response(b"hello from " + request.host.encode(), content_type="text/plain")


def test_add_host_http_upstream_gets_tls_of_the_chosen_shape(gomodnet) -> None:
    with HandlerServer(_hello) as upstream:
        gomodnet.add_host("mirror.test", upstream.url)
        gomodnet.add_host("stale.test", upstream.url, shape="expired-leaf")
        with gomodnet.client() as client:
            assert client.get("https://mirror.test/x").content == b"hello from mirror.test"
            with pytest.raises(httpx.ConnectError, match="certificate has expired"):
                client.get("https://stale.test/x")
    assert gomodnet.hosts["mirror.test"].startswith(f"mirror.test: {upstream.url} behind ")
    assert [(c.host, c.mode) for c in gomodnet.log] == [
        ("mirror.test", "tls"),
        ("stale.test", "tls"),
    ]


def test_add_host_https_upstream_is_relayed_with_its_own_certificate(gomodnet, cert_chain) -> None:
    chain = cert_chain("own.test")
    with HandlerServer(_hello, ssl_context=chain.server_context()) as upstream:
        gomodnet.add_host("own.test", upstream.url)
        with gomodnet.client() as client:
            assert client.get("https://own.test/x").content == b"hello from own.test"
    assert gomodnet.hosts["own.test"] == f"own.test: relayed to {upstream.url} (its own TLS)"
    assert [(c.host, c.mode) for c in gomodnet.log] == [("own.test", "relay")]


def test_add_host_refuses_other_schemes(gomodnet) -> None:
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        gomodnet.add_host("x.test", "ftp://127.0.0.1:21")


def test_a_host_is_served_once_unless_replaced(gomodnet, module_store) -> None:
    module_store.add("example.test/m", "v1.0.0")
    gomodnet.add_goproxy("proxy.test", module_store)
    served = "proxy.test: GOPROXY — "
    attempts = [
        (
            "proxy.test",
            lambda: gomodnet.add_goproxy("proxy.test", module_store, shape="expired-leaf"),
        ),
        ("Proxy.Test", lambda: gomodnet.add_goimport("Proxy.Test")),
        ("proxy.test", lambda: gomodnet.add_handler("proxy.test", _hello)),
        ("proxy.test", lambda: gomodnet.add_host("proxy.test", "http://127.0.0.1:1")),
    ]
    for host, attempt in attempts:
        with pytest.raises(ValueError, match="is already served") as caught:
            attempt()
        assert str(caught.value) == (
            f"{host} is already served ({gomodnet.hosts['proxy.test']}): one server per host; "
            "add what you need to that server, or pass replace=True to swap it"
        )
    assert gomodnet.hosts["proxy.test"].startswith(served)
    # The first server still answers, with its chain.
    with gomodnet.client() as client:
        response = client.get("https://proxy.test/example.test/m/@v/list")
    assert response.text == "v1.0.0\n"
    # The go-import host's login host counts too.
    gomodnet.add_goimport("example.test")
    with pytest.raises(ValueError, match=r"^login.example.test is already served"):
        gomodnet.add_handler("login.example.test", _hello)


def test_replace_swaps_the_server_of_a_host(gomodnet, module_store) -> None:
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.add_goproxy("Proxy.Test", module_store, shape="expired-leaf", replace=True)
    assert list(gomodnet.hosts) == ["Proxy.Test"]
    assert gomodnet.hosts["Proxy.Test"].endswith("expired-leaf")
    with gomodnet.client() as client, pytest.raises(httpx.ConnectError, match="expired"):
        client.get("https://proxy.test/example.test/m/@v/list")
    assert gomodnet.go_env()["GOPROXY"] == "https://proxy.test"


def test_go_env_points_go_at_the_network_and_takes_overrides(gomodnet, module_store) -> None:
    assert gomodnet.go_env()["GOPROXY"] == "off"  # no GOPROXY host yet
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.add_goproxy("mirror.test", module_store)
    no_roots = Path(gomodnet.go_env()["GIT_SSL_CAPATH"])  # git loads no system roots
    assert no_roots.is_dir()
    assert list(no_roots.iterdir()) == []
    base = {
        "HTTPS_PROXY": gomodnet.router_url,
        "HTTP_PROXY": gomodnet.router_url,
        "NO_PROXY": "",
        "SSL_CERT_FILE": str(gomodnet.ca_bundle),
        "GOPROXY": "https://proxy.test",
        "GOSUMDB": "off",
        "GIT_SSL_CAINFO": str(gomodnet.ca_bundle),
        "GIT_SSL_CAPATH": str(no_roots),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
    }
    assert gomodnet.go_env() == base
    assert gomodnet.go_env(direct=True) == base | {"GOPROXY": "direct"}
    asked = gomodnet.go_env(GOINSECURE="example.test", GOPRIVATE="example.test/*", GOSUMDB="x")
    assert asked == base | {
        "GOINSECURE": "example.test",
        "GOPRIVATE": "example.test/*",
        "GOSUMDB": "x",
    }
    assert gomodnet.router_url.startswith("http://127.0.0.1:")
    assert gomodnet.ca_bundle.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_a_network_of_three_tls_hosts_starts_no_server(gomodnet_backbone, module_store) -> None:
    """Why set-up is cheap: hosts are routes on the session's servers, not servers."""
    threads = set(threading.enumerate())
    with gomodnet_backbone.network() as first:
        first.add_goproxy("proxy.test", module_store)
        first.add_goimport("example.test", shape="missing-intermediate")
        first.add_goproxy("mirror.test", module_store, shape="expired-leaf")
        url = first.router_url
        assert set(threading.enumerate()) == threads
    with gomodnet_backbone.network() as second:
        assert second.router_url == url
        assert second.hosts == {}
        assert second.log == []
    assert set(threading.enumerate()) == threads


def test_every_server_class_is_a_context_manager(tmp_path, module_store) -> None:
    servers = {
        "GoProxy": GoProxy(module_store),
        "GoImportHost": GoImportHost(),
        "HandlerServer": HandlerServer(_hello),
        "Origin": Origin(),
        "Router": Router(),
    }
    answers = {}
    for name, server in servers.items():
        with server, httpx.Client(timeout=5) as client:
            url = f"{server.url}/x?go-get=1"
            answers[name] = client.get(url).status_code
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)
    # The Router is a forward proxy: a request without an absolute URI is a bad request.
    assert answers == {
        "GoProxy": 404,
        "GoImportHost": 404,
        "HandlerServer": 200,
        "Origin": 404,
        "Router": 400,
    }
    with HandlerServer(_hello) as upstream, FaultProxy(upstream.url, Status(418)) as proxy:
        assert httpx.get(f"{proxy.url}/x", timeout=5).status_code == 418


# Larger than one batch the Router reads ahead (256 KiB) and than GoProxy's blocks
# (1 MiB): the body after the first batch streams while the next one is read.
BIG = random.Random(8).randbytes(3 << 20)


def _blocks(request):
    response = Response(
        (BIG[i : i + 65536] for i in range(0, len(BIG), 65536)), direct_passthrough=True
    )
    response.content_length = len(BIG)
    return response


@pytest.mark.parametrize("kind", ["goproxy zip", "handler in a worker"])
def test_a_large_body_streams_byte_exact_and_each_fault_lands_at_its_offset(
    gomodnet, module_store, kind
) -> None:
    if kind == "goproxy zip":
        module_store.add("example.test/big", "v1.0.0", files={"big.bin": BIG})
        gomodnet.add_goproxy("big.test", module_store)
        url = "https://big.test/example.test/big/@v/v1.0.0.zip"
    else:
        gomodnet.add_handler("big.test", _blocks)
        url = "https://big.test/big.bin"
    clean = gomodnet.response_bytes(url)
    head_length = clean.index(b"\r\n\r\n") + 4
    assert len(clean) - head_length >= len(BIG)
    late = len(clean) - head_length - 70_000
    gomodnet.fault("big.test", Truncate(late, where="body"), Corrupt(late, where="body"), None)
    assert gomodnet.response_bytes(url) == clean[: head_length + late]
    corrupted = gomodnet.response_bytes(url)
    assert len(corrupted) == len(clean)
    assert [i for i, (a, b) in enumerate(zip(corrupted, clean, strict=True)) if a != b] == [
        head_length + late
    ]
    assert gomodnet.response_bytes(url) == clean
