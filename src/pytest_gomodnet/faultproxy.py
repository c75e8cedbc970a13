"""The socket side of faults: the Router (forward proxy) and FaultProxy (reverse proxy).

Both run one asyncio loop in one background thread and share one exchange
loop: read a request from the client, take the next fault plan for its host
and path, forward the request to the upstream over a pooled keep-alive
connection (or call the host's handler in process, for hosts added with
``app=``), and pass the response through :class:`faults.ResponseEngine`.

The Router accepts ``CONNECT host:443`` (what the go command sends through
``HTTPS_PROXY``) and absolute-URI plain HTTP requests. For a host added with
a TLS context it terminates TLS itself, so faults land at exact offsets of
the plaintext HTTP response; for a host without one it relays bytes.

Every wait has a deadline, nothing listens anywhere but 127.0.0.1, and
``close()`` ends every connection and joins the thread within a second.

This module is the public face; the pieces, one job each (see docs/architecture.md):
:mod:`._proxy` (the shared core), :mod:`._router`, :mod:`._reverse`,
:mod:`._routes` (hosts, framings, fault selection), :mod:`._delivery` (one
exchange, request to bytes), :mod:`._readers` / :mod:`._writers` (HTTP/1.1
framing), :mod:`._inprocess` / :mod:`._environ` (apps served in process),
:mod:`._pool`, :mod:`._tunnel`, :mod:`._endings`, :mod:`._refusals`.
"""

from __future__ import annotations

from ._inprocess import InProcessApp
from ._limits import CLOSE_TIMEOUT, MAX_HEAD, UPSTREAM_TIMEOUT
from ._proxylog import Connection, Exchange
from ._reverse import FaultProxy
from ._router import Router
from .faults import ResponseEngine

__all__ = [
    "CLOSE_TIMEOUT",
    "MAX_HEAD",
    "UPSTREAM_TIMEOUT",
    "Connection",
    "Exchange",
    "FaultProxy",
    "InProcessApp",
    "ResponseEngine",
    "Router",
]
