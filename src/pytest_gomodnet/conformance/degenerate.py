"""Targets that do nothing right, to prove that no conformance verdict is vacuous.

A case that a target passes without doing anything tells a vendor nothing. Run
the suite against these and every case must come out FAIL, SHOULD-fail or
error, never ``pass``. Each is a command line for ``pytest --gomodnet``::

    --gomodnet-proxy-cmd "python -m pytest_gomodnet.conformance.degenerate proxy-502 {port}"
    --gomodnet-client-cmd "python -m pytest_gomodnet.conformance.degenerate client-exit-3"

=============================================  ==========================================
target and its arguments                       what it does
=============================================  ==========================================
``proxy-502 {port}``                           answers 502 to every request, asks no one
``proxy-404 {port}``                           answers 404 to every request, asks no one
``proxy-fetch-then-502 {port} {upstream}``     asks the upstream for the same path (so
                                               every fault meets it), then answers 502
``client-exit-3``                              exits 3 at once, without a request
``client-exit-0-nothing``                      exits 0 at once, leaving nothing
``client-fetch-then-exit-3 {module}            asks the first proxy of ``{goproxy}`` for
{version} {goproxy}``                          the zip (so zip faults meet it); with
                                               ``direct``, reads the go-import page and
                                               lists a git repository's refs
                                               (``git ls-remote``: info/refs, then
                                               git-upload-pack); exits 3
=============================================  ==========================================

The first two of each kind fail for want of the first piece of evidence (the
fault never met them); the ``fetch-then`` ones meet every fault and fail the
positive control. The proxies answer one request right, a start-up probe's (see
:data:`READY_PROBE`), so that the cases, not the start, give the verdicts. They
reach the network the way a command target does: through ``HTTPS_PROXY`` and
``SSL_CERT_FILE``, which the suite sets.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from pytest_gomodnet.conformance.reference import discover
from pytest_gomodnet.errors import GoImportError
from pytest_gomodnet.modules import escape_path, escape_version

__all__ = ["MODULE", "TARGETS", "main"]

#: What ``python -m`` runs.
MODULE = "pytest_gomodnet.conformance.degenerate"
#: Seconds a degenerate target waits for the network.
TIMEOUT = 10.0
#: The one request a degenerate proxy answers right: a start-up probe's list of a module
#: ``…/ready-N`` (no case asks for it), so a suite that waits for a clean answer before
#: it runs the cases sees the proxy up, and the cases, not the start, give the verdicts.
READY_PROBE = re.compile(r"/ready-[0-9]+/@v/list")
READY_LIST = b"v1.0.0\n"


def answer_everything(status: int, argv: Sequence[str], *, fetch: bool = False) -> int:
    """Serve ``status`` to every request on 127.0.0.1:``argv[0]``; with ``fetch``, first
    GET the same path from the upstream ``argv[1]`` (and throw the answer away)."""
    if len(argv) < (2 if fetch else 1) or not argv[0].isdigit():
        print(f"usage: PORT{' UPSTREAM' if fetch else ''}", file=sys.stderr)
        return 2
    upstream = argv[1].rstrip("/") if fetch else ""
    body = f"degenerate proxy: {status} for every request\n".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if READY_PROBE.search(self.path):
                self.answer(200, READY_LIST)
                return
            if fetch:
                _get_and_forget(upstream + self.path)
            self.answer(status, body)

        def answer(self, code: int, content: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the suite shows the target's output on failure

    with ThreadingHTTPServer(("127.0.0.1", int(argv[0])), Handler) as server:
        print(f"answering {status} on http://127.0.0.1:{argv[0]}", flush=True)
        server.serve_forever()
    return 0


def exit_at_once(status: int, argv: Sequence[str]) -> int:
    """Do nothing and exit with ``status``."""
    return status


def fetch_zip_then_exit(status: int, argv: Sequence[str]) -> int:
    """GET ``module@version``'s zip from the first proxy of the GOPROXY list (with
    ``direct``, list the refs of its git repository instead); exit ``status``."""
    if len(argv) < 3:
        print("usage: MODULE VERSION GOPROXY", file=sys.stderr)
        return 2
    module, version, goproxy = argv[:3]
    first = re.split(r"[,|]", goproxy)[0].rstrip("/")
    if first.startswith("https://"):
        _get_and_forget(f"{first}/{escape_path(module)}/@v/{escape_version(version)}.zip")
    elif first == "direct":
        _list_git_refs(module)
    return status


def _list_git_refs(module: str) -> None:
    """Find ``module``'s repository by its go-import page; if git's, list its refs."""
    with httpx.Client(timeout=TIMEOUT, trust_env=True) as client:
        try:
            meta = discover(module, client=client)
        except (GoImportError, httpx.HTTPError) as exc:
            print(f"discovery of {module}: {exc}", flush=True)
            return
    if meta.vcs == "git":
        # git reads HTTPS_PROXY and GIT_SSL_CAINFO, which the suite sets.
        try:
            subprocess.run(["git", "ls-remote", meta.repo_root], timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"git ls-remote {meta.repo_root}: {exc}", flush=True)


def _get_and_forget(url: str) -> None:
    # trust_env: HTTPS_PROXY and SSL_CERT_FILE lead to the suite's private network.
    try:
        httpx.get(url, timeout=TIMEOUT, trust_env=True)
    except httpx.HTTPError as exc:
        print(f"GET {url}: {type(exc).__name__}: {exc}", flush=True)


#: Each degenerate target, by the name the command line gives it.
TARGETS: dict[str, Callable[[Sequence[str]], int]] = {
    "proxy-502": partial(answer_everything, 502),
    "proxy-404": partial(answer_everything, 404),
    "proxy-fetch-then-502": partial(answer_everything, 502, fetch=True),
    "client-exit-3": partial(exit_at_once, 3),
    "client-exit-0-nothing": partial(exit_at_once, 0),
    "client-fetch-then-exit-3": partial(fetch_zip_then_exit, 3),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in TARGETS:
        names = ", ".join(TARGETS)
        print(f"usage: python -m {MODULE} TARGET [ARGS...]; targets: {names}", file=sys.stderr)
        return 2
    return TARGETS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
