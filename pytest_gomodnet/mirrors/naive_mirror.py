"""A naive caching GOPROXY mirror: it streams each upstream zip into its cache and serves
whatever it got, forever.

    python -m pytest_gomodnet.mirrors.naive_mirror --upstream https://proxy.golang.org --port 8080

The bug, on purpose: nothing checks that the zip arrived whole, or that it is a
zip at all. When the upstream connection is cut mid-body, the client sees a
short answer and retries, and the retry is served the partial file from the
cache, with a 200 and a matching Content-Length. An HTML sign-in page that
came back with 200 is cached as the zip just the same. Public mirrors have
shipped this: goproxyio/goproxy#107 ("zip: not a valid zip file" from a cached
zip with no end-of-central-directory record, until someone deleted it) and
goproxyio/goproxy#155 (an upstream redirect's HTML body cached as the zip).
"""

from __future__ import annotations

from contextlib import closing, suppress
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx

from . import _mirror
from ._mirror import Endpoint, Upstream


class NaiveZips:
    """Cache hit: serve the file. Miss: stream upstream to the client and the cache at once."""

    def __init__(self, upstream: Upstream, cache: Path) -> None:
        self.upstream = upstream
        self.cache = cache

    def serve_zip(self, handler: BaseHTTPRequestHandler, endpoint: Endpoint) -> None:
        cached = _mirror.cache_file(self.cache, endpoint)
        if cached.exists():
            with cached.open("rb") as file:
                _mirror.send_file(handler, file, cached.stat().st_size)
            return
        try:
            response = self.upstream.open(endpoint)
        except httpx.HTTPError as error:
            _mirror.send_text(
                handler, 502, _mirror.describe_error(self.upstream.url(endpoint), error)
            )
            return
        # A cut upstream cuts the client too, and the cache keeps what arrived: the bug.
        with closing(response), suppress(httpx.HTTPError):
            relay(handler, response, cached)

    def check_metadata(self, endpoint: Endpoint, body: bytes) -> str | None:
        """Nothing: whatever came back with 200 is passed on, cut or not."""
        return None


def relay(handler: BaseHTTPRequestHandler, response: httpx.Response, cached: Path) -> None:
    """Pass the upstream's status and headers on, then each block to the client (and cache)."""
    handler.send_response(response.status_code)
    for name in ("Content-Type", "Content-Length"):
        if name in response.headers:
            handler.send_header(name, response.headers[name])
    handler.end_headers()
    if response.status_code != 200:
        for block in response.iter_bytes():
            handler.wfile.write(block)
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    with cached.open("wb") as file:  # straight into the cache, no temporary file
        for block in response.iter_bytes():
            # Cache first, client second: the client's next request finds every byte it
            # was sent, so the only bug left is the intended one (no checks at all).
            file.write(block)
            file.flush()
            handler.wfile.write(block)


if __name__ == "__main__":
    _mirror.main(__doc__, NaiveZips)
