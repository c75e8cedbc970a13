"""What the git tests share: the skip rule and a three-version repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_gomodnet.githost import GitExchange, GitHost, GitRepo
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

# Skip only where git is missing and this is not CI; in CI (which installs git in
# .ci/run) a missing git makes the tests fail instead.
requires_git = pytest.mark.skipif(
    shutil.which("git") is None and not os.environ.get("CI"),
    reason="git is not installed (Debian: apt-get install -y git)",
)

MODULE = "example.test/tool"
VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0")


def tool_files(version: str) -> dict[str, bytes]:
    """The files of example.test/tool at ``version``: each version differs."""
    return {
        "go.mod": f"module {MODULE}\n".encode(),
        "tool.go": f"package tool\n\nconst Version = {version!r}\n".replace("'", '"').encode(),
    }


def tool_repo(git: GitHost) -> GitRepo:
    """``tool.git`` with one tagged commit per version of VERSIONS."""
    repo = git.create("tool")
    for version in VERSIONS:
        repo.commit(tool_files(version), tags=[version])
    return repo


def serve_tool(network: Network) -> GitHost:
    """git.test serving tool.git, and example.test/tool's go-import tag naming it."""
    git = network.add_git("git.test")
    network.add_goimport("example.test").add(MODULE, vcs="git", repo=tool_repo(git).url)
    return git


def download(go: GoToolchain, home: Path, network: Network, target: str) -> dict[str, Any]:
    """``go mod download -json target`` in direct mode: its one JSON object, with ``home``
    written ``{home}`` in an ``Error``, checked to agree with go's exit status."""
    result = go.run("mod", "download", "-json", target, home=home, env=network.go_env(direct=True))
    (downloaded,) = result.json_objects()
    assert result.ok == ("Error" not in downloaded), result.story("ended unlike its JSON")
    if "Error" in downloaded:
        downloaded["Error"] = downloaded["Error"].replace(str(home), "{home}")
    return downloaded


def settled_log(git: GitHost, timeout: float = 5.0) -> list[GitExchange]:
    """``git.log`` once no CGI runs: a cut response is closed, and its CGI reaped, by the
    Router shortly after the client has gone."""
    deadline = time.monotonic() + timeout
    while any(e.ended == "running" for e in git.log) and time.monotonic() < deadline:
        time.sleep(0.02)
    return git.log


def run_git(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The machine's git with only ``env`` (plus PATH and HOME), as a user's tool runs it."""
    full = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LANG": "C"} | env
    return subprocess.run(
        ["git", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60
    )


def module_cache(home: Path) -> list[str]:
    """Every file go left under GOMODCACHE/cache/download, relative, sorted."""
    root = home / "gopath" / "pkg" / "mod" / "cache" / "download"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def vcs_cache(home: Path) -> list[str]:
    """What go left in GOMODCACHE/cache/vcs: each entry with its repository hash
    replaced by ``H``, and for the bare repository the tags it holds."""
    root = home / "gopath" / "pkg" / "mod" / "cache" / "vcs"
    found: list[str] = []
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        name = "H" + entry.name[64:]
        if entry.is_dir():
            tags = sorted(p.name for p in (entry / "refs" / "tags").glob("*"))
            found.append(f"{name}/ tags={','.join(tags)}")
        elif entry.suffix == ".info":
            found.append(f"{name}: {entry.read_text()}")
        else:
            found.append(name)
    return found
