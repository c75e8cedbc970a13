"""Client cases in direct mode with git: go-import discovery, then git, then the module.

``GOPROXY=direct`` and ``example.test`` names ``https://git.test/m.git`` (a
GitHost: git's own ``git http-backend``) in a ``git`` go-import tag. A client
that resolves vanity imports itself is held to the bar the go command sets:
the module zip built from the tag hashes as the proxy's zip of the same files
does, and a git server that refuses, asks for a login, cuts its packs or
advertises a tag whose object is missing gives an error and no zip.

The cases are SHOULD: a client that downloads through GOPROXY only, and finds
modules by ``mod`` tags, has no git to speak. No verdict without evidence
(evidence.py): each case requires that the client asked git.test for what the
case is about (the ref advertisement, ``info/refs``, and the pack,
``git-upload-pack``), and each broken case then heals git.test and requires
the same download to succeed (the positive control).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_gomodnet.faults import FaultPlan, HtmlLogin, Status, Truncate

from . import case
from .harness import FILES, ClientCase, ClientRun

if TYPE_CHECKING:
    from pytest_gomodnet.githost import GitRepo
    from pytest_gomodnet.goproxy import StoredVersion

GIT_HOST = "git.test"
REPO = "m"
#: The two steps of git's smart HTTP: the ref advertisement, and every ref listing or pack
#: (paths as faults match them: without the query).
INFO_REFS = f"/{REPO}.git/info/refs"
UPLOAD_PACK = f"/{REPO}.git/git-upload-pack"
#: How many answers in a row a persistent fault spoils (more than any client asks for).
#: Armed with ``must_fire=1``: the first must meet the client; one that gives up after
#: it leaves the rest unused, rightly.
PERSISTENT = 8
#: An object id no repository holds.
MISSING = "1234567890" * 4


@dataclass(frozen=True)
class GitServed:
    """The case's module version: in the store (for its h1), and tagged in git.test's m.git."""

    stored: StoredVersion
    repo: GitRepo
    commit: str


def _serve_by_git(client: ClientCase) -> GitServed:
    stored = client.add()
    repo = client.network.add_git(GIT_HOST).create(REPO)
    commit = repo.commit({**FILES, "go.mod": stored.go_mod}, tags=[client.version])
    client.network.add_goimport("example.test").add(client.module, vcs="git", repo=repo.url)
    return GitServed(stored, repo, commit)


def _expect_git_asked(client: ClientCase, run: ClientRun, *, faulted: str = "") -> None:
    """Evidence: the client asked git.test for its refs and for a pack; or, when a fault
    was armed on ``faulted`` (INFO_REFS or UPLOAD_PACK), that it met the fault there
    (a client stopped by it has no reason to ask for what comes after)."""
    if faulted:
        client.expect_fault_met(run, GIT_HOST, f"{faulted}*")
        return
    for path in (INFO_REFS, UPLOAD_PACK):
        client.expect_fault_met(run, GIT_HOST, f"{path}*", faulted=False)


@case(
    "git",
    "SHOULD",
    "GOPROXY=direct: a git go-import tag leads to the module, fetched with git at the "
    "version's tag; its zip hashes as the proxy's does (go help importpath, go help "
    "modules: 'module zip from a repository')",
)
def test_git(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    served = _serve_by_git(client)
    run = client.run("direct")
    _expect_git_asked(client, run)
    client.expect_success(run, served.stored)


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
    served = _serve_by_git(client)
    path, plan = variant
    tag = f"refs/tags/{client.version}"
    if plan is None:
        served.repo.force_ref(tag, MISSING)
        why = f"the tag {client.version} names an object git.test does not have"
    else:
        client.fault(GIT_HOST, *[plan] * PERSISTENT, path=path, must_fire=1)
        why = f"every {path} answer had {plan!r}"
    run = client.run("direct")
    _expect_git_asked(client, run, faulted=path)
    client.expect_failure(run, served.stored, why)
    if plan is None:
        served.repo.force_ref(tag, served.commit)
    else:
        client.clear_faults(GIT_HOST, path)
    client.expect_control(served.stored, "direct")
