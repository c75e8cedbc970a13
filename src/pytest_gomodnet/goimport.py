"""go-import discovery: the page a ``?go-get=1`` host serves, and how the go command reads it.

When a module path matches no GOPROXY entry (``GOPROXY=direct``, ``GOPRIVATE``),
the go command fetches ``https://<import path>?go-get=1`` and looks for
``<meta name="go-import" content="prefix vcs repo-root [subdir]">``. Real servers
get this page wrong in a handful of ways (FAILURES.md 15-18), and downloaders
that are not the go command read it differently from go. This module has both
sides:

* a **reader** that agrees with go 1.27 byte for byte: :func:`parse_go_imports`
  (``parseMetaGoImports``: encoding/xml in non-strict mode, ``RawToken`` loop),
  :func:`match_go_import` (``matchGoImport``), :func:`check_meta_import` (the
  subdirectory, repo-root and vcs checks) and :func:`resolve_go_import`, which
  chains them like ``repoRootForImportDynamic`` and raises the exact text go
  prints after ``unrecognized import path "…": ``;
* a **host**, :class:`GoImportHost`, that serves good pages and each broken
  variant, either behind the shared Origin (:meth:`GoImportHost.handle`) or on
  its own loopback server (use it as a context manager).

Python has no XML tokenizer that is lenient in Go's way, so ``_Decoder`` below
re-implements the part of ``encoding/xml.Decoder`` that ``RawToken`` uses with
``Strict=false`` and no entity map (go sets neither ``AutoClose`` nor ``Entity``
here): what starts a tag, unquoted and missing attribute values, the five XML
entities and character references, comments, CDATA, directives, processing
instructions with the XML declaration's version and charset checks, UTF-8 and
character-range checks on text and attribute values, and the line numbers of
its syntax errors.
"""

from __future__ import annotations

import html
import re
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal, get_args
from urllib.parse import quote, urljoin, urlsplit

from werkzeug import Request, Response

from ._gotext import go_quote, in_ranges
from .errors import GoImportError, InvalidPathError, ServerError
from .modules import check_import_path
from .origin import HandlerServer, host_without_port
from .origin import text_response as _text

__all__ = [
    "DOCUMENT_VARIANTS",
    "KNOWN_VCS",
    "LOGIN_PATH",
    "VARIANTS",
    "Fetch",
    "GoGetPage",
    "GoImportHost",
    "GoImportRequest",
    "MetaImport",
    "Variant",
    "check_meta_import",
    "go_get_page",
    "go_get_url",
    "match_go_import",
    "parse_go_imports",
    "resolve_go_import",
]

#: How a host answers for one prefix. ``good`` is the page the go command wants;
#: the others are the mistakes real servers make (see docs/goimport.md).
Variant = Literal[
    "good",
    "no-meta",
    "wrong-prefix",
    "two-tags",
    "meta-after-body",
    "truncated",
    "login-page",
    "redirect-same-host",
    "redirect-other-host",
    "redirect-http",
    "not-found-with-tag",
    "unauthorized",
    "prefix-is-request-path",
]
VARIANTS: tuple[Variant, ...] = get_args(Variant)

#: The version control systems go 1.27 knows (vcs.go ``vcsList``), plus ``mod``.
KNOWN_VCS = ("mod", "hg", "git", "svn", "fossil")

#: Where every host serves its login page (the redirect variants point here).
LOGIN_PATH = "/-/login"


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
        if not _has_path_prefix(import_path, candidate.prefix):
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
        reason = self.reason if self.reason is not None else _reason(self.status)
        message = f"reading {self.url}: {self.status} {reason}"
        detail = _error_detail(self.body, self.content_type)
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


def _has_path_prefix(path: str, prefix: str) -> bool:
    """str.HasPathPrefix: ``prefix`` is ``path`` or a ``/``-boundary prefix of it."""
    if not path.startswith(prefix):
        return False
    return len(path) == len(prefix) or prefix.endswith("/") or path[len(prefix)] == "/"


def _scan_go_imports(document: bytes, *, cut: bool = False) -> list[MetaImport]:
    """Every 3- or 4-field go-import tag before the body, in document order."""
    decoder = _Decoder(document, cut=cut)
    found: list[MetaImport] = []
    while True:
        token = decoder.raw_token()
        if token is None:
            if decoder.err != _IO_EOF and not found:
                raise GoImportError(decoder.err)
            return found
        kind, name, attrs = token
        if kind == "start" and name.lower() == "body":
            return found
        if kind == "end" and name.lower() == "head":
            return found
        if kind != "start" or name.lower() != "meta" or _attr(attrs, "name") != "go-import":
            continue
        fields = _go_fields(_attr(attrs, "content"))
        if len(fields) in (3, 4):
            found.append(MetaImport(*fields))


def _attr(attrs: list[tuple[str, str]], name: str) -> str:
    """The first attribute whose local name equals ``name`` ignoring case, or ""."""
    return next((value for key, value in attrs if key.lower() == name), "")


def _go_fields(text: str) -> list[str]:
    """strings.Fields. Python's split() also splits at U+001C..U+001F, which Go does
    not, but those never reach here: the tokenizer refuses them in attribute values."""
    return text.split()


# --- encoding/xml, the part RawToken uses with Strict=false --------------------

_IO_EOF = "EOF"  # io.EOF: a clean end of the body
_UNEXPECTED_EOF = "unexpected EOF"  # io.ErrUnexpectedEOF: the transport cut the body

_Token = tuple[Literal["start", "end", "other"], str, list[tuple[str, str]]]
_OTHER: _Token = ("other", "", [])

_ENTITIES = {b"lt": b"<", b"gt": b">", b"amp": b"&", b"apos": b"'", b"quot": b'"'}
_ATTR_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-")
_NAME_BYTES = _ATTR_BYTES | {ord(".")}
_SPACE_BYTES = frozenset(b" \r\n\t")


class _Decoder:
    """A byte-for-byte port of encoding/xml's RawToken behaviour (Strict=false).

    Errors are sticky, as in Go: once ``err`` is set every call returns None.
    ``err`` holds go's error text, or ``_IO_EOF`` at a clean end.
    """

    def __init__(self, data: bytes, *, cut: bool) -> None:
        self._data = data
        self._pos = 0
        self._cut = cut
        self._to_close: str | None = None
        self.line = 1
        self.err: str | None = None

    # byte level

    def _getc(self) -> int | None:
        if self.err is not None:
            return None
        if self._pos >= len(self._data):
            self.err = _UNEXPECTED_EOF if self._cut else _IO_EOF
            return None
        b = self._data[self._pos]
        self._pos += 1
        if b == 0x0A:
            self.line += 1
        return b

    def _mustgetc(self) -> int | None:
        b = self._getc()
        if b is None and self.err == _IO_EOF:
            self.err = self._syntax("unexpected EOF")
        return b

    def _ungetc(self, b: int) -> None:
        self._pos -= 1
        if b == 0x0A:
            self.line -= 1

    def _syntax(self, message: str) -> str:
        return f"XML syntax error on line {self.line}: {message}"

    def _fail(self, message: str) -> None:
        """Set a syntax error unless a read error is already there."""
        if self.err is None:
            self.err = self._syntax(message)

    def _space(self) -> None:
        while (b := self._getc()) is not None:
            if b not in _SPACE_BYTES:
                self._ungetc(b)
                return

    # tokens

    def raw_token(self) -> _Token | None:
        """The next token, or None with ``err`` set."""
        if self.err is not None:
            return None
        if self._to_close is not None:
            name, self._to_close = self._to_close, None
            return ("end", name, [])
        b = self._getc()
        if b is None:
            return None
        if b != ord("<"):
            self._ungetc(b)
            return None if self._text(-1, cdata=False) is None else _OTHER
        b = self._mustgetc()
        if b == ord("/"):
            return self._end_tag()
        if b == ord("?"):
            return self._proc_inst()
        if b == ord("!"):
            return self._bang()
        if b is None:
            return None
        self._ungetc(b)
        return self._start_tag()

    def _end_tag(self) -> _Token | None:
        name = self._nsname()
        if name is None:
            self._fail("expected element name after </")
            return None
        self._space()
        b = self._mustgetc()
        if b is None:
            return None
        if b != ord(">"):
            self.err = self._syntax(f"invalid characters between </{name} and >")
            return None
        return ("end", name, [])

    def _proc_inst(self) -> _Token | None:
        target = self._name()
        if target is None:
            self._fail("expected target name after <?")
            return None
        self._space()
        body = bytearray()
        previous = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            body.append(b)
            if previous == ord("?") and b == ord(">"):
                break
            previous = b
        if target == b"xml":
            self._xml_declaration(bytes(body[:-2]))
        return None if self.err is not None else _OTHER

    def _xml_declaration(self, content: bytes) -> None:
        version = _proc_inst_param(b"version", content)
        if version and version != b"1.0":
            self.err = (
                f"xml: unsupported version {go_quote(version)}; only version 1.0 is supported"
            )
            return
        encoding = _proc_inst_param(b"encoding", content)
        if encoding and _go_lower(encoding) not in (b"utf-8", b"ascii"):
            # go's charsetReader passes utf-8 and ascii through and refuses the rest.
            quoted = go_quote(encoding)
            self.err = (
                f"xml: opening charset {quoted}: can't decode XML document using charset {quoted}"
            )

    def _bang(self) -> _Token | None:
        b = self._mustgetc()
        if b is None:
            return None
        if b == ord("-"):
            return self._comment()
        if b == ord("["):
            for want in b"CDATA[":
                b = self._mustgetc()
                if b is None:
                    return None
                if b != want:
                    self.err = self._syntax("invalid <![ sequence")
                    return None
            return None if self._text(-1, cdata=True) is None else _OTHER
        return self._directive()  # b is the directive's first byte: nobody reads the text

    def _comment(self) -> _Token | None:
        if self._mustgetc() != ord("-"):
            self._fail("invalid sequence <!- not part of <!--")
            return None
        b0 = b1 = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b0 == b1 == ord("-"):
                if b != ord(">"):
                    self.err = self._syntax('invalid sequence "--" not allowed in comments')
                    return None
                return _OTHER
            b0, b1 = b1, b

    def _directive(self) -> _Token | None:
        """``<!DOCTYPE …>`` and friends: quotes and nested ``<…>`` and comments are skipped."""
        in_quote = 0
        depth = 0
        while True:
            b: int | None = self._mustgetc()
            if b is None:
                return None
            if in_quote == 0 and b == ord(">") and depth == 0:
                return _OTHER
            while True:  # go's "HandleB" label: a byte may be looked at twice
                if b == in_quote:
                    in_quote = 0
                elif in_quote:
                    pass
                elif b in (ord("'"), ord('"')):
                    in_quote = b
                elif b == ord(">"):
                    depth -= 1
                elif b == ord("<"):
                    b = self._directive_comment()
                    if self.err is not None:
                        return None
                    if b is not None:
                        depth += 1
                        continue
                break

    def _directive_comment(self) -> int | None:
        """After ``<`` in a directive: skip a ``<!--…-->``, or return the byte that broke it."""
        for want in b"!--":
            b = self._mustgetc()
            if b is None:
                return None
            if b != want:
                return b
        b0 = b1 = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b0 == b1 == ord("-") and b == ord(">"):
                return None
            b0, b1 = b1, b

    def _start_tag(self) -> _Token | None:
        name = self._nsname()
        if name is None:
            self._fail("expected element name after <")
            return None
        attrs: list[tuple[str, str]] = []
        while True:
            self._space()
            b = self._mustgetc()
            if b is None:
                return None
            if b == ord("/"):
                b = self._mustgetc()
                if b is None:
                    return None
                if b != ord(">"):
                    self.err = self._syntax("expected /> in element")
                    return None
                self._to_close = name
                return ("start", name, attrs)
            if b == ord(">"):
                return ("start", name, attrs)
            self._ungetc(b)
            attr = self._attribute()
            if attr is None:
                return None
            attrs.append(attr)

    def _attribute(self) -> tuple[str, str] | None:
        name = self._nsname()
        if name is None:
            self._fail("expected attribute name in element")
            return None
        self._space()
        b = self._mustgetc()
        if b is None:
            return None
        if b != ord("="):
            self._ungetc(b)  # non-strict: <option selected> means selected="selected"
            return (name, name)
        self._space()
        value = self._attr_value()
        return None if value is None else (name, value.decode("utf-8"))

    def _attr_value(self) -> bytes | None:
        b = self._mustgetc()
        if b is None:
            return None
        if b in (ord('"'), ord("'")):
            return self._text(b, cdata=False)
        self._ungetc(b)  # non-strict: an unquoted value is [A-Za-z0-9_:-]*
        value = bytearray()
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b not in _ATTR_BYTES:
                self._ungetc(b)
                return bytes(value)
            value.append(b)

    # names

    def _read_name(self, into: bytearray) -> bool:
        """Append a run of name bytes (any byte >= 0x80 counts) to ``into``."""
        b = self._mustgetc()
        if b is None:
            return False
        if b < 0x80 and b not in _NAME_BYTES:
            self._ungetc(b)
            return False
        into.append(b)
        while True:
            b = self._mustgetc()
            if b is None:
                return False
            if b < 0x80 and b not in _NAME_BYTES:
                self._ungetc(b)
                return True
            into.append(b)

    def _name(self) -> bytes | None:
        raw = bytearray()
        if not self._read_name(raw):
            return None
        if not _is_xml_name(bytes(raw)):
            self.err = self._syntax("invalid XML name: " + raw.decode("utf-8", "surrogateescape"))
            return None
        return bytes(raw)

    def _nsname(self) -> str | None:
        """The local part of ``space:local``; None (no error set) for two colons."""
        raw = self._name()
        if raw is None:
            return None
        name = raw.decode("utf-8")
        if name.count(":") > 1:
            return None
        space, colon, local = name.partition(":")
        return local if colon and space and local else name

    # character data

    def _text(self, quote: int, *, cdata: bool) -> bytes | None:
        """Text up to ``<`` (quote < 0), up to ``quote``, or up to ``]]>`` (cdata)."""
        out = bytearray()
        b0 = b1 = 0
        trunc = 0
        while True:
            b = self._getc()
            if b is None:
                if cdata:
                    if self.err == _IO_EOF:
                        self.err = self._syntax("unexpected EOF in CDATA section")
                    return None
                break
            if quote < 0 and b0 == b1 == ord("]") and b == ord(">"):
                if cdata:
                    trunc = 2
                    break
                self.err = self._syntax("unescaped ]]> not in CDATA section")
                return None
            if b == ord("<") and not cdata:
                if quote >= 0:
                    self.err = self._syntax("unescaped < inside quoted string")
                    return None
                self._ungetc(b)
                break
            if quote >= 0 and b == quote:
                break
            if b == ord("&") and not cdata:
                if not self._entity(out):
                    return None
                b0 = b1 = 0
                continue
            if b == ord("\r"):
                out.append(ord("\n"))
            elif not (b1 == ord("\r") and b == ord("\n")):
                out.append(b)
            b0, b1 = b1, b
        data = bytes(out[: len(out) - trunc])
        problem = _text_problem(data)
        if problem:
            self.err = self._syntax(problem)
            return None
        return data

    def _entity(self, out: bytearray) -> bool:
        """After ``&``: append the replacement, or the raw text (non-strict). False on error."""
        before = len(out)
        out.append(ord("&"))
        b = self._mustgetc()
        if b is None:
            return False
        replacement: bytes | None = None
        if b == ord("#"):
            out.append(b)
            b = self._mustgetc()
            if b is None:
                return False
            base, digits = 10, b"0123456789"
            if b == ord("x"):
                base, digits = 16, b"0123456789abcdefABCDEF"
                out.append(b)
                b = self._mustgetc()
                if b is None:
                    return False
            start = len(out)
            while b in digits:
                out.append(b)
                b = self._mustgetc()
                if b is None:
                    return False
            if b != ord(";"):
                self._ungetc(b)
            else:
                number = bytes(out[start:])
                out.append(b)
                replacement = _char_ref(number, base)
        else:
            self._ungetc(b)
            if not self._read_name(out) and self.err is not None:
                return False
            b = self._mustgetc()
            if b is None:
                return False
            if b != ord(";"):
                self._ungetc(b)
            else:
                name = bytes(out[before + 1 :])
                out.append(b)
                if _is_xml_name(name):
                    replacement = _ENTITIES.get(name)
        if replacement is not None:
            del out[before:]
            out += replacement
        return True


def _char_ref(number: bytes, base: int) -> bytes | None:
    """``&#N;`` / ``&#xN;``: the character, or None when go keeps the text as is."""
    if not number:
        return None
    value = int(number, base)
    if value >= 2**64 or value > 0x10FFFF:
        return None
    if 0xD800 <= value <= 0xDFFF:
        value = 0xFFFD  # Go's string(rune(surrogate))
    return chr(value).encode("utf-8")


def _text_problem(data: bytes) -> str:
    """go's check of character data: invalid UTF-8 or a character outside XML's range."""
    try:
        text, invalid = data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        text, invalid = data[: exc.start].decode("utf-8"), True
    for char in text:
        if not _in_character_range(ord(char)):
            return f"illegal character code U+{ord(char):04X}"
    return "invalid UTF-8" if invalid else ""


def _in_character_range(r: int) -> bool:
    return (
        r in (0x09, 0x0A, 0x0D)
        or 0x20 <= r <= 0xD7FF
        or 0xE000 <= r <= 0xFFFD
        or 0x10000 <= r <= 0x10FFFF
    )


def _proc_inst_param(param: bytes, content: bytes) -> bytes:
    """encoding/xml's procInst: the quoted value after the first ``param=`` that has one."""
    key = param + b"="
    i = 0
    quote = 0
    while i < len(content):
        sub = content[i:]
        k = sub.find(key)
        if k < 0 or len(key) + k >= len(sub):
            return b""
        i += len(key) + k + 1
        if sub[len(key) + k] in b"'\"":
            quote = sub[len(key) + k]
            break
    if not quote:
        return b""
    end = content.find(bytes([quote]), i)
    return b"" if end < 0 else content[i:end]


def _go_lower(value: bytes) -> bytes:
    """strings.ToLower, close enough for comparing with "utf-8" and "ascii"."""
    text = value.decode("utf-8", "surrogateescape")
    return "".join("i" if c == "\u0130" else c.lower() for c in text).encode(
        "utf-8", "surrogateescape"
    )


# XML 1.0 Appendix B, as encoding/xml's ``first`` and ``second`` tables hold it
# (non-ASCII part; measured from go 1.27 by decoding every rune in a name).
_NAME_START_RANGES = (
    "c0-d6 d8-f6 f8-131 134-13e 141-148 14a-17e 180-1c3 1cd-1f0 1f4-1f5 1fa-217 250-2a8 "
    "2bb-2c1 386 388-38a 38c 38e-3a1 3a3-3ce 3d0-3d6 3da 3dc 3de 3e0 3e2-3f3 401-40c 40e-44f "
    "451-45c 45e-481 490-4c4 4c7-4c8 4cb-4cc 4d0-4eb 4ee-4f5 4f8-4f9 531-556 559 561-586 "
    "5d0-5ea 5f0-5f2 621-63a 641-64a 671-6b7 6ba-6be 6c0-6ce 6d0-6d3 6d5 6e5-6e6 905-939 93d "
    "958-961 985-98c 98f-990 993-9a8 9aa-9b0 9b2 9b6-9b9 9dc-9dd 9df-9e1 9f0-9f1 a05-a0a "
    "a0f-a10 a13-a28 a2a-a30 a32-a33 a35-a36 a38-a39 a59-a5c a5e a72-a74 a85-a8b a8d a8f-a91 "
    "a93-aa8 aaa-ab0 ab2-ab3 ab5-ab9 abd ae0 b05-b0c b0f-b10 b13-b28 b2a-b30 b32-b33 b36-b39 "
    "b3d b5c-b5d b5f-b61 b85-b8a b8e-b90 b92-b95 b99-b9a b9c b9e-b9f ba3-ba4 ba8-baa bae-bb5 "
    "bb7-bb9 c05-c0c c0e-c10 c12-c28 c2a-c33 c35-c39 c60-c61 c85-c8c c8e-c90 c92-ca8 caa-cb3 "
    "cb5-cb9 cde ce0-ce1 d05-d0c d0e-d10 d12-d28 d2a-d39 d60-d61 e01-e2e e30 e32-e33 e40-e45 "
    "e81-e82 e84 e87-e88 e8a e8d e94-e97 e99-e9f ea1-ea3 ea5 ea7 eaa-eab ead-eae eb0 eb2-eb3 "
    "ebd ec0-ec4 f40-f47 f49-f69 10a0-10c5 10d0-10f6 1100 1102-1103 1105-1107 1109 110b-110c "
    "110e-1112 113c 113e 1140 114c 114e 1150 1154-1155 1159 115f-1161 1163 1165 1167 1169 "
    "116d-116e 1172-1173 1175 119e 11a8 11ab 11ae-11af 11b7-11b8 11ba 11bc-11c2 11eb 11f0 "
    "11f9 1e00-1e9b 1ea0-1ef9 1f00-1f15 1f18-1f1d 1f20-1f45 1f48-1f4d 1f50-1f57 1f59 1f5b "
    "1f5d 1f5f-1f7d 1f80-1fb4 1fb6-1fbc 1fbe 1fc2-1fc4 1fc6-1fcc 1fd0-1fd3 1fd6-1fdb "
    "1fe0-1fec 1ff2-1ff4 1ff6-1ffc 2126 212a-212b 212e 2180-2182 3007 3021-3029 3041-3094 "
    "30a1-30fa 3105-312c 4e00-9fa5 ac00-d7a3 "
)
_NAME_MORE_RANGES = (
    "b7 2d0-2d1 300-345 360-361 387 483-486 591-5a1 5a3-5b9 5bb-5bd 5bf 5c1-5c2 5c4 640 "
    "64b-652 660-669 670 6d6-6e4 6e7-6e8 6ea-6ed 6f0-6f9 901-903 93c 93e-94d 951-954 962-963 "
    "966-96f 981-983 9bc 9be-9c4 9c7-9c8 9cb-9cd 9d7 9e2-9e3 9e6-9ef a02 a3c a3e-a42 a47-a48 "
    "a4b-a4d a66-a71 a81-a83 abc abe-ac5 ac7-ac9 acb-acd ae6-aef b01-b03 b3c b3e-b43 b47-b48 "
    "b4b-b4d b56-b57 b66-b6f b82-b83 bbe-bc2 bc6-bc8 bca-bcd bd7 be7-bef c01-c03 c3e-c44 "
    "c46-c48 c4a-c4d c55-c56 c66-c6f c82-c83 cbe-cc4 cc6-cc8 cca-ccd cd5-cd6 ce6-cef d02-d03 "
    "d3e-d43 d46-d48 d4a-d4d d57 d66-d6f e31 e34-e3a e46-e4e e50-e59 eb1 eb4-eb9 ebb-ebc ec6 "
    "ec8-ecd ed0-ed9 f18-f19 f20-f29 f35 f37 f39 f3e-f3f f71-f84 f86-f8b f90-f95 f97 f99-fad "
    "fb1-fb7 fb9 20d0-20dc 20e1 3005 302a-302f 3031-3035 3099-309a 309d-309e 30fc-30fe "
)


def _is_name_start(char: str) -> bool:
    code = ord(char)
    if code < 0x80:
        return char.isalpha() or char in "_:"
    return in_ranges(code, _NAME_START_RANGES)


def _is_name_char(char: str) -> bool:
    code = ord(char)
    if code < 0x80:
        return char.isalnum() or char in "_:.-"
    return _is_name_start(char) or in_ranges(code, _NAME_MORE_RANGES)


def _is_xml_name(raw: bytes) -> bool:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(name) and _is_name_start(name[0]) and all(_is_name_char(c) for c in name[1:])


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


# --- error details and HTTP reasons, as go shows them ----------------------------


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "status code " + str(status)


def _error_detail(body: bytes, content_type: str) -> str:
    """web.Response.formatErrorDetail: the first lines of a text/plain error body."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "text/plain":
        return ""
    charset = re.search(r"charset=\"?([^\";]*)", params, re.IGNORECASE)
    if charset and charset.group(1).strip().lower() not in ("us-ascii", "utf-8", ""):
        return ""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if any(not (c.isprintable() or c.isspace()) for c in text):
        return ""
    lines: list[str] = []
    size = 0
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            break
        if i >= 8:
            lines.append("[Truncated: too many lines.]")
            break
        if size + len(line) > 8 * 81:
            lines.append("[Truncated: too long.]")
            break
        lines.append(line)
        size += len(line) + (2 if i else 0)
    return "\n\t".join(lines)


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
            if value is not None and _go_fields(value) != [value]:
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
            covering = [p for p in self._entries if _has_path_prefix(import_path, p)]
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


def _variant_response(entry: _Entry, import_path: str, request_target: str) -> Response:
    if entry.document is not None:
        response = Response(entry.document.body, content_type=entry.document.content_type)
        response.status = f"{entry.document.status} {_reason(entry.document.status)}"
        return response
    host = import_path.partition("/")[0]
    back = quote(request_target, safe="")
    variant = entry.variant
    if variant == "redirect-same-host":
        return _redirect(f"{LOGIN_PATH}?redirect_to={back}")
    if variant == "redirect-other-host":
        return _redirect(f"https://login.{host}{LOGIN_PATH}?redirect_to={back}")
    if variant == "redirect-http":
        return _redirect(f"http://{host}{request_target}")
    if variant == "unauthorized":
        return _text("Unauthorized\n", 401)
    if variant == "login-page":
        return _html(_LOGIN_PAGE, 200)
    status = 404 if variant == "not-found-with-tag" else 200
    return _html(_document(entry, import_path), status)


#: The variants whose mistake is in the page itself (the others are HTTP behaviour).
DOCUMENT_VARIANTS: tuple[Variant, ...] = (
    "good",
    "no-meta",
    "wrong-prefix",
    "two-tags",
    "meta-after-body",
    "truncated",
    "prefix-is-request-path",
)


def go_get_page(meta: MetaImport, import_path: str, *, variant: Variant = "good") -> bytes:
    """The page a GoImportHost serves for ``import_path`` under ``meta`` with ``variant``."""
    if variant not in DOCUMENT_VARIANTS:
        raise GoImportError(
            f"variant {variant!r} is not a page: expected one of {DOCUMENT_VARIANTS}"
        )
    return _document(_Entry(meta, variant), import_path)


def _document(entry: _Entry, import_path: str) -> bytes:
    """The HTML page for ``import_path``, with the variant's mistake in it."""
    meta, variant = entry.meta, entry.variant
    if variant == "prefix-is-request-path":  # gitea#2577: a subdirectory claims to be a root
        rest = import_path[len(meta.prefix) :]
        repo = meta.repo_root if meta.vcs == "mod" else meta.repo_root + rest
        meta = MetaImport(import_path, meta.vcs, repo, meta.subdir)
    tags = [_meta_tag("go-import", meta.content), _meta_tag("go-source", _go_source(meta))]
    if variant == "no-meta":
        tags = []
    elif variant == "wrong-prefix":  # golang/go#16467: the tag names another host
        wrong = MetaImport("www." + meta.prefix, meta.vcs, meta.repo_root, meta.subdir)
        tags = [_meta_tag("go-import", wrong.content)]
    elif variant == "two-tags":
        mirror = MetaImport(meta.prefix, meta.vcs, meta.repo_root + "/mirror", meta.subdir)
        tags.insert(1, _meta_tag("go-import", mirror.content))
    head_tags, body_tags = ([], tags) if variant == "meta-after-body" else (tags, [])
    title = html.escape(meta.prefix)
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            "<html>",
            "<head>",
            '<meta charset="utf-8">',
            *head_tags,
            f"<title>{title}</title>",
            "</head>",
            "<body>",
            *body_tags,
            f"go get {title}",
            "</body>",
            "</html>",
            "",
        ]
    ).encode()
    if variant == "truncated":  # cut inside the tag, after the prefix
        content = page.index(b"content=", page.index(b'name="go-import"'))
        return page[: page.index(b" ", content) + 1]
    return page


def _meta_tag(name: str, content: str) -> str:
    return f'<meta name="{name}" content="{html.escape(content)}">'


def _go_source(meta: MetaImport) -> str:
    """go-source (read by doc sites, never by go): prefix, home, directory and file URLs."""
    home = meta.repo_root
    return (
        f"{meta.prefix} {home} {home}/tree/main{{/dir}} {home}/blob/main{{/dir}}/{{file}}#L{{line}}"
    )


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
    response.status = f"{status} {_reason(status)}"
    return response
