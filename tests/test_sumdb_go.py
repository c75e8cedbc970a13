"""The real go command with GOSUMDB on, against the network's own checksum database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network
from pytest_gomodnet.sumdb import SumDB

MODULE, VERSION = "example.test/m", "v1.0.0"
FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files=FILES)
    return module_store


@pytest.fixture
def net(gomodnet: Network, store: ModuleStore) -> Network:
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet


@pytest.fixture
def sumdb(net: Network) -> SumDB:
    return net.add_sumdb("sum.test")


def download(go: GoToolchain, home: Path, net: Network, *modules: str, **env: str):
    return go.run("mod", "download", "-json", *(modules or [f"{MODULE}@{VERSION}"]), home=home, env=net.go_env(**env))


def test_go_verifies_against_the_database(go, tmp_path, net, store, sumdb) -> None:
    result = download(go, tmp_path, net)
    print(result.stdout, result.stderr)
    print(sumdb.requests)
    assert result.ok
