"""Targets that do nothing right, to prove that no conformance verdict is vacuous.

A case that a target passes without doing anything tells a vendor nothing. Run
the suite against these and every case must come out FAIL, SHOULD-fail or
error, never ``pass``::

    pytest --gomodnet \
      --gomodnet-proxy-cmd "python -m pytest_gomodnet.conformance.degenerate proxy-502 {port}"
    pytest --gomodnet \
      --gomodnet-client-cmd "python -m pytest_gomodnet.conformance.degenerate client-exit-3"

``proxy-502`` and ``proxy-404`` listen on 127.0.0.1:PORT and answer every
request with that status, never asking any upstream; ``client-exit-3`` exits
with status 3 at once, and ``client-exit-0-nothing`` exits 0 at once, leaving
nothing; neither client makes a request. Extra arguments (the placeholders a
command line may pass) are ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["MODULE", "TARGETS", "main"]

#: What ``python -m`` runs.
MODULE = "pytest_gomodnet.conformance.degenerate"


def answer_everything(status: int, argv: Sequence[str]) -> int:
    """Serve ``status`` with a one-line body to every request on 127.0.0.1:``argv[0]``."""
    if not argv or not argv[0].isdigit():
        print(f"usage: proxy-{status} PORT", file=sys.stderr)
        return 2
    body = f"degenerate proxy: {status} for every request\n".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the suite shows the target's output on failure

    with ThreadingHTTPServer(("127.0.0.1", int(argv[0])), Handler) as server:
        print(f"answering {status} on http://127.0.0.1:{argv[0]}", flush=True)
        server.serve_forever()
    return 0


def exit_at_once(status: int, argv: Sequence[str]) -> int:
    """Do nothing and exit with ``status``."""
    return status


#: Each degenerate target, by the name the command line gives it.
TARGETS: dict[str, Callable[[Sequence[str]], int]] = {
    "proxy-502": partial(answer_everything, 502),
    "proxy-404": partial(answer_everything, 404),
    "client-exit-3": partial(exit_at_once, 3),
    "client-exit-0-nothing": partial(exit_at_once, 0),
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
