"""Faults in git's smart-HTTP exchange, and what go 1.27 with the machine's git makes of them.

``go mod download -json example.test/tool@v1.1.0`` in direct mode runs, through the
Router, ``git ls-remote`` (GET info/refs, POST git-upload-pack: ls-refs), then
``git fetch --depth=1`` of the tag (info/refs, ls-refs, fetch), and when that
fails a full ``git fetch`` (info/refs, ls-refs, fetch). So the POSTs to
git-upload-pack come in a fixed order: 1 and 2 list refs, 3 is the shallow
fetch's pack, 4 lists refs, 5 is the full fetch's pack. Each case arms exactly
the faults that fire and checks in the log that each one did.

Every case asserts go's exact error (docs/go-behaviour.md quotes them) and what
go left in its module cache and its VCS cache (GOMODCACHE/cache/vcs). git.test
offers HTTP/1.1 alone in the fault cases: the texts are those of git's HTTP/1.1
client (over HTTP/2, which git.test offers by default, curl words a cut differently).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _git import (
    MODULE,
    download,
    module_cache,
    requires_git,
    serve_tool,
    settled_log,
    tool_repo,
    vcs_cache,
)
from pytest_gomodnet.faults import FaultPlan, HtmlLogin, Reset, Stall, Status, Truncate
from pytest_gomodnet.framing import Framing
from pytest_gomodnet.githost import GitError, GitHost
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

pytestmark = requires_git

REFS = "/tool.git/info/refs"
PACK = "/tool.git/git-upload-pack"
# The VCS cache directory go uses for https://git.test/tool.git: sha256 of "git3:<url>".
VCS_DIR = (
    "gopath/pkg/mod/cache/vcs/f25569c381d9d68d2c2faf12752e502aa81a275092e624b88b21868d53985170"
)
LS_REMOTE = "git ls-remote -q --end-of-options https://git.test/tool.git in {home}/" + VCS_DIR
FULL_FETCH = (
    "git fetch -f --end-of-options origin refs/heads/*:refs/heads/* refs/tags/*:refs/tags/* "
    "in {home}/" + VCS_DIR
)
INVALID = f"{MODULE}@v1.1.0: invalid version: "
FAQ = (
    "\nConfirm the import path was entered correctly.\n"
    "If this is a private repository, see https://go.dev/doc/faq#git_https "
    "for additional information."
)
NOTHING_FETCHED = ["H/ tags=", "H.info: git3:https://git.test/tool.git", "H.lock"]
DOWNLOADED = [f"{MODULE}/@v/list"] + [
    f"{MODULE}/@v/v1.1.0.{ext}" for ext in ("info", "lock", "mod", "zip", "ziphash")
]


@dataclass(frozen=True)
class Case:
    path: str
    plans: tuple[FaultPlan | None, ...]
    error: str | None  # go's Error for the version; None: it succeeded
    # In an error, {home} stands for go's home, {n} for a byte count that depends
    # on how git's server happened to chunk its sideband packets, and {eof} for
    # git's last words on a cut pack, which depend on which of its processes (the
    # sideband reader or the pack reader) notices first.
    vcs: list[str]  # vcs_cache() afterwards
    modules: list[str]  # module_cache() afterwards
    framing: Framing | None = None  # git.test's answers framed so (None: as http-backend's)


CASES = {
    "info/refs 401": Case(
        REFS,
        (Status(401, b"auth needed\n"),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n"
        "\tfatal: could not read Username for 'https://git.test': terminal prompts disabled" + FAQ,
        NOTHING_FETCHED,
        [],
    ),
    "info/refs 403": Case(
        REFS,
        (Status(403, b"forbidden\n"),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n\tremote: forbidden\n"
        "\tfatal: unable to access 'https://git.test/tool.git/': "
        "The requested URL returned error: 403",
        NOTHING_FETCHED,
        [],
    ),
    "info/refs 404": Case(
        REFS,
        (Status(404, b"no such repo\n"),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n\tremote: no such repo\n"
        "\tfatal: repository 'https://git.test/tool.git/' not found",
        NOTHING_FETCHED,
        [],
    ),
    "info/refs HTML login 200": Case(
        REFS,
        (HtmlLogin(),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n"
        "\tfatal: https://git.test/tool.git/info/refs not valid: is this a git repository?",
        NOTHING_FETCHED,
        [],
    ),
    "info/refs reset in the body": Case(
        REFS,
        (Reset(30, where="body"),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n"
        "\tfatal: unable to access 'https://git.test/tool.git/': "
        "Recv failure: Connection reset by peer",
        NOTHING_FETCHED,
        [],
    ),
    "info/refs cut in the body": Case(
        REFS,
        (Truncate(50, where="body"),),
        f"{INVALID}{LS_REMOTE}: exit status 128:\n"
        "\tfatal: unable to access 'https://git.test/tool.git/': "
        "transfer closed with 97 bytes remaining to read",
        NOTHING_FETCHED,
        [],
    ),
    # curl takes a head cut short as a whole response with no body: git sees no
    # smart server, falls back to the dumb protocol, finds no refs, and go says
    # the version does not exist.
    "info/refs cut in the headers": Case(
        REFS,
        (Truncate(50),),
        f"{INVALID}unknown revision v1.1.0",
        NOTHING_FETCHED,
        [],
    ),
    # go retries a failed shallow fetch with a full one, which hides one cut.
    "shallow fetch's pack cut": Case(
        PACK,
        (None, None, Truncate(-30, where="body-end")),
        None,
        ["H/ tags=v1.0.0,v1.1.0,v1.2.0", "H.info: git3:https://git.test/tool.git", "H.lock"],
        DOWNLOADED,
    ),
    "both packs cut": Case(
        PACK,
        (None, None, Truncate(-30, where="body-end"), None, Truncate(-30, where="body-end")),
        f"{INVALID}{FULL_FETCH}: exit status 128:\n"
        "\terror: RPC failed; curl 18 transfer closed with 30 bytes remaining to read\n"
        "\terror: 20 bytes of body are still expected\n"
        "\tfetch-pack: unexpected disconnect while reading sideband packet\n"
        "\t{eof}",
        NOTHING_FETCHED,
        [],
    ),
    # Close-delimited, a cut pack looks whole to HTTP (curl has no complaint), but git's
    # own pkt-line framing still tells.
    "both packs cut, close-delimited": Case(
        PACK,
        (None, None, Truncate(-30, where="body-end"), None, Truncate(-30, where="body-end")),
        f"{INVALID}{FULL_FETCH}: exit status 128:\n"
        "\terror: 20 bytes of body are still expected\n"
        "\tfetch-pack: unexpected disconnect while reading sideband packet\n"
        "\t{eof}",
        NOTHING_FETCHED,
        [],
        framing="close",
    ),
    "both packs reset": Case(
        PACK,
        (None, None, Reset(200, where="body"), None, Reset(200, where="body")),
        f"{INVALID}{FULL_FETCH}: exit status 128:\n"
        "\terror: RPC failed; curl 56 Recv failure: Connection reset by peer\n"
        "\terror: {n} bytes of body are still expected\n"
        "\tfetch-pack: unexpected disconnect while reading sideband packet\n"
        "\t{eof}",
        NOTHING_FETCHED,
        [],
    ),
    # git has no timeout of its own: it waits out each stall, then fails on the cut.
    "both packs stalled 2 s": Case(
        PACK,
        (None, None, Stall(200, 2, where="body"), None, Stall(200, 2, where="body")),
        f"{INVALID}{FULL_FETCH}: exit status 128:\n"
        "\terror: RPC failed; curl 18 transfer closed with {n} bytes remaining to read\n"
        "\terror: {n} bytes of body are still expected\n"
        "\tfetch-pack: unexpected disconnect while reading sideband packet\n"
        "\t{eof}",
        NOTHING_FETCHED,
        [],
    ),
}


def _download(go: GoToolchain, home: Path, network: Network) -> tuple[str | None, dict[str, Any]]:
    downloaded = download(go, home, network, f"{MODULE}@v1.1.0")
    return downloaded.get("Error"), downloaded


_EOF = "(fatal: protocol error: bad pack header|fatal: early EOF\n\tfatal: unpack-objects failed)"


def _matches(error: str | None, expected: str | None) -> bool:
    if error is None or expected is None:
        return error is expected
    pattern = re.escape(expected).replace(re.escape("{n}"), r"\d+")
    pattern = pattern.replace(re.escape("{eof}"), _EOF)
    return re.fullmatch(pattern, error) is not None


def _fired(network: Network) -> list[str]:
    return [x.fault for c in network.log for x in c.exchanges if x.fault is not None]


@pytest.mark.parametrize("name", CASES)
def test_go_and_git_under_a_fault(go, tmp_path, gomodnet, name) -> None:
    case = CASES[name]
    serve_tool(gomodnet)
    gomodnet.http1_only("git.test")
    if case.framing is not None:
        gomodnet.frame("git.test", case.framing)
    gomodnet.fault("git.test", *case.plans, path=case.path)
    error, _ = _download(go, tmp_path, gomodnet)
    assert _matches(error, case.error), error
    assert _fired(gomodnet) == [repr(p) for p in case.plans if p is not None]
    assert vcs_cache(tmp_path) == case.vcs
    assert module_cache(tmp_path) == case.modules


def test_a_repository_moved_with_a_301_still_serves_go(go, tmp_path, gomodnet) -> None:
    git = gomodnet.add_git("git.test")
    tool_repo(git)
    git.redirect("old", "https://git.test/tool.git")
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo="https://git.test/old.git")
    error, downloaded = _download(go, tmp_path, gomodnet)
    assert error is None
    assert downloaded["Origin"]["URL"] == "https://git.test/old.git"  # go names the old URL
    # The tag asked for and the newest one, whose go.mod go reads for retractions.
    assert vcs_cache(tmp_path) == [
        "H/ tags=v1.1.0,v1.2.0",
        "H.info: git3:https://git.test/old.git",
        "H.lock",
    ]
    assert [(e.path, e.status) for e in git.log][:2] == [
        ("/old.git/info/refs", 301),
        ("/tool.git/info/refs", 200),
    ]


def test_a_login_redirect_stops_git(go, tmp_path, gomodnet) -> None:
    git = gomodnet.add_git("git.test")
    tool_repo(git)
    git.redirect("old", "https://login.example.test/-/login", status=302, keep_path=False)
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo="https://git.test/old.git")
    error, _ = _download(go, tmp_path, gomodnet)
    old_vcs = "gopath/pkg/mod/cache/vcs/" + (
        "3fb5f1cd7540d7b23918e863982eb0089be53966a41449e2061c7d9b063623fa"
    )
    assert error == (
        f"{INVALID}git ls-remote -q --end-of-options https://git.test/old.git in "
        f"{{home}}/{old_vcs}: exit status 128:\n"
        "\tfatal: unable to update url base from redirection:\n"
        "\t  asked for: https://git.test/old.git/info/refs?service=git-upload-pack\n"
        "\t   redirect: https://login.example.test/-/login"
    )
    assert module_cache(tmp_path) == []


MISSING = "1234567890" * 4


def _lying_tool(gomodnet: Network) -> GitHost:
    """tool.git whose newest tag, v1.3.0, names an object the repository does not have."""
    git = serve_tool(gomodnet)
    git.repos["tool"].force_ref("refs/tags/v1.3.0", MISSING)
    return git


def test_a_tag_at_a_missing_object_is_advertised_and_fails_the_fetch(
    go, tmp_path, gomodnet
) -> None:
    git = _lying_tool(gomodnet)
    repo = git.repos["tool"]
    # upload-pack advertises the tag though the object is not there …
    assert (
        repo.git("ls-remote", str(repo.path), "refs/tags/v1.3.0")
        == f"{MISSING}\trefs/tags/v1.3.0\n"
    )
    with pytest.raises(GitError, match="fatal: git cat-file: could not get object info"):
        repo.git("cat-file", "-t", MISSING)
    downloaded = download(go, tmp_path, gomodnet, f"{MODULE}@v1.3.0")
    # … and refuses to send it.
    assert downloaded["Error"] == (
        f"{MODULE}@v1.3.0: invalid version: {FULL_FETCH}: exit status 128:\n"
        f"\tfatal: remote error: upload-pack: not our ref {MISSING}"
    ).format(home="{home}")
    assert [e.stderr for e in git.log if e.stderr] == [
        f"fatal: git upload-pack: not our ref {MISSING}\n"
    ] * 2
    assert vcs_cache(tmp_path) == NOTHING_FETCHED
    assert module_cache(tmp_path) == []


def test_a_lying_newest_tag_breaks_listing_every_version(go, tmp_path, gomodnet) -> None:
    _lying_tool(gomodnet)
    result = go.run(
        "list", "-m", "-versions", MODULE, home=tmp_path, env=gomodnet.go_env(direct=True)
    )
    assert result.returncode == 1
    assert result.stderr.replace(str(tmp_path), "{home}") == (
        f'go: loading module retractions for {MODULE}@v1.0.0: version "v1.3.0" invalid: '
        f"{FULL_FETCH}: exit status 128:\n"
        f"\tfatal: remote error: upload-pack: not our ref {MISSING}\n"
    ).format(home="{home}")


def test_a_tag_at_a_commit_without_its_tree_fails_in_pack_objects(go, tmp_path, gomodnet) -> None:
    git = serve_tool(gomodnet)
    repo = git.repos["tool"]
    parent = repo.git("rev-parse", "v1.2.0").strip()
    hollow = (
        f"tree {MISSING}\nparent {parent}\nauthor a <a@example.test> 0 +0000\n"
        "committer a <a@example.test> 0 +0000\n\nhollow\n"
    )
    commit = repo.git(
        "hash-object", "-t", "commit", "--literally", "-w", "--stdin", stdin=hollow.encode()
    ).strip()
    repo.git("update-ref", "refs/tags/v1.3.0", commit)
    downloaded = download(go, tmp_path, gomodnet, f"{MODULE}@v1.3.0")
    assert downloaded["Error"] == (
        f"{MODULE}@v1.3.0: invalid version: {FULL_FETCH}: exit status 128:\n"
        f"\tremote: fatal: bad tree object {MISSING}        \n"
        "\tremote: aborting due to possible repository corruption on the remote side.\x00\n"
        "\tfatal: protocol error: bad pack header"
    ).format(home="{home}")
    assert module_cache(tmp_path) == []


def test_a_large_pack_streams_and_a_cut_in_it_is_an_early_eof(go, tmp_path, gomodnet) -> None:
    git = gomodnet.add_git("git.test")
    gomodnet.http1_only("git.test")
    repo = git.create("tool")
    noise = random.Random(16).randbytes(2_000_000)  # incompressible: the pack stays ~2 MB
    files = {"go.mod": f"module {MODULE}\n".encode(), "blob.bin": noise}
    repo.commit(files, tags=["v1.1.0"])
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo=repo.url)
    cut = Truncate(100_000, where="body")
    gomodnet.fault("git.test", None, None, cut, None, cut, path=PACK)
    error, _ = _download(go, tmp_path, gomodnet)
    # Streamed without a Content-Length, the cut body looks complete to curl: no
    # "RPC failed", only git's own count of what the pack still lacked.
    assert _matches(
        error,
        (
            f"{INVALID}{FULL_FETCH}: exit status 128:\n"
            "\terror: {n} bytes of body are still expected\n"
            "\tfetch-pack: unexpected disconnect while reading sideband packet\n"
            "\tfatal: early EOF\n"
            "\tfatal: unpack-objects failed"
        ).format(home="{home}", n="{n}"),
    ), error
    assert _fired(gomodnet) == [repr(cut)] * 2
    assert module_cache(tmp_path) == []
    # The cut left http-backend writing into a full pipe: it was killed, not left behind.
    posts = [e.ended for e in settled_log(git) if e.method == "POST"]
    assert posts == ["ok", "ok", "closed", "ok", "closed"]


VERIFICATION_FAILED = "server certificate verification failed. CAfile: {ca} CRLfile: none"
TLS_SHAPES = {
    "expired-leaf": VERIFICATION_FAILED,
    "missing-intermediate": VERIFICATION_FAILED,
    "untrusted-root": VERIFICATION_FAILED,
    "wrong-host": "SSL: certificate subject name (wrong-host.invalid) does not match "
    "target host name 'git.test'",
}


@pytest.mark.parametrize("shape", TLS_SHAPES)
def test_git_refuses_a_broken_chain_with_one_word_for_most(go, tmp_path, gomodnet, shape) -> None:
    git = gomodnet.add_git("git.test", shape=shape)
    gomodnet.add_goimport("example.test").add(MODULE, vcs="git", repo=tool_repo(git).url)
    error, _ = _download(go, tmp_path, gomodnet)
    problem = TLS_SHAPES[shape].format(ca=gomodnet.ca_bundle)
    assert error == (
        f"{INVALID}{LS_REMOTE}: exit status 128:\n"
        f"\tfatal: unable to access 'https://git.test/tool.git/': {problem}"
    ).format(home="{home}")
    assert git.log == []  # refused in the handshake: no request reached http-backend
