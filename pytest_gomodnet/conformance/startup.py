"""How the suite brings a proxy command up: the upstream's endpoints, and "ready".

A mirror that cannot use a forward proxy (nginx, Squid, Varnish, Debian's
Caddy) reaches the upstream at a port of its own on loopback instead, served
by the Router as if the mirror had tunnelled to ``upstream.test`` through it:
the same chain, fault queues and log (see :meth:`Router.listen`).

A started command is ready when a clean request through it succeeds, not when
its port opens: some servers (Squid) answer 502 for up to a second after that.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
from werkzeug import Request, Response

from .harness import UPSTREAM_HOST
from .targets import ReadyProbe

if TYPE_CHECKING:
    from pytest_gomodnet.network import Backbone

__all__ = ["readiness_probe", "upstream_endpoints"]

#: Seconds one readiness request may take (less when the start deadline is nearer).
PROBE_TIMEOUT = 5.0
#: The version every probe module lists.
PROBE_LIST = b"v1.0.0\n"


def upstream_endpoints(backbone: Backbone, names: set[str]) -> dict[str, str]:
    """The direct placeholders among ``names``, filled; their ports open for the session."""
    values = {"upstream_host": UPSTREAM_HOST}
    if names & {"upstream_port", "upstream_direct"}:
        port = backbone.router.listen(UPSTREAM_HOST, tls=True)
        values |= {"upstream_port": str(port), "upstream_direct": f"https://127.0.0.1:{port}"}
    if "upstream_http" in names:
        port = backbone.router.listen(UPSTREAM_HOST, tls=False)
        values["upstream_http"] = f"http://127.0.0.1:{port}"
    return values


def _list_only(request: Request) -> Response:
    if request.path.endswith("/@v/list"):
        return Response(PROBE_LIST, content_type="text/plain; charset=utf-8")
    return Response(b"not found\n", 404, content_type="text/plain; charset=utf-8")


@contextmanager
def readiness_probe(backbone: Backbone, prefix: str) -> Iterator[ReadyProbe]:
    """While it is open, ``upstream.test`` lists one version of any module; the probe asks
    the target for ``PREFIX/ready-N/@v/list`` (a new N each attempt, so no error a cache
    kept from an earlier attempt can answer) and wants 200 with that list."""
    attempts = itertools.count(1)

    def probe(url: str, seconds: float) -> str | None:
        target = f"{url}/{prefix}/ready-{next(attempts)}/@v/list"
        try:
            response = httpx.get(target, timeout=min(seconds, PROBE_TIMEOUT), trust_env=False)
        except httpx.HTTPError as exc:
            return f"GET {target}: {type(exc).__name__}: {exc}"
        if response.status_code == 200 and response.content == PROBE_LIST:
            return None
        return f"GET {target}: {response.status_code}, {response.content[:200]!r}"

    with backbone.network() as network:
        network.add_handler(UPSTREAM_HOST, _list_only)
        yield probe
