"""What the two example mirrors share: flags, the HTTP server, the upstream client, passthrough.

A mirror here is a small GOPROXY server on ``127.0.0.1`` that answers every
request by asking an upstream GOPROXY for the same path. Everything but the
``.zip`` endpoint is passed through uncached, after the policy's check of
what came back; what to do with a ``.zip`` is the mirror's caching policy.
Both are a :class:`ZipPolicy` that each program supplies: the two programs
differ only in that policy.

Only the standard library and httpx (with h2, its HTTP/2 engine, for
``--http2``): a mirror under test shares no code with the tool that judges it.
"""

from __future__ import annotations

import argparse
import re
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote

import h2.exceptions
import httpx

#: Seconds the upstream may take to connect, and to send each block, unless --upstream-timeout.
DEFAULT_UPSTREAM_TIMEOUT = 10.0
#: Bytes read from a file (a cached zip, a zip entry) at a time.
BLOCK = 1 << 16
#: The most a passed-through body (list, .info, .mod, @latest, an error page) may hold.
MAX_METADATA = 16 << 20
#: What a failed upstream answer raises: httpx's errors, and over HTTP/2 h2's own, which
#: escape httpx (an END_STREAM short of the Content-Length is h2's InvalidBodyLengthError).
UPSTREAM_ERRORS = (httpx.HTTPError, h2.exceptions.H2Error)

_MODULE_ENDPOINT = re.compile(
    r"/(?P<module>[^@]+)/(?:@v/(?:list|(?P<version>[^/]+)\.(?P<ext>info|mod|zip))|@latest)"
)
# A checksum database proxied by the upstream: supported, latest, lookups and tiles.
_SUMDB = re.compile(
    r"/sumdb/[^/]+/(?:supported|latest|lookup/[^/@]+(?:/[^/@]+)*@[^/@]+|tile/[0-9a-z./]+)"
)


# --- which requests are GOPROXY requests -------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A request that names a GOPROXY endpoint: the path to ask upstream, and what it names."""

    raw_path: str
    """The path exactly as the client sent it (percent-encoding included): what upstream gets."""
    path: str
    """The path percent-decoded once: where the cache keeps it."""
    module: str | None = None
    """The module path, case-decoded (``!azure`` → ``Azure``), for module endpoints."""
    version: str | None = None
    """The version, case-decoded, for ``.info``, ``.mod`` and ``.zip``."""
    is_zip: bool = False


def endpoint(raw_path: str) -> Endpoint | None:
    """What ``raw_path`` asks for, or None when it is no GOPROXY endpoint or tries to escape.

    Refused: query strings, backslashes, NUL, empty segments, ``..`` anywhere
    (also as ``%2e%2e``), and slashes that only appear after decoding (``%2f``).
    """
    if not raw_path.startswith("/") or "?" in raw_path:
        return None
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if (
        path.count("/") != raw_path.count("/")
        or ".." in path
        or "//" in path
        or "\\" in path
        or "\x00" in path
    ):
        return None
    if _SUMDB.fullmatch(path):
        return Endpoint(raw_path, path)
    match = _MODULE_ENDPOINT.fullmatch(path)
    if match is None:
        return None
    module = case_decode(match["module"])
    version = case_decode(match["version"]) if match["version"] else None
    if module is None or (match["version"] and version is None):
        return None
    return Endpoint(raw_path, path, module, version, is_zip=match["ext"] == "zip")


def case_decode(escaped: str) -> str | None:
    """``github.com/!azure`` → ``github.com/Azure``; None for what Go never sends (``!9``)."""
    if not escaped.isascii() or re.search(r"[A-Z]|![^a-z]|!$", escaped):
        return None
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), escaped)


def cache_file(cache: Path, endpoint: Endpoint) -> Path:
    """Where the cache keeps ``endpoint``: its decoded path under ``cache`` (already checked)."""
    return cache / endpoint.path.lstrip("/")


# --- the upstream ------------------------------------------------------------


class Upstream:
    """The upstream GOPROXY, reached through an optional forward proxy, trusting a CA bundle;
    over HTTP/2 when ``http2`` and the upstream's TLS offers it by ALPN."""

    def __init__(
        self,
        base_url: str,
        *,
        proxy: str | None,
        ca_bundle: str | None,
        timeout: float,
        http2: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self.client = httpx.Client(
            proxy=proxy,
            verify=verify,
            timeout=timeout,
            http2=http2,
            follow_redirects=True,
            # Bytes on the wire are the bytes of the artifact: no gzip to undo or to miscount.
            headers={"Accept-Encoding": "identity"},
        )

    def url(self, endpoint: Endpoint) -> str:
        # String concatenation, not urljoin: the path reaches upstream exactly as received.
        return self.base_url + endpoint.raw_path

    def open(self, endpoint: Endpoint) -> httpx.Response:
        """GET the endpoint upstream: the response, its body unread; ``with closing(...)``.

        A connection the upstream closed before any answer (a pooled HTTP/2 one it
        dropped while idle: httpx reads those only while a request waits, so it
        learns of the close by losing the next request) is asked once more, on a
        new connection, as Go's net/http does: nothing came back, so nothing is lost.
        """
        request = self.client.build_request("GET", self.url(endpoint))
        try:
            return self.client.send(request, stream=True)
        except httpx.RemoteProtocolError:
            return self.client.send(request, stream=True)

    def close(self) -> None:
        self.client.close()


def describe_error(url: str, error: BaseException) -> str:
    """One line naming what went wrong upstream: ``GET URL: ReadTimeout: timed out``."""
    return f"upstream error: GET {url}: {type(error).__name__}: {one_line(str(error))}"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line and at most ``limit`` characters, for a text/plain error body."""
    text = " ".join(text.split()) or "(no message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- answering the client ----------------------------------------------------


def send_text(handler: BaseHTTPRequestHandler, status: int, text: str) -> None:
    """A one-line text/plain answer (errors, refusals)."""
    send_bytes(handler, status, "text/plain; charset=utf-8", f"{text}\n".encode())


def send_bytes(
    handler: BaseHTTPRequestHandler, status: int, content_type: str | None, body: bytes
) -> None:
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_file(handler: BaseHTTPRequestHandler, file: BinaryIO, size: int) -> None:
    """200 with a zip from the cache, ``size`` bytes exactly, read from an open binary file."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/zip")
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    while block := file.read(BLOCK):
        handler.wfile.write(block)


def passthrough(
    handler: BaseHTTPRequestHandler, upstream: Upstream, endpoint: Endpoint, policy: ZipPolicy
) -> None:
    """Ask upstream, answer with its status, Content-Type and body; cache nothing.

    The body is read whole first (metadata is small), so a cut upstream becomes
    a 502 here instead of a short answer the client might take for whole. A
    200 body then goes past the policy's :meth:`ZipPolicy.check_metadata`: a
    body without a Content-Length that was cut looks whole to HTTP.
    """
    try:
        with closing(upstream.open(endpoint)) as response:
            body = read_bounded(response, MAX_METADATA)
    except (*UPSTREAM_ERRORS, ValueError) as error:
        send_text(handler, 502, describe_error(upstream.url(endpoint), error))
        return
    problem = policy.check_metadata(endpoint, body) if response.status_code == 200 else None
    if problem is not None:
        send_text(handler, 502, f"refused GET {upstream.url(endpoint)}: {problem}")
        return
    send_bytes(handler, response.status_code, response.headers.get("content-type"), body)


def read_bounded(response: httpx.Response, limit: int) -> bytes:
    blocks, size = [], 0
    for block in response.iter_bytes():
        size += len(block)
        if size > limit:
            raise ValueError(f"body larger than {limit} bytes")
        blocks.append(block)
    return b"".join(blocks)


# --- the program -------------------------------------------------------------


class ZipPolicy(Protocol):
    """What a mirror does with a ``.zip`` request, and what it checks in a passed-through
    200: the one place the two mirrors differ."""

    def serve_zip(self, handler: BaseHTTPRequestHandler, endpoint: Endpoint) -> None: ...

    def check_metadata(self, endpoint: Endpoint, body: bytes) -> str | None:
        """Why the upstream's 200 ``body`` for ``endpoint`` must not be passed on, or None."""


def argument_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--upstream", required=True, help="the upstream GOPROXY base URL")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--ca-bundle", help="PEM file of CAs to trust for the upstream's TLS")
    parser.add_argument("--proxy", help="HTTP forward proxy to reach the upstream through")
    parser.add_argument("--cache", type=Path, help="cache directory (default: a temporary one)")
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=DEFAULT_UPSTREAM_TIMEOUT,
        help="seconds to connect upstream, and to wait for each block of its answer",
    )
    parser.add_argument(
        "--http2",
        action="store_true",
        help="offer HTTP/2 to the upstream by ALPN (default: HTTP/1.1 only)",
    )
    return parser


def run(args: argparse.Namespace, make_policy: Callable[[Upstream, Path], ZipPolicy]) -> int:
    """Serve until SIGTERM or SIGINT, then close everything and return the exit status."""
    with ExitStack() as stack:
        cache = args.cache
        if cache is None:
            temporary = tempfile.TemporaryDirectory(prefix="mirror-", ignore_cleanup_errors=True)
            cache = Path(stack.enter_context(temporary))
        cache.mkdir(parents=True, exist_ok=True)
        upstream = Upstream(
            args.upstream,
            proxy=args.proxy,
            ca_bundle=args.ca_bundle,
            timeout=args.upstream_timeout,
            http2=args.http2,
        )
        stack.callback(upstream.close)
        server = _server(args.port, upstream, make_policy(upstream, cache))
        stack.callback(server.server_close)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        serving = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
        serving.start()
        print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
        while not stop.wait(0.2):
            pass
        server.shutdown()  # returns within the 0.1 s poll; handlers are daemon threads
    return 0


def _server(port: int, upstream: Upstream, policy: ZipPolicy) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            wanted = endpoint(self.path)
            if wanted is None:
                send_text(self, 404, f"not found: {self.path} is not a GOPROXY endpoint")
            elif wanted.is_zip:
                policy.serve_zip(self, wanted)
            else:
                passthrough(self, upstream, wanted, policy)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: whoever runs the mirror may not read its stderr."""

    return _Server(("127.0.0.1", port), Handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still waiting on upstream does not hold up the exit

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is no error; anything else gets one line on stderr."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            print(f"mirror: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def main(description: str | None, make_policy: Callable[[Upstream, Path], ZipPolicy]) -> None:
    sys.exit(run(argument_parser(description).parse_args(), make_policy))
