"""HTTP/2 on the private network: every TLS host the Router terminates offers ``h2`` by ALPN.

Proof first that the real clients take it (go 1.27 through the CONNECT tunnel,
httpx with ``http2=True``), then that exchanges over HTTP/2 go through the same
fault queues and log as HTTP/1.1 ones.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

MODULE, VERSION = "example.test/m", "v1.0.0"
BASE = "https://proxy.test"
URL = f"{BASE}/{MODULE}/@v/{VERSION}"
FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files=FILES)
    return module_store


@pytest.fixture
def net(gomodnet: Network, store: ModuleStore) -> Network:
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet


def download(go: GoToolchain, home: Path, net: Network) -> dict[str, str]:
    result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=net.go_env())
    (info,) = result.json_objects()
    return info


def test_go_speaks_h2_through_the_connect_tunnel(go, tmp_path, net, store) -> None:
    info = download(go, tmp_path, net)
    assert info["Sum"] == store.get(MODULE, VERSION).h1
    (conn,) = net.log
    assert (conn.host, conn.mode, conn.protocol) == ("proxy.test", "tls", "h2")
    assert [(x.stream, x.path, x.status, x.ended) for x in conn.exchanges] == [
        (1, f"/{MODULE}/@v/{VERSION}.info", 200, "ok"),
        (3, f"/{MODULE}/@v/{VERSION}.mod", 200, "ok"),
        (5, f"/{MODULE}/@v/{VERSION}.zip", 200, "ok"),
    ]


def test_httpx_speaks_h2_when_asked(net, store) -> None:
    with net.client(http2=True) as client:
        response = client.get(f"{URL}.zip")
    assert response.http_version == "HTTP/2"
    assert response.content == store.get(MODULE, VERSION).zip_path.read_bytes()
    (conn,) = net.log
    assert conn.protocol == "h2"
