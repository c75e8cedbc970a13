"""GitHost: repositories built reproducibly, served by git http-backend, read-only.

The client here is the machine's git itself with nothing but ``go_env()``:
it finds git.test through the Router (HTTPS_PROXY) and trusts the network's
root (GIT_SSL_CAINFO), with no config of its own.
"""

from __future__ import annotations

import random
import re
import time

import pytest
from werkzeug import Request
from werkzeug.test import EnvironBuilder

from _git import VERSIONS, requires_git, run_git, serve_tool, tool_files, tool_repo
from pytest_gomodnet.githost import GitError, GitHost

pytestmark = requires_git

# Commit hashes are a function of the files, the author and the time only.
TOOL_COMMITS = {
    "v1.0.0": "1b7ccd67dbab28f17173df8d913b9da34ad7e1d3",
    "v1.1.0": "0ca777efa3f3f452b01bd77b06573cc6a419c651",
    "v1.2.0": "19bfc456dda001b2230028e09a6878c0df5a6e9d",
}


def test_commits_are_reproducible_and_tagged(tmp_path) -> None:
    with GitHost(tmp_path / "a") as first, GitHost(tmp_path / "b") as second:
        hashes = [tool_repo(host).git("rev-parse", *VERSIONS).split() for host in (first, second)]
    assert hashes[0] == hashes[1] == list(TOOL_COMMITS.values())


def test_a_commit_is_the_whole_tree_and_follows_its_parent(tmp_path) -> None:
    with GitHost(tmp_path) as git:
        repo = git.create("r")
        first = repo.commit({"a.txt": b"a\n", "dir/b.txt": b"b\n"})
        second = repo.commit({"c.txt": b"c\n"}, tags=["v1.0.0"], message="only c")
        assert repo.git("ls-tree", "-r", "--name-only", "v1.0.0") == "c.txt\n"
        assert repo.git("log", "--format=%H %P %s", "main").splitlines() == [
            f"{second} {first} only c",
            f"{first}  files at main",
        ]
        assert repo.git("log", "-1", "--format=%an <%ae> %aI %cI", first) == (
            "gomodnet <gomodnet@example.test> 2026-01-01T00:00:00+00:00 2026-01-01T00:00:00+00:00\n"
        )


@pytest.mark.parametrize(
    ("name", "problem"),
    [("../up", "invalid repository name '../up'"), ("a.git", "invalid repository name 'a.git'")],
)
def test_a_name_outside_the_root_is_refused(tmp_path, name, problem) -> None:
    with GitHost(tmp_path / "root") as git, pytest.raises(ValueError, match=problem):
        git.create(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


@pytest.mark.parametrize("path", ["../x", "/abs", "a/./b", ".git/config", "a\nb", ""])
def test_a_file_path_that_escapes_the_tree_is_refused(tmp_path, path) -> None:
    with GitHost(tmp_path) as git:
        repo = git.create("r")
        with pytest.raises(ValueError, match="invalid file path"):
            repo.commit({path: b"x"})


def test_bad_refs_and_times_are_refused_naming_the_rule(tmp_path) -> None:
    with GitHost(tmp_path) as git:
        repo = git.create("r")
        refused = re.escape("invalid ref name 'v1..0': git check-ref-format")
        with pytest.raises(ValueError, match=refused):
            repo.commit({"a": b""}, tags=["v1..0"])
        with pytest.raises(ValueError, match="must be a full name starting with refs/"):
            repo.force_ref("v1.0.0", "0" * 40)
        with pytest.raises(ValueError, match="must be 40 lower-case hex digits"):
            repo.force_ref("refs/tags/v1.0.0", "XYZ")
        with pytest.raises(ValueError, match="must be RFC 3339 with a zone"):
            repo.commit({"a": b""}, time="2026-01-01 00:00")


def test_a_three_version_repository_is_ready_fast(tmp_path) -> None:
    started = time.perf_counter()
    with GitHost(tmp_path) as git:
        tool_repo(git)
        elapsed = time.perf_counter() - started
    assert elapsed < 0.3, f"a 3-version GitHost took {elapsed:.3f} s"


def test_git_clones_through_the_network_with_go_env_alone(gomodnet, tmp_path) -> None:
    repo = serve_tool(gomodnet).repos["tool"]
    env = gomodnet.go_env()
    listed = run_git(env, "ls-remote", "--tags", repo.url, cwd=tmp_path)
    assert listed.stdout == "".join(f"{h}\trefs/tags/{v}\n" for v, h in TOOL_COMMITS.items())
    cloned = run_git(env, "clone", "--quiet", "--branch", "v1.1.0", repo.url, "tool", cwd=tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "tool" / "tool.go").read_bytes() == tool_files("v1.1.0")["tool.go"]
    hosts = {c.host for c in gomodnet.log}
    assert hosts == {"git.test"}  # git went through the Router, nowhere else
    assert env["HTTPS_PROXY"] == gomodnet.router_url
    assert "https_proxy" not in env


def test_without_the_ca_git_does_not_trust_the_network(gomodnet, tmp_path) -> None:
    repo = serve_tool(gomodnet).repos["tool"]
    env = gomodnet.go_env()
    del env["GIT_SSL_CAINFO"]  # SSL_CERT_FILE alone: git (libcurl, GnuTLS) ignores it
    listed = run_git(env, "ls-remote", repo.url, cwd=tmp_path)
    assert (listed.returncode, listed.stderr) == (
        128,
        "fatal: unable to access 'https://git.test/tool.git/': server certificate "
        "verification failed. CAfile: none CRLfile: none\n",
    )


def test_a_push_is_refused_and_writes_nothing(gomodnet, tmp_path) -> None:
    git = serve_tool(gomodnet)
    repo = git.repos["tool"]
    env = gomodnet.go_env()
    assert run_git(env, "clone", "--quiet", repo.url, "tool", cwd=tmp_path).returncode == 0
    work = tmp_path / "tool"
    (work / "new.go").write_text("package tool\n")
    identity = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x"}
    identity["GIT_COMMITTER_EMAIL"] = "x@x"
    run_git(env | identity, "add", "new.go", cwd=work)
    run_git(env | identity, "commit", "--quiet", "-m", "new", cwd=work)
    pushed = run_git(env, "push", "origin", "HEAD:main", cwd=work)
    assert (pushed.returncode, pushed.stderr) == (
        128,
        "remote: gomodnet GitHost: pushing (git-receive-pack) is refused: this host is "
        "read-only; make commits with GitRepo.commit()\n"
        "fatal: unable to access 'https://git.test/tool.git/': "
        "The requested URL returned error: 403\n",
    )
    assert repo.git("rev-parse", "main").strip() == TOOL_COMMITS["v1.2.0"]
    (refused,) = [e for e in git.log if e.ended == "refused"]
    assert (refused.path, refused.query, refused.status) == (
        "/tool.git/info/refs",
        "service=git-receive-pack",
        403,
    )


@pytest.mark.parametrize(
    "target",
    [
        "/..%2F..%2Fetc/info/refs?service=git-upload-pack",
        "/tool.git/..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_a_path_escaping_the_root_is_refused(gomodnet, target) -> None:
    serve_tool(gomodnet)
    raw = gomodnet.response_bytes(f"https://git.test{target}")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    assert body.startswith(b"gomodnet GitHost: path '/")
    assert body.endswith(b"' has a dot segment: it would escape the repository root\n")


def test_a_cgi_past_its_deadline_is_killed(tmp_path) -> None:
    with GitHost(tmp_path, timeout=0.0) as git:
        tool_repo(git)
        environ = EnvironBuilder(
            path="/tool.git/info/refs", query_string="service=git-upload-pack"
        ).get_environ()
        with pytest.raises(GitError, match="ran past its deadline before its headers"):
            git.handle(Request(environ))
        (exchange,) = git.log
    assert exchange.ended == "deadline"


def _upload_pack_request(want: str) -> Request:
    """A protocol v0 fetch of ``want``, as git sends it: want, flush, done."""
    body = f"0032want {want}\n00000009done\n".encode()
    environ = EnvironBuilder(
        path="/big.git/git-upload-pack",
        method="POST",
        data=body,
        content_type="application/x-git-upload-pack-request",
    ).get_environ()
    return Request(environ)


@pytest.mark.parametrize("read", [True, False])
def test_a_streamed_pack_is_reaped_whether_or_not_it_is_read(tmp_path, read) -> None:
    noise = random.Random(3).randbytes(2_000_000)  # incompressible: a pack over 1 MiB
    with GitHost(tmp_path) as git:
        commit = git.create("big").commit({"blob.bin": noise})
        response = git.handle(_upload_pack_request(commit))
        assert response.is_streamed  # no Content-Length: over the buffered limit
        body = b"".join(response.iter_encoded()) if read else b""
        response.close()
        (exchange,) = git.log
    if read:
        assert body.startswith(b"0008NAK\n")
        assert b"PACK" in body[:20]
        assert len(body) > len(noise)
    assert (exchange.status, exchange.ended) == (200, "ok" if read else "closed")


def test_go_env_keeps_a_users_git_config_out(gomodnet, tmp_path) -> None:
    repo = serve_tool(gomodnet).repos["tool"]
    # run_git's HOME is tmp_path: a ~/.gitconfig that rewrites the URL to a host the
    # network does not have.
    (tmp_path / ".gitconfig").write_text(
        '[url "https://elsewhere.test/"]\n\tinsteadOf = https://git.test/\n'
    )
    env = gomodnet.go_env()
    assert run_git(env, "ls-remote", "--tags", repo.url, cwd=tmp_path).returncode == 0
    del env["GIT_CONFIG_GLOBAL"]
    rewritten = run_git(env, "ls-remote", "--tags", repo.url, cwd=tmp_path)
    assert (rewritten.returncode, rewritten.stderr) == (
        128,
        "fatal: unable to access 'https://elsewhere.test/tool.git/': "
        "CONNECT tunnel failed, response 502\n",
    )


def test_a_receive_pack_post_is_refused_before_any_cgi_runs(tmp_path) -> None:
    with GitHost(tmp_path) as git:
        tool_repo(git)
        environ = EnvironBuilder(path="/tool.git/git-receive-pack", method="POST", data=b"0000")
        response = git.handle(Request(environ.get_environ()))
        (exchange,) = git.log
    assert (response.status, exchange.ended) == ("403 Forbidden", "refused")
    assert response.get_data().startswith(
        b"gomodnet GitHost: pushing (git-receive-pack) is refused"
    )


def test_file_names_beyond_latin_1_are_stored_as_utf_8(tmp_path) -> None:
    with GitHost(tmp_path) as git:
        repo = git.create("r")
        repo.commit({"dé€/ü.go": b"package u\n"}, tags=["v1.0.0"], message="€ and ü")
        listed = repo.git("-c", "core.quotePath=false", "ls-tree", "-r", "--name-only", "v1.0.0")
        assert listed == "dé€/ü.go\n"
        assert repo.git("log", "-1", "--format=%s", "v1.0.0") == "€ and ü\n"


def test_a_cgi_still_streaming_at_its_deadline_is_cut_and_killed(tmp_path) -> None:
    noise = random.Random(4).randbytes(2_000_000)
    with GitHost(tmp_path, timeout=1.5) as git:
        commit = git.create("big").commit({"blob.bin": noise})
        response = git.handle(_upload_pack_request(commit))
        body = response.iter_encoded()
        first = next(body)
        time.sleep(1.6)  # a slow client: the CGI is still writing when its time is up
        rest = b"".join(body)
        response.close()
        (exchange,) = git.log
    assert len(first) >= 1 << 20  # the buffered first part, then nothing more
    assert rest == b""
    assert exchange.ended == "deadline"


def test_a_second_git_host_on_a_name_is_refused_unless_replaced(gomodnet, tmp_path) -> None:
    first = serve_tool(gomodnet)
    message = (
        f"git.test is already served ({gomodnet.hosts['git.test']}): one server per host; "
        "add what you need to that server, or pass replace=True to swap it"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        gomodnet.add_git("git.test")
    second = gomodnet.add_git("git.test", replace=True)
    second.create("other").commit({"a.txt": b"a\n"}, tags=["v0.1.0"])
    env = gomodnet.go_env()
    gone = run_git(env, "ls-remote", first.repos["tool"].url, cwd=tmp_path)
    assert (gone.returncode, gone.stderr.splitlines()[-1]) == (
        128,
        "fatal: repository 'https://git.test/tool.git/' not found",
    )
    listed = run_git(env, "ls-remote", "--tags", second.repos["other"].url, cwd=tmp_path)
    assert listed.stdout.endswith("\trefs/tags/v0.1.0\n")


# A user's test that arms a fault on git.test which git never meets (the path names the
# repository without .git): it must not pass.
UNFIRED_GIT_FAULT = """
import os, subprocess
from pytest_gomodnet.faults import Status

def test_ls_remote(gomodnet, tmp_path):
    git = gomodnet.add_git("git.test")
    git.create("tool").commit({"go.mod": b"module example.test/tool\\n"}, tags=["v1.0.0"])
    gomodnet.fault("git.test", Status(401), path="/tool/info/refs")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)} | gomodnet.go_env()
    subprocess.run(["git", "ls-remote", "https://git.test/tool.git"], env=env, check=True)
"""


def test_a_git_fault_never_met_fails_the_test_naming_what_git_asked(pytester) -> None:
    pytester.makepyfile(UNFIRED_GIT_FAULT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    status = "Status(code=401, body=b'')"
    errors = [line[1:].strip() for line in result.outlines if line.startswith("E ")]
    assert errors == [
        "pytest_gomodnet.errors.UnfiredFaultError: armed faults never fired, so the test "
        "proved nothing about them (pass must_fire=False to fault() for plans that may "
        "rightly stay unused):",
        f"gomodnet.fault('git.test', {status}, path='/tool/info/refs'): never fired: {status}",
        "0 of 1 plan taken; the requests git.test saw, nearest first:",
        "/tool.git/info/refs",
        "/tool.git/git-upload-pack",
        "did you mean path='/tool.git/info/refs'?",
    ]
