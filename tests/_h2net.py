"""proxy.test serving one module through the Router, as the HTTP/2 tests use it."""

from __future__ import annotations

from pathlib import Path

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

MODULE, VERSION = "example.test/m", "v1.0.0"
URL = f"https://proxy.test/{MODULE}/@v/{VERSION}"


def serve_module(gomodnet: Network, store: ModuleStore, files: dict[str, bytes]) -> Network:
    """``gomodnet`` with proxy.test serving MODULE@VERSION made of ``files``."""
    store.add(MODULE, VERSION, files=files)
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet


def download(go: GoToolchain, home: Path, net: Network) -> dict[str, str]:
    """``go mod download -json MODULE@VERSION`` through ``net``: its one JSON object."""
    result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=net.go_env())
    (info,) = result.json_objects()
    return info
