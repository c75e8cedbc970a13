"""The deadlines and sizes the servers share: constants only, so importing them loads nothing."""

from __future__ import annotations

__all__ = ["CLIENT_TIMEOUT", "CLOSE_TIMEOUT", "MAX_HEAD", "MAX_REQUEST_BODY", "UPSTREAM_TIMEOUT"]

#: Seconds a client may take for its TLS handshake and for each request head it sends
#: (and, at the Router, how long an idle keep-alive or relayed tunnel may last).
CLIENT_TIMEOUT = 10.0
#: Seconds the Router waits to connect to an upstream, or for its next bytes.
UPSTREAM_TIMEOUT = 10.0
#: Seconds close() (or a server's stop()) waits for its thread.
CLOSE_TIMEOUT = 1.0
#: Longest request or response head accepted.
MAX_HEAD = 64 * 1024
#: Largest request body accepted (no GOPROXY, go-import or sumdb request has one this big);
#: a larger Content-Length is answered 413 before a byte of the body is read.
MAX_REQUEST_BODY = 16 << 20
