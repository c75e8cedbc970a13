"""The Network outside pytest, and the fault_proxy fixture."""

from __future__ import annotations

import httpx
import pytest

from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.faults import Status, Truncate
from pytest_gomodnet.goproxy import GoProxy, ModuleStore
from pytest_gomodnet.network import Network


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
    assert "net.fault('proxy.test', Status(code=503, body=b'busy\\n'), path='*.info')" in story
    assert "GET /example.test/m/@v/v1.0.0.info → 503" in story


def test_fault_proxy_fixture(fault_proxy, module_store) -> None:
    stored = module_store.add("example.test/m", "v1.0.0")
    with GoProxy(module_store) as upstream:
        proxy = fault_proxy(upstream.url, Truncate(5, where="body"), None, path="*.mod")
        with httpx.Client(base_url=proxy.url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/example.test/m/@v/v1.0.0.mod")
            assert client.get("/example.test/m/@v/v1.0.0.mod").content == stored.go_mod
