"""Direct mode: a vanity import path served by git, and what a broken git server does.

``example.test/tool`` names ``https://git.test/tool.git`` in its go-import tag;
git.test is git's own ``git http-backend``. ``go_env(direct=True)`` is all the
go command (and the git it runs) needs to find and trust it.
"""

import os
import shutil

import pytest

from pytest_gomodnet.faults import Status, Truncate

# git comes from the system (Debian: apt-get install -y git); CI must have it.
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None and not os.environ.get("CI"), reason="git is not installed"
)

MODULE = "example.test/tool"
FILES = {"go.mod": f"module {MODULE}\n".encode(), "tool.go": b"package tool\n"}


def serve_tool(net):
    git = net.add_git("git.test")
    tool = git.create("tool")
    tool.commit(FILES, tags=["v1.0.0"])
    net.add_goimport("example.test").add(MODULE, vcs="git", repo=tool.url)
    return git


def test_go_gets_a_module_from_git_with_the_go_sum_a_proxy_would_give(
    gomodnet, module_store, go, tmp_path
):
    serve_tool(gomodnet)
    (tmp_path / "work").mkdir()
    (tmp_path / "work/go.mod").write_text("module example.test/app\n\ngo 1.27\n")
    go.run("get", f"{MODULE}@v1.0.0", home=tmp_path, env=gomodnet.go_env(direct=True)).check()
    from_a_proxy = module_store.add(MODULE, "v1.0.0", files=FILES)
    assert (tmp_path / "work/go.sum").read_text().splitlines() == list(from_a_proxy.go_sum_lines)


def test_a_401_from_git_is_no_prompt_but_an_error(gomodnet, go, tmp_path):
    serve_tool(gomodnet)
    gomodnet.fault("git.test", Status(401, b"log in first\n"), path="/tool.git/info/refs")
    result = go.run(
        "mod", "download", f"{MODULE}@v1.0.0", home=tmp_path, env=gomodnet.go_env(direct=True)
    )
    assert result.returncode == 1
    assert "fatal: could not read Username for 'https://git.test': terminal prompts disabled" in (
        result.stderr
    )


def test_cut_packs_leave_no_module_behind(gomodnet, go, tmp_path):
    serve_tool(gomodnet)
    gomodnet.http1_only("git.test")  # the text below is curl's over HTTP/1.1
    # go lists refs twice, then fetches the tag; when that fails it fetches everything.
    cut = Truncate(-30, where="body-end")
    gomodnet.fault("git.test", None, None, cut, None, cut, path="/tool.git/git-upload-pack")
    result = go.run(
        "mod", "download", f"{MODULE}@v1.0.0", home=tmp_path, env=gomodnet.go_env(direct=True)
    )
    assert "error: RPC failed; curl 18 transfer closed with 30 bytes remaining" in result.stderr
    assert not list(tmp_path.rglob("v1.0.0.zip"))
