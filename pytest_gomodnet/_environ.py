"""The WSGI environ of a request, as werkzeug's own server would build it.

Built by hand: werkzeug's EnvironBuilder costs more than the rest of an exchange.
"""

from __future__ import annotations

import functools
import sys
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ._refusals import BadRequest

if TYPE_CHECKING:
    from werkzeug import Request

__all__ = ["werkzeug_request"]


def werkzeug_request(host: str, head: bytes, body: IO[bytes], length: int) -> Request:
    """The request as werkzeug's own server would build its WSGI environ, for https://host.

    Built by hand: werkzeug's EnvironBuilder costs more than the rest of an exchange.
    The request is not put in its own environ (``werkzeug.request``, only werkzeug's
    debugger reads it): that cycle left every request to the cyclic garbage collector.
    """
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, protocol = lines[0].split(" ", 2)
    path, _, query = target.partition("?")
    if not target.startswith("/"):  # absolute form: werkzeug's server keeps only its path
        try:
            parts = urlsplit(target)
        except ValueError:  # a target urlsplit rejects, such as http://[::1/
            raise BadRequest(f"malformed request target {target[:200]!r}") from None
        path, query = parts.path, parts.query
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _wsgi_text(unquote(path)),
        "QUERY_STRING": _wsgi_text(query),
        "REQUEST_URI": target,
        "RAW_URI": target,
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": protocol,
        "HTTP_HOST": host,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    seen: set[str] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or "_" in name:  # werkzeug's server drops these (they could spoof others)
            continue
        key = name.strip().upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = value.strip()
        environ[key] = f"{environ[key]},{value}" if key in seen else value
        seen.add(key)
    if "CONTENT_LENGTH" in environ or length:
        environ["CONTENT_LENGTH"] = str(length)
    return _request_class()(environ, populate_request=False)


@functools.cache
def _request_class() -> type[Request]:
    """werkzeug's Request, imported once a proxy serves an app (and never before)."""
    from werkzeug import Request

    return Request


def _wsgi_text(text: str) -> str:
    """PEP 3333: WSGI carries text as the latin-1 code points of its UTF-8 bytes (ASCII
    text is the same either way)."""
    return text if text.isascii() else text.encode().decode("latin-1")
