"""The go-import host: serves good pages and each broken variant real servers make.

:class:`GoImportHost` answers ``?go-get=1`` either behind the shared Origin
(:meth:`GoImportHost.handle`) or on its own loopback server (use it as a context
manager); :func:`go_get_page` builds one page without a host.
"""

from __future__ import annotations

import html
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from werkzeug import Request, Response

from ._goimport_pages import VARIANTS, Variant, page
from ._goimport_reader import (
    GoGetPage,
    MetaImport,
    go_fields,
    go_get_url,
    has_path_prefix,
)
from ._gotext import go_quote, http_reason
from .errors import GoImportError, InvalidPathError, ServerError
from .modules import check_import_path
from .origin import HandlerServer, host_without_port
from .origin import text_response as _text

#: Where every host serves its login page (the redirect variants point here).
LOGIN_PATH = "/-/login"


# --- the host ------------------------------------------------------------------


@dataclass(frozen=True)
class GoImportRequest:
    """One request a GoImportHost answered."""

    method: str
    host: str
    path: str
    query: str
    status: int


@dataclass(frozen=True)
class _Entry:
    meta: MetaImport
    variant: Variant
    document: _RawDocument | None = None


@dataclass(frozen=True)
class _RawDocument:
    body: bytes
    status: int
    content_type: str


def _raw(document: _RawDocument | None) -> tuple[bytes, int, str] | None:
    return None if document is None else (document.body, document.status, document.content_type)


class GoImportHost:
    """A web server for ``?go-get=1``: one go-import page per added prefix.

    ``add(prefix, vcs=…, repo=…, subdir=…, variant=…)`` serves the prefix and
    every path below it. :meth:`handle` answers one werkzeug request, so a
    shared Origin can route to it by Host header; as a context manager the host
    also runs its own server on 127.0.0.1:0 (TLS with ``ssl_context``) at
    :attr:`url`. :attr:`log` lists every request answered. :meth:`fetch` gives
    the page the go command would end up with, for :func:`resolve_go_import`.
    With ``host``, it serves that host only and refuses prefixes on any other.
    """

    def __init__(
        self, *, host: str | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host.lower() if host is not None else None
        self._ssl_context = ssl_context
        self._entries: dict[str, _Entry] = {}
        self._log: list[GoImportRequest] = []
        self._lock = threading.Lock()
        self._server: HandlerServer | None = None

    def __repr__(self) -> str:
        return f"GoImportHost(prefixes={sorted(self._entries)!r})"

    # configuration

    def add(
        self,
        prefix: str,
        *,
        vcs: str = "mod",
        repo: str,
        subdir: str | None = None,
        variant: Variant = "good",
    ) -> MetaImport:
        """Serve ``prefix`` (``host/path``) and the paths below it; returns the good tag."""
        if variant not in VARIANTS:
            raise GoImportError(f"unknown variant {variant!r}: expected one of {VARIANTS}")
        self._check_prefix(prefix)
        for what, value in (("vcs", vcs), ("repo", repo), ("subdir", subdir)):
            if value is not None and go_fields(value) != [value]:
                raise GoImportError(f"{what} {value!r} must be one field without white space")
        meta = MetaImport(prefix, vcs, repo, subdir)
        with self._lock:
            self._entries[prefix] = _Entry(meta, variant)
        return meta

    def add_document(
        self,
        prefix: str,
        document: bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        """Serve ``document`` as is for ``prefix`` and the paths below it.

        For pages no variant covers, e.g. one a hypothesis strategy drew, to
        compare a downloader (or :func:`parse_go_imports`) with the go command.
        """
        self._check_prefix(prefix)
        raw = _RawDocument(bytes(document), status, content_type)
        with self._lock:
            self._entries[prefix] = _Entry(MetaImport(prefix, "", ""), "good", raw)

    def _check_prefix(self, prefix: str) -> None:
        check_import_path(prefix)
        on = prefix.partition("/")[0]
        if self.host is not None and on.lower() != self.host:
            raise GoImportError(
                f"prefix {prefix!r} is on host {on!r}, but this go-import host serves "
                f"{self.host!r}: go asks https://{on}/… about it, so add_goimport({on!r}) "
                "and add the prefix there"
            )

    def entries(self) -> list[tuple[MetaImport, Variant, tuple[bytes, int, str] | None]]:
        """Every prefix served: its tag, its variant, and its raw document (body, status,
        content type) if it was added with :meth:`add_document`, oldest first."""
        with self._lock:
            entries = list(self._entries.values())
        return [(e.meta, e.variant, _raw(e.document)) for e in entries]

    def clear(self) -> None:
        """Forget every prefix and the log."""
        with self._lock:
            self._entries.clear()
            self._log.clear()

    @property
    def log(self) -> list[GoImportRequest]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    # serving

    def handle(self, request: Request) -> Response:
        """Answer one request: the page for the prefix that covers its path."""
        response = self._answer(request.host, request.path, request.query_string.decode("latin-1"))
        entry = GoImportRequest(
            request.method,
            request.host,
            request.path,
            request.query_string.decode("latin-1"),
            response.status_code,
        )
        with self._lock:
            self._log.append(entry)
        return response

    def fetch(self, import_path: str) -> GoGetPage:
        """What ``GET https://<import_path>?go-get=1`` leaves the go command with.

        Follows redirects as go does (also to other hosts, which this host
        answers too, and refusing https→http), without touching :attr:`log`.
        (go sends a 4xx request twice, the second time with GOAUTH
        credentials; the page is the same, so it is fetched once here.)
        """
        asked = url = "https:" + go_get_url(import_path)
        for _ in range(10):
            parts = urlsplit(url)
            response = self._answer(parts.netloc, parts.path, parts.query)
            location = response.headers.get("Location")
            if location is None:
                return GoGetPage(
                    url=asked,
                    status=response.status_code,
                    body=response.get_data(),
                    content_type=response.content_type or "",
                    reason=response.status.partition(" ")[2],
                )
            target = urljoin(url, location)
            if urlsplit(target).scheme != "https":
                raise GoImportError(
                    f"Get {go_quote(target)}: redirected from secure URL {url} "
                    f"to insecure URL {target}"
                )
            url = target
        raise GoImportError(f"Get {go_quote(url)}: stopped after 10 redirects")

    def _answer(self, host_header: str, path: str, query: str) -> Response:
        if path == LOGIN_PATH:
            return _html(_LOGIN_PAGE, 200)
        if "go-get=1" not in query.split("&"):
            return _text("this host only answers ?go-get=1 requests\n", 404)
        import_path = self._import_path(host_without_port(host_header), path)
        try:
            check_import_path(import_path)
        except InvalidPathError as exc:
            return _text(f"{exc}\n", 404)
        entry = self._entry_for(import_path)
        if entry is None:
            return _text(f"no go-import prefix covers {go_quote(import_path)}\n", 404)
        return _variant_response(entry, import_path, f"{path}?{query}")

    def _import_path(self, host: str, path: str) -> str:
        """The import path asked for; a standalone server's 127.0.0.1 stands for
        the host name, when all prefixes share one."""
        with self._lock:
            hosts = {prefix.partition("/")[0] for prefix in self._entries}
        if host not in hosts and len(hosts) == 1:
            host = next(iter(hosts))
        return host if path == "/" else host + path

    def _entry_for(self, import_path: str) -> _Entry | None:
        with self._lock:
            covering = [p for p in self._entries if has_path_prefix(import_path, p)]
            return self._entries[max(covering, key=len)] if covering else None

    # the standalone server

    def start(self) -> None:
        """Run on 127.0.0.1:0 (TLS if an ssl_context was given)."""
        if self._server is not None:
            raise ServerError(f"{self!r} is already running")
        self._server = HandlerServer(self.handle, ssl_context=self._ssl_context)
        self._server.start()

    def close(self) -> None:
        """Stop the standalone server (idempotent); re-raise a handler failure."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            server.check()

    def __enter__(self) -> GoImportHost:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:PORT`` of the standalone server."""
        if self._server is None:
            raise ServerError(f"{self!r} is not running: use it as a context manager")
        return self._server.url


# the documents, one function per kind of answer


#: What a request target may keep unescaped in a Location: the URL syntax, and "%" so that
#: escapes the client sent stay as they were.
_URL_SAFE = "/?&=%:@!$'()*+,;~#[]"


def _variant_response(entry: _Entry, import_path: str, request_target: str) -> Response:
    if entry.document is not None:
        response = Response(entry.document.body, content_type=entry.document.content_type)
        response.status = f"{entry.document.status} {http_reason(entry.document.status)}"
        return response
    host = import_path.partition("/")[0]
    back = quote(request_target, safe="")
    variant = entry.variant
    if variant == "redirect-same-host":
        return _redirect(f"{LOGIN_PATH}?redirect_to={back}")
    if variant == "redirect-other-host":
        return _redirect(f"https://login.{host}{LOGIN_PATH}?redirect_to={back}")
    if variant == "redirect-http":
        # Escaped as a URL: a control character in a hostile query would not fit in a header.
        return _redirect(f"http://{host}{quote(request_target, safe=_URL_SAFE)}")
    if variant == "unauthorized":
        return _text("Unauthorized\n", 401)
    if variant == "login-page":
        return _html(_LOGIN_PAGE, 200)
    status = 404 if variant == "not-found-with-tag" else 200
    return _html(page(entry.meta, entry.variant, import_path), status)


_LOGIN_PAGE = b"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Sign in</title>
</head>
<body>
<form action="/-/login" method="post">
<input name="user"> <input name="password" type="password">
<button>Sign in</button>
</form>
</body>
</html>
"""


def _redirect(location: str) -> Response:
    response = _html(f'<a href="{html.escape(location)}">Found</a>.\n'.encode(), 302)
    response.headers["Location"] = location
    return response


def _html(body: bytes, status: int) -> Response:
    response = Response(body, content_type="text/html; charset=utf-8")
    response.status = f"{status} {http_reason(status)}"
    return response
