"""How the go command reads a go-import page (go 1.27), byte for byte.

:func:`parse_go_imports` (``parseMetaGoImports``: encoding/xml in non-strict mode,
a ``RawToken`` loop, see :mod:`._goxml`), :func:`match_go_import`
(``matchGoImport``), :func:`check_meta_import` (the subdirectory, repo-root and vcs
checks) and :func:`resolve_go_import`, which chains them like
``repoRootForImportDynamic`` and raises the exact text go prints after
``unrecognized import path "…": ``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._gotext import error_detail, go_quote, http_reason
from ._goxml import IO_EOF, Decoder
from .errors import GoImportError

#: The version control systems go 1.27 knows (vcs.go ``vcsList``), plus ``mod``.
KNOWN_VCS = ("mod", "hg", "git", "svn", "fossil")


# --- what go reads ------------------------------------------------------------


@dataclass(frozen=True)
class MetaImport:
    """One ``go-import`` tag: ``content="prefix vcs repo_root [subdir]"``."""

    prefix: str
    vcs: str
    repo_root: str
    subdir: str | None = None

    @property
    def content(self) -> str:
        """The tag's ``content`` attribute, as a host writes it."""
        fields = [self.prefix, self.vcs, self.repo_root]
        return " ".join(fields if self.subdir is None else [*fields, self.subdir])


def parse_go_imports(
    document: bytes, *, mod_mode: bool = True, cut: bool = False
) -> list[MetaImport]:
    """The go-import tags the go command takes from ``document``, in go's order.

    Reading stops at ``<body>``, at ``</head>`` or at the end. A tag counts if
    it is a ``meta`` start tag whose first ``name`` attribute is exactly
    ``go-import`` and whose ``content`` has 3 or 4 fields. A token error ends
    reading quietly once a tag was collected, and raises GoImportError with
    go's text otherwise. ``cut=True`` says the transport ended the body early
    (net/http's ``unexpected EOF``) rather than at a clean end of body. With
    ``mod_mode`` (module mode, always the case for ``go mod``/``go get``)
    ``mod`` tags come first and hide other tags with the same prefix.
    """
    found = _scan_go_imports(document, cut=cut)
    mod_prefixes = {m.prefix for m in found if m.vcs == "mod"} if mod_mode else set()
    first = [m for m in found if m.vcs == "mod"] if mod_mode else []
    return first + [m for m in found if m.vcs != "mod" and m.prefix not in mod_prefixes]


def match_go_import(imports: Sequence[MetaImport], import_path: str) -> MetaImport:
    """The one tag whose prefix covers ``import_path`` at a ``/`` boundary.

    Raises GoImportError ``no go-import meta tags (meta tag P did not match
    import path I, …)`` when none does, and ``multiple meta tags match import
    path "I"`` when two do (a ``mod`` match ends the search at the first
    non-``mod`` tag, which :func:`parse_go_imports` puts after every ``mod``).
    """
    match: MetaImport | None = None
    mismatches: list[str] = []
    for candidate in imports:
        if not has_path_prefix(import_path, candidate.prefix):
            mismatches.append(candidate.prefix)
            continue
        if match is not None:
            if match.vcs == "mod" and candidate.vcs != "mod":
                break
            raise GoImportError(f"multiple meta tags match import path {go_quote(import_path)}")
        match = candidate
    if match is None:
        detail = ", ".join(
            f"meta tag {p} did not match import path {import_path}" for p in mismatches
        )
        raise _MismatchError(f"no go-import meta tags ({detail})")
    return match


def check_meta_import(meta: MetaImport) -> None:
    """Raise GoImportError if go refuses the matched tag's subdir, repo root or vcs.

    The message is go's without the page URL it puts in front
    (``invalid subdirectory "/x": leading slash``, ``invalid repo root "…": …``,
    ``unknown vcs "darcs"``). GOVCS is not checked: it never applies to ``mod``.
    """
    if meta.subdir:
        problem = {"/": "leading slash", "-": "leading hyphen"}.get(meta.subdir[0])
        if problem:
            raise GoImportError(f"invalid subdirectory {go_quote(meta.subdir)}: {problem}")
    problem = _repo_root_problem(meta.repo_root)
    if problem:
        raise GoImportError(f"invalid repo root {go_quote(meta.repo_root)}: {problem}")
    if meta.vcs not in KNOWN_VCS:
        raise GoImportError(f"unknown vcs {go_quote(meta.vcs)}")


def go_get_url(import_path: str) -> str:
    """The URL go asks, without scheme as go prints it: ``//host/path?go-get=1``."""
    host, slash, path = import_path.partition("/")
    if "." not in host:
        raise GoImportError("import path does not begin with hostname")
    return f"//{host}{slash + path or '/'}?go-get=1"


@dataclass(frozen=True)
class GoGetPage:
    """What one ``GET https://…?go-get=1`` gave the go command.

    ``url`` is the URL asked for: go names it in its errors even when the
    page came from a redirect. ``cut`` says the transport ended the body early.
    """

    url: str
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    reason: str | None = None
    cut: bool = False

    def http_error(self) -> str | None:
        """go's ``resp.Err()`` text for a status other than 200, else None."""
        if self.status == 200:
            return None
        reason = self.reason if self.reason is not None else http_reason(self.status)
        message = f"reading {self.url}: {self.status} {reason}"
        detail = error_detail(self.body, self.content_type)
        if detail:
            message += (
                "\n\tserver response:\n\t" if "\n" in detail else "\n\tserver response: "
            ) + detail
        return message


#: ``fetch(path)`` answers ``GET https://<path>?go-get=1``; it raises GoImportError
#: with the transport's error text (e.g. ``Get "…": …``) when there is no response.
Fetch = Callable[[str], GoGetPage]


def resolve_go_import(import_path: str, fetch: Fetch, *, mod_mode: bool = True) -> MetaImport:
    """Discover ``import_path`` the way ``repoRootForImportDynamic`` does.

    Returns the tag go would use, or raises GoImportError with the text go
    prints after ``unrecognized import path "<import_path>": ``. When the tag's
    prefix is shorter than the import path, the prefix's own page is fetched
    and must agree, as in go.
    """
    url = go_get_url(import_path)
    try:
        page = fetch(import_path)
    except GoImportError as exc:
        raise GoImportError(f"https fetch: {exc}") from None
    imports, parse_error = _imports_and_error(page, mod_mode=mod_mode)
    http_error = page.http_error()
    if not imports and http_error:
        raise GoImportError(http_error)
    if parse_error:
        raise GoImportError(f"parsing {import_path}: {parse_error}")
    try:
        meta = match_go_import(imports, import_path)
    except _MismatchError as exc:
        raise GoImportError(f"parse {page.url}: {exc}") from None
    except GoImportError as exc:
        raise GoImportError(f"parse {url}: {exc}") from None
    if meta.prefix != import_path:
        _check_prefix_agrees(meta, import_path, page, fetch, mod_mode=mod_mode)
    try:
        check_meta_import(meta)
    except GoImportError as exc:
        raise GoImportError(f"{page.url}: {exc}") from None
    return meta


def _check_prefix_agrees(
    meta: MetaImport, import_path: str, page: GoGetPage, fetch: Fetch, *, mod_mode: bool
) -> None:
    """go trusts a tag for a parent only if the parent's own page says the same."""
    url = go_get_url(meta.prefix)
    try:
        parent = fetch(meta.prefix)
    except GoImportError as exc:
        raise GoImportError(f"fetching {meta.prefix}: {exc}") from None
    imports, parse_error = _imports_and_error(parent, mod_mode=mod_mode)
    http_error = parent.http_error()
    if not imports and http_error:
        raise GoImportError(http_error)
    if parse_error:
        raise GoImportError(f"parsing {parent.url}: {parse_error}")
    if not imports:
        raise GoImportError(f"fetching {meta.prefix}: no go-import meta tag found in {parent.url}")
    try:
        again: MetaImport | None = match_go_import(imports, import_path)
    except GoImportError:
        again = None
    if again != meta:
        raise GoImportError(f"{page.url} and {url} disagree about go-import for {meta.prefix}")


def _imports_and_error(page: GoGetPage, *, mod_mode: bool) -> tuple[list[MetaImport], str]:
    try:
        return parse_go_imports(page.body, mod_mode=mod_mode, cut=page.cut), ""
    except GoImportError as exc:
        return [], str(exc)


class _MismatchError(GoImportError):
    """No tag matched (go's ImportMismatchError): go names the final URL for it."""


def has_path_prefix(path: str, prefix: str) -> bool:
    """str.HasPathPrefix: ``prefix`` is ``path`` or a ``/``-boundary prefix of it."""
    if not path.startswith(prefix):
        return False
    return len(path) == len(prefix) or prefix.endswith("/") or path[len(prefix)] == "/"


def _scan_go_imports(document: bytes, *, cut: bool = False) -> list[MetaImport]:
    """Every 3- or 4-field go-import tag before the body, in document order."""
    decoder = Decoder(document, cut=cut)
    found: list[MetaImport] = []
    while True:
        token = decoder.raw_token()
        if token is None:
            if decoder.err != IO_EOF and not found:
                raise GoImportError(decoder.err)
            return found
        kind, name, attrs = token
        if kind == "start" and name.lower() == "body":
            return found
        if kind == "end" and name.lower() == "head":
            return found
        if kind != "start" or name.lower() != "meta" or _attr(attrs, "name") != "go-import":
            continue
        fields = go_fields(_attr(attrs, "content"))
        if len(fields) in (3, 4):
            found.append(MetaImport(*fields))


def _attr(attrs: list[tuple[str, str]], name: str) -> str:
    """The first attribute whose local name equals ``name`` ignoring case, or ""."""
    return next((value for key, value in attrs if key.lower() == name), "")


def go_fields(text: str) -> list[str]:
    """strings.Fields. Python's split() also splits at U+001C..U+001F, which Go does
    not, but those never reach here: the tokenizer refuses them in attribute values."""
    return text.split()


# --- net/url.Parse, the errors validateRepoRoot can report ----------------------


def _repo_root_problem(root: str) -> str:
    """Why go's validateRepoRoot refuses ``root``, or "" if it accepts it."""
    rest_with_frag, _, _ = root.partition("#")
    problem = _url_parse_problem(rest_with_frag)
    if problem:
        return f"parse {go_quote(rest_with_frag)}: {problem}"
    scheme = _url_scheme(rest_with_frag)
    if not scheme:
        return "no scheme"
    if scheme.lower() == "file":
        return "file scheme disallowed"
    return ""


def _url_scheme(raw: str) -> str:
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", raw)
    return match.group(1) if match else ""


def _url_parse_problem(raw: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "net/url: invalid control character in URL"
    if raw.startswith(":"):
        return "missing protocol scheme"
    scheme = _url_scheme(raw)
    rest = raw[len(scheme) + 1 :] if scheme else raw
    rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        if scheme:
            return ""  # opaque
        if ":" in rest.partition("/")[0]:
            return "first path segment in URL cannot contain colon"
    path = rest
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, tail = rest[2:].partition("/")
        path = slash + tail
        problem = _host_problem(authority.rpartition("@")[2])
        if problem:
            return problem
    bad = re.search(r"%(?![0-9A-Fa-f]{2})", path)
    if bad:
        return f"invalid URL escape {go_quote(path[bad.start() : bad.start() + 3])}"
    return ""


def _host_problem(host: str) -> str:
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0:
            return "missing ']' in host"
        port = host[close + 1 :]
    elif "[" in host:
        return "invalid IP-literal"
    else:
        port = host[host.find(":") :] if ":" in host else ""
    if port and not re.fullmatch(r":[0-9]*", port):
        return f"invalid port {go_quote(port)} after host"
    return ""
