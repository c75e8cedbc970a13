"""go mod download of 20 modules through Router+GoProxy+TLS vs GOPROXY=file:// of the same."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.tls import GomodnetCA

from . import __main__ as table


def _download(go: GoToolchain, home: Path, modules: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    go.run("mod", "download", *modules, home=home, env=env).check()
    return time.perf_counter() - started


def run(quick: bool) -> list[table.Row]:
    go = GoToolchain.find()
    count = 3 if quick else 20
    with tempfile.TemporaryDirectory() as tmp, ModuleStore() as store:
        directory = Path(tmp)
        modules = []
        for i in range(count):
            files = {f"f{j}.go": f"package m{i}\n// {'x' * 2000}\n".encode() for j in range(10)}
            store.add(f"example.test/m{i}", "v1.0.0", files=files)
            modules.append(f"example.test/m{i}@v1.0.0")
        tree = store.write_proxy_tree(directory / "tree")
        local = _download(go, directory / "h1", modules, {"GOPROXY": f"file://{tree}"})
        ca = GomodnetCA(directory / "ca")
        with Backbone(ca, directory) as backbone, backbone.network() as net:
            net.add_goproxy("proxy.test", store)
            routed = _download(go, directory / "h2", modules, net.go_env())
    return [
        table.Row(f"go mod download {count} modules, s (vs file://)", routed, local, "s",
                  "<= 1.5x", routed / local <= 1.5),
    ]  # fmt: skip
