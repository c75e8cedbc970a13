"""The real go command in direct mode: go-import discovery, then git against the GitHost.

Every module go builds from a git tag must hash the same as the ModuleStore's
zip of the same files: the h1 in go.sum does not depend on where the module
came from.
"""

from __future__ import annotations

import pytest

from _git import (
    MODULE,
    VERSIONS,
    download,
    module_cache,
    requires_git,
    serve_tool,
    tool_files,
    tool_repo,
    vcs_cache,
)
from pytest_gomodnet.framing import Framing
from pytest_gomodnet.goproxy import ModuleStore

pytestmark = requires_git


def test_go_get_writes_the_go_sum_lines_the_module_store_predicts(
    go, tmp_path, gomodnet, module_store: ModuleStore
) -> None:
    serve_tool(gomodnet)
    env = gomodnet.go_env(direct=True)
    go.run("mod", "init", "example.test/work", home=tmp_path, env=env).check()
    go.run("get", f"{MODULE}@v1.1.0", home=tmp_path, env=env).check()
    expected = module_store.add(MODULE, "v1.1.0", files=tool_files("v1.1.0"))
    assert (tmp_path / "work" / "go.sum").read_text() == "".join(
        f"{line}\n" for line in expected.go_sum_lines
    )
    hosts = [c.host for c in gomodnet.log]
    assert hosts[0] == "example.test"
    assert set(hosts) == {"example.test", "git.test"}


def test_go_lists_the_tags_as_versions(go, tmp_path, gomodnet) -> None:
    serve_tool(gomodnet)
    result = go.run(
        "list", "-m", "-versions", MODULE, home=tmp_path, env=gomodnet.go_env(direct=True)
    )
    assert result.check().stdout == f"{MODULE} {' '.join(VERSIONS)}\n"


def test_download_reports_the_git_origin_and_leaves_a_vcs_cache(go, tmp_path, gomodnet) -> None:
    git = serve_tool(gomodnet)
    downloaded = download(go, tmp_path, gomodnet, f"{MODULE}@v1.2.0")
    head = git.repos["tool"].git("rev-parse", "v1.2.0").strip()
    assert downloaded["Origin"] == {
        "VCS": "git",
        "URL": "https://git.test/tool.git",
        "Hash": head,
        "Ref": "refs/tags/v1.2.0",
    }
    assert vcs_cache(tmp_path) == [
        "H/ tags=v1.2.0",  # a shallow bare repository holding just the tag asked for
        "H.info: git3:https://git.test/tool.git",
        "H.lock",
    ]
    assert module_cache(tmp_path) == [f"{MODULE}/@v/list"] + [
        f"{MODULE}/@v/v1.2.0.{ext}" for ext in ("info", "lock", "mod", "zip", "ziphash")
    ]


LAYOUTS = {
    # name: (files of the tagged commit, tag, module path, go-import subdir, files go zips)
    "v2 subdirectory": (
        {"go.mod": b"module example.test/tool\n", "v2/go.mod": b"module example.test/tool/v2\n",
         "v2/t.go": b"package tool\n"},
        "v2.0.0", "example.test/tool/v2", None,
        {"go.mod": b"module example.test/tool/v2\n", "t.go": b"package tool\n"},
    ),
    "major branch": (
        {"go.mod": b"module example.test/tool/v2\n", "t.go": b"package tool\n"},
        "v2.0.0", "example.test/tool/v2", None,
        {"go.mod": b"module example.test/tool/v2\n", "t.go": b"package tool\n"},
    ),
    "module in a subdirectory, tag prefix": (
        {"go.mod": b"module example.test/tool\n", "sub/go.mod": b"module example.test/tool/sub\n",
         "sub/s.go": b"package sub\n"},
        "sub/v1.0.0", "example.test/tool/sub", None,
        {"go.mod": b"module example.test/tool/sub\n", "s.go": b"package sub\n"},
    ),
    "go-import subdir field": (
        {"README": b"not a module\n", "go/go.mod": b"module example.test/tool\n",
         "go/t.go": b"package tool\n"},
        "go/v1.0.0", "example.test/tool", "go",
        {"go.mod": b"module example.test/tool\n", "t.go": b"package tool\n"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_repository_layout_gives_the_module_store_hash(
    go, tmp_path, gomodnet, module_store: ModuleStore, layout: str
) -> None:
    files, tag, module, subdir, zipped = LAYOUTS[layout]
    git = gomodnet.add_git("git.test")
    repo = git.create("tool")
    repo.commit(files, tags=[tag])
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo=repo.url, subdir=subdir)
    version = tag.rpartition("/")[2]
    downloaded = download(go, tmp_path, gomodnet, f"{module}@{version}")
    expected = module_store.add(module, version, files=zipped)
    assert (downloaded["Sum"], downloaded["GoModSum"]) == (expected.h1, expected.go_mod_h1)


def test_goprivate_sends_one_module_to_git_and_the_rest_to_the_proxy(
    go, tmp_path, gomodnet, module_store: ModuleStore
) -> None:
    serve_tool(gomodnet)
    other = module_store.add("example.test/other", "v1.0.0", files={"o.go": b"package other\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    env = gomodnet.go_env(GOPRIVATE=MODULE)
    for module in (f"{MODULE}@v1.0.0", "example.test/other@v1.0.0"):
        go.run("mod", "download", module, home=tmp_path, env=env).check()
    hosts = sorted({c.host for c in gomodnet.log})
    assert hosts == ["example.test", "git.test", "proxy.test"]
    proxied = [x.path for c in gomodnet.log if c.host == "proxy.test" for x in c.exchanges]
    assert proxied == [f"/example.test/other/@v/v1.0.0.{ext}" for ext in ("info", "mod", "zip")]
    downloads = tmp_path / "gopath" / "pkg" / "mod" / "cache" / "download"
    assert (downloads / "example.test/other/@v/v1.0.0.ziphash").read_text() == other.h1


def test_an_annotated_tag_is_a_version_too(go, tmp_path, gomodnet) -> None:
    git = serve_tool(gomodnet)
    repo = git.repos["tool"]
    repo.tag("v1.3.0", "v1.2.0", message="release 1.3.0")
    assert repo.git("cat-file", "-t", "v1.3.0") == "tag\n"
    downloaded = download(go, tmp_path, gomodnet, f"{MODULE}@v1.3.0")
    assert downloaded["Origin"]["Hash"] == repo.git("rev-parse", "v1.2.0^{commit}").strip()


def test_a_proxy_that_lacks_the_module_falls_back_to_git(
    go, tmp_path, gomodnet, module_store: ModuleStore
) -> None:
    serve_tool(gomodnet)
    gomodnet.add_goproxy("proxy.test", module_store)  # empty: every answer a 404
    env = gomodnet.go_env(GOPROXY="https://proxy.test,direct")
    go.run("mod", "download", f"{MODULE}@v1.0.0", home=tmp_path, env=env).check()
    hosts = [c.host for c in gomodnet.log]
    assert hosts[0] == "proxy.test"
    assert set(hosts) == {"proxy.test", "example.test", "git.test"}


def test_an_untagged_commit_gets_a_pseudo_version_from_its_fixed_time(
    go, tmp_path, gomodnet
) -> None:
    git = serve_tool(gomodnet)
    head = git.repos["tool"].commit(tool_files("v1.3.0-dev"), time="2026-02-03T04:05:06Z")
    result = go.run("list", "-m", f"{MODULE}@main", home=tmp_path, env=gomodnet.go_env(direct=True))
    assert result.check().stdout == f"{MODULE} v1.2.1-0.20260203040506-{head[:12]}\n"


@pytest.mark.parametrize("framing", ["content-length", "chunked", "close"])
def test_go_downloads_from_git_in_every_framing(
    go, tmp_path, gomodnet, module_store: ModuleStore, framing: Framing
) -> None:
    git = gomodnet.add_git("git.test", framing=framing)
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo=tool_repo(git).url)
    downloaded = download(go, tmp_path, gomodnet, f"{MODULE}@v1.1.0")
    expected = module_store.add(MODULE, "v1.1.0", files=tool_files("v1.1.0"))
    assert downloaded["Sum"] == expected.h1
    git_log = [x for c in gomodnet.log if c.host == "git.test" for x in c.exchanges]
    framed = {(x.method, x.framing) for x in git_log}
    assert framed == {("GET", framing), ("POST", framing)}
