"""The GitHost: a 3-version repository's set-up, and go mod download from it vs GoProxy.

Set-up is a median of GitHost creations, each with one repository and three tagged
commits, against ``git init --bare`` alone (the one git process no repository can
do without). The download row fetches one module version by go-import discovery
and git (``GOPROXY=direct``) vs the same files from a GoProxy host, both through
the Router over TLS, each round into an empty module cache.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pytest_gomodnet.githost import GitHost, git_env
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.tls import GomodnetCA

from . import __main__ as table
from . import _best, bench_go

MODULE = "example.test/tool"
VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0")


def _files(version: str) -> dict[str, bytes]:
    body = f"package tool\n\nconst Version = {version!r}\n// {'x' * 2000}\n"
    return {"go.mod": f"module {MODULE}\n".encode(), "tool.go": body.encode()}


def _ready(root: Path) -> float:
    """Seconds to a GitHost serving tool.git with three tagged versions."""
    started = time.perf_counter()
    with GitHost(root) as git:
        repo = git.create("tool")
        for version in VERSIONS:
            repo.commit(_files(version), tags=[version])
        return time.perf_counter() - started


def _bare_init(root: Path) -> float:
    started = time.perf_counter()
    env = git_env(root)
    subprocess.run(["git", "init", "--quiet", "--bare", str(root / "r.git")], env=env, check=True)
    return time.perf_counter() - started


def _download(go: GoToolchain, home: Path, env: dict[str, str]) -> float:
    return bench_go._download(go, home, [f"{MODULE}@v1.1.0"], env)


def run(quick: bool) -> list[table.Row]:
    go = GoToolchain.find()
    setups, rounds = (3, 1) if quick else (30, 7)
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp, ModuleStore() as store:
        directory = Path(tmp)
        dirs = (directory / f"d{i}" for i in itertools.count())
        ready = statistics.median(_ready(next(dirs)) for _ in range(setups)) * 1000
        bare = statistics.median(_bare_init(next(dirs)) for _ in range(setups)) * 1000
        store.add(MODULE, "v1.1.0", files=_files("v1.1.0"))
        ca = GomodnetCA(directory / "ca")
        with Backbone(ca, directory) as backbone, backbone.network() as net:
            git = net.add_git("git.test")
            repo = git.create("tool")
            for version in VERSIONS:
                repo.commit(_files(version), tags=[version])
            net.add_goimport("example.test").add(MODULE, vcs="git", repo=repo.url)
            net.add_goproxy("proxy.test", store)
            by_git, by_proxy = net.go_env(direct=True), net.go_env()
            shares: list[float] = []

            def by_git_download() -> float:
                """One download by git; notes the share of it spent in the CGI runs."""
                before = len(git.log)
                seconds = _download(go, next(dirs), by_git)
                shares.append(sum(e.seconds for e in git.log[before:]) / seconds)
                return seconds

            seconds = _best.best_times(rounds, {
                "git": by_git_download,
                "proxy": lambda: _download(go, next(dirs), by_proxy),
            })  # fmt: skip
    via_git, via_proxy = seconds["git"] * 1000, seconds["proxy"] * 1000
    serving = statistics.median(shares) * 100
    return [
        table.Row("GitHost, 3-version repo ready, ms (vs git init)", ready, bare, "ms",
                  "< 300 ms", ready < 300),
        table.Row("go mod download via git, ms (vs GoProxy)", via_git, via_proxy, "ms",
                  "<= 2x", via_git / via_proxy <= 2),
        table.Row("go mod download via git, server share, % (info)", serving, 100, "%", "-", None),
    ]  # fmt: skip
