"""Client cases in direct mode with git: go-import discovery, then git, then the module.

``GOPROXY=direct`` and ``example.test`` names ``https://git.test/m.git`` (a
GitHost: git's own ``git http-backend``) in a ``git`` go-import tag. A client
that resolves vanity imports itself is held to the bar the go command sets:
the module zip built from the tag hashes as the proxy's zip of the same files
does, and a git server that refuses, asks for a login, cuts its packs or
advertises a tag whose object is missing gives an error and no zip.

The cases are SHOULD: a client that downloads through GOPROXY only, and finds
modules by ``mod`` tags, has no git to speak. Every case requires evidence that
the client asked git.test at all; one that never did fails the case, not passes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_gomodnet.faults import FaultPlan, HtmlLogin, Status, Truncate

from . import case
from .harness import FILES, ClientCase, ClientRun

if TYPE_CHECKING:
    from pytest_gomodnet.githost import GitRepo
    from pytest_gomodnet.goproxy import StoredVersion

GIT_HOST = "git.test"
REPO = "m"
#: The two steps of git's smart HTTP: the ref advertisement, and every ref listing or pack.
INFO_REFS = f"/{REPO}.git/info/refs"
UPLOAD_PACK = f"/{REPO}.git/git-upload-pack"
#: How many answers in a row a persistent fault spoils (more than any client asks for).
PERSISTENT = 8
#: An object id no repository holds.
MISSING = "1234567890" * 4


def _serve_by_git(client: ClientCase) -> tuple[StoredVersion, GitRepo]:
    """The case's module version in the store (for its h1) and tagged in git.test's m.git."""
    stored = client.add()
    repo = client.network.add_git(GIT_HOST).create(REPO)
    repo.commit({**FILES, "go.mod": stored.go_mod}, tags=[client.version])
    client.network.add_goimport("example.test").add(client.module, vcs="git", repo=repo.url)
    return stored, repo


def _expect_git_asked(client: ClientCase, run: ClientRun) -> None:
    """No verdict without evidence: the client must have gone to the git host."""
    if not any(c.host == GIT_HOST for c in client.network.log):
        raise AssertionError(
            client.story(f"never asked {GIT_HOST}: the client did not follow the git tag", run)
        )


@case(
    "git",
    "SHOULD",
    "GOPROXY=direct: a git go-import tag leads to the module, fetched with git at the "
    "version's tag; its zip hashes as the proxy's does (go help importpath, go help "
    "modules: 'module zip from a repository')",
)
def test_git(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored, _ = _serve_by_git(client)
    run = client.run("direct")
    _expect_git_asked(client, run)
    client.expect_success(run, stored)


GIT_FAILURES: dict[str, tuple[str, FaultPlan | None]] = {
    "info-refs-401": (INFO_REFS, Status(401, b"authentication required\n")),
    "info-refs-html-login": (INFO_REFS, HtmlLogin()),
    "upload-pack-cut": (UPLOAD_PACK, Truncate(-30, where="body-end")),
    "tag-at-missing-object": ("", None),
}


@case(
    "git-broken",
    "SHOULD",
    "GOPROXY=direct, git: a 401 (no prompt), an HTML login page for info/refs, every "
    "git-upload-pack answer cut before its end, or a tag advertised for an object the "
    "server lacks is an error, and no zip is kept (docs/go-behaviour.md, git)",
    variants=GIT_FAILURES,
)
def test_git_broken(
    gomodnet_client_case: ClientCase, variant: tuple[str, FaultPlan | None]
) -> None:
    client = gomodnet_client_case
    stored, repo = _serve_by_git(client)
    path, plan = variant
    if plan is None:
        repo.force_ref(f"refs/tags/{client.version}", MISSING)
        why = f"the tag {client.version} names an object git.test does not have"
    else:
        client.fault(GIT_HOST, *[plan] * PERSISTENT, path=path)
        why = f"every {path} answer had {plan!r}"
    run = client.run("direct")
    _expect_git_asked(client, run)
    client.expect_failure(run, stored, why)
