"""go mod download of 20 modules through Router+GoProxy+TLS vs GOPROXY=file:// of the same,
and the same download with the network's checksum database on (GOSUMDB) vs off.

An info row adds the same download from Go's own net/http file server over plain HTTP
(bench/gofileserver, built with the toolchain): what any HTTP path costs go at best.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.tls import GomodnetCA

from . import _best
from . import _table as table


def _download(go: GoToolchain, home: Path, modules: list[str], env: dict[str, str]) -> float:
    """Seconds for one download into an empty module cache (``home`` is new each time)."""
    started = time.perf_counter()
    go.run("mod", "download", *modules, home=home, env=env).check()
    return time.perf_counter() - started


@contextlib.contextmanager
def _go_file_server(go: GoToolchain, tree: Path, build: Path) -> Iterator[str]:
    """Build and start bench/gofileserver over ``tree``; yields its GOPROXY URL."""
    source = Path(__file__).with_name("gofileserver")
    binary = build / "gofileserver"
    # A build cache that outlives the run: compiling net/http cold takes about 16 s.
    cache = Path(tempfile.gettempdir()) / "gomodnet-bench-gocache"
    env = {"GOCACHE": str(cache)}
    go.run("build", "-o", str(binary), ".", home=build, cwd=source, env=env).check()
    with subprocess.Popen([binary, tree], stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            yield f"http://127.0.0.1:{int(server.stdout.readline())}"
        finally:
            server.terminate()


def run(quick: bool) -> list[table.Row]:
    go = GoToolchain.find()
    count, rounds = (3, 1) if quick else (20, 9)
    # Module caches in memory where the machine has it: go extracts every module it
    # downloads, and disk writes swung the file:// baseline 3x between runs.
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp, ModuleStore() as store:
        directory = Path(tmp)
        modules = []
        for i in range(count):
            files = {f"f{j}.go": f"package m{i}\n// {'x' * 2000}\n".encode() for j in range(10)}
            store.add(f"example.test/m{i}", "v1.0.0", files=files)
            modules.append(f"example.test/m{i}@v1.0.0")
        tree = store.write_proxy_tree(directory / "tree")
        homes = (directory / f"home{i}" for i in itertools.count())
        ca = GomodnetCA(directory / "ca")
        with (
            Backbone(ca, directory) as backbone,
            backbone.network() as net,
            _go_file_server(go, tree, directory / "build") as native,
        ):
            net.add_goproxy("proxy.test", store)
            net.add_sumdb("sum.test")
            local_env, routed_env = {"GOPROXY": f"file://{tree}"}, net.go_env(GOSUMDB="off")
            native_env, checked_env = {"GOPROXY": native}, net.go_env()
            # As go spoke to the Router before it offered HTTP/2: the HTTP/1.1 path alone.
            http1_env = net.go_env(GOSUMDB="off", GODEBUG="http2client=0")
            seconds = _best.best_times(rounds, {
                "local": lambda: _download(go, next(homes), modules, local_env),
                "routed": lambda: _download(go, next(homes), modules, routed_env),
                "native": lambda: _download(go, next(homes), modules, native_env),
                "checked": lambda: _download(go, next(homes), modules, checked_env),
                "http1": lambda: _download(go, next(homes), modules, http1_env),
            })  # fmt: skip
    routed, local = seconds["routed"] * 1000, seconds["local"] * 1000
    native, checked = seconds["native"] * 1000, seconds["checked"] * 1000
    http1 = seconds["http1"] * 1000
    return [
        table.Row(f"go mod download {count} modules, ms (vs file://)", routed, local, "ms",
                  "<= 1.5x", routed / local <= 1.5),
        table.Row("go mod download, HTTP/1.1 only (vs file://, info)", http1, local, "ms",
                  "-", None),
        table.Row("go mod download, Go net/http server, plain (info)", native, local, "ms",
                  "-", None),
        table.Row(f"go mod download {count} modules (vs Go net/http server)", routed, native,
                  "ms", "<= 1.1x", routed / native <= 1.1),
        table.Row(f"go mod download {count} modules, GOSUMDB on (vs off)", checked, routed,
                  "ms", "<= 1.3x", checked / routed <= 1.3),
    ]  # fmt: skip
