"""The Network outside pytest, and the fault_proxy fixture."""

from __future__ import annotations

import random

import httpx
import pytest
from werkzeug import Response

from pytest_gomodnet.errors import ServerError
from pytest_gomodnet.faults import Corrupt, Status, Truncate
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
