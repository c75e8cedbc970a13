"""The go-import reader agrees with the go command; the host serves every variant.

Expected texts come from GO-PROTOCOL.md section 3 (each seen from go 1.27.3),
from encoding/xml's source, and from a differential run of the tokenizer
against encoding/xml itself (see docs/goimport.md). tests/test_goimport_go.py
proves the host's variants with the real go command.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

from pytest_gomodnet._gotext import go_quote
from pytest_gomodnet.errors import GoImportError, InvalidPathError, ServerError
from pytest_gomodnet.goimport import (
    VARIANTS,
    GoGetPage,
    GoImportHost,
    GoImportRequest,
    MetaImport,
    check_meta_import,
    go_get_url,
    match_go_import,
    parse_go_imports,
    resolve_go_import,
)

GOOD = b'<meta name="go-import" content="127.0.0.1/good/m mod http://127.0.0.1:18080/ok">'
GOOD_TAG = MetaImport("127.0.0.1/good/m", "mod", "http://127.0.0.1:18080/ok")


@contextmanager
def raises_go_error(message: str) -> Iterator[None]:
    """The block raises GoImportError with exactly ``message``."""
    with pytest.raises(GoImportError) as caught:
        yield
    assert str(caught.value) == message


def _html(head: str, body: str = "") -> bytes:
    return f"<!DOCTYPE html>\n<html><head>\n{head}\n</head><body>{body}</body></html>\n".encode()


# --- parse_go_imports: what counts as a tag -------------------------------------

PARSED = {
    "plain": (GOOD, [GOOD_TAG]),
    "upper case html, no head": (
        b'<HTML><META NAME="go-import" CONTENT="a.test/m git https://r.test/m"></HTML>',
        [MetaImport("a.test/m", "git", "https://r.test/m")],
    ),
    "name value is case-sensitive": (
        b'<meta name="Go-Import" content="a.test/m git https://r">',
        [],
    ),
    "five fields are skipped": (
        b'<meta name="go-import" content="a.test/m git https://r d e">',
        [],
    ),
    "two fields are skipped": (b'<meta name="go-import" content="a.test/m git">', []),
    "four fields: subdirectory": (
        b'<meta name="go-import" content="a.test/m git https://r.test sub/dir">',
        [MetaImport("a.test/m", "git", "https://r.test", "sub/dir")],
    ),
    "fields split on any white space": (
        b'<meta name="go-import" content="\n\ta.test/m \r\n git\thttps://r  ">',
        [MetaImport("a.test/m", "git", "https://r")],
    ),
    "tag after <body> is not read": (_html("", GOOD.decode()), []),
    "tag after </head> is not read": (b"<head></head>" + GOOD, []),
    "</HEAD > ends reading too": (b"<head></HEAD >" + GOOD, []),
    "<body/> ends reading": (b"<body/>" + GOOD, []),
    "tag in a comment is not read": (b"<!-- " + GOOD + b" -->", []),
    "tag in CDATA is not read": (b"<![CDATA[" + GOOD + b"]]>", []),
    "self-closing tag": (
        b"<meta name='go-import' content='a.test/m mod https://p.test'/>",
        [MetaImport("a.test/m", "mod", "https://p.test")],
    ),
    "unquoted name value": (
        b'<meta name=go-import content="a.test/m mod https://p.test">',
        [MetaImport("a.test/m", "mod", "https://p.test")],
    ),
    "attribute order does not matter": (
        b'<meta content="a.test/m mod https://p.test" name="go-import">',
        [MetaImport("a.test/m", "mod", "https://p.test")],
    ),
    "the first name attribute wins": (
        b'<meta name="x" name="go-import" content="a.test/m mod https://p.test">',
        [],
    ),
    "a namespace prefix is ignored": (
        b'<html:meta xml:name="go-import" content="a.test/m mod https://p.test">',
        [MetaImport("a.test/m", "mod", "https://p.test")],
    ),
    "entities and character references are decoded": (
        b'<meta name="go&#45;import" content="a.test/m mod https://p.test/?a=1&amp;b=2">',
        [MetaImport("a.test/m", "mod", "https://p.test/?a=1&b=2")],
    ),
    "unknown entities stay as they are": (
        b'<meta name="go-import" content="a.test/m mod https://p.test/&nbsp;">',
        [MetaImport("a.test/m", "mod", "https://p.test/&nbsp;")],
    ),
    "an attribute without value is its own name": (
        b'<meta go-import name content="a.test/m mod https://p.test">',
        [],
    ),
    "xml declaration utf-8 and ascii are fine": (
        b'<?xml version="1.0" encoding="ASCII"?>' + GOOD,
        [GOOD_TAG],
    ),
    "doctype with an internal subset": (
        b"<!DOCTYPE x [<!ENTITY a 'b>'> <!-- > --> ]>" + GOOD,
        [GOOD_TAG],
    ),
}


@pytest.mark.parametrize(("document", "expected"), PARSED.values(), ids=PARSED.keys())
def test_parse_go_imports(document: bytes, expected: list[MetaImport]) -> None:
    assert parse_go_imports(document) == expected


def test_module_mode_puts_mod_first_and_hides_vcs_tags_with_the_same_prefix() -> None:
    document = (
        b'<meta name="go-import" content="a.test/m git https://g.test/m">'
        b'<meta name="go-import" content="a.test/x git https://g.test/x">'
        b'<meta name="go-import" content="a.test/m mod https://p.test">'
    )
    assert parse_go_imports(document) == [
        MetaImport("a.test/m", "mod", "https://p.test"),
        MetaImport("a.test/x", "git", "https://g.test/x"),
    ]
    assert parse_go_imports(document, mod_mode=False) == [
        MetaImport("a.test/m", "git", "https://g.test/m"),
        MetaImport("a.test/x", "git", "https://g.test/x"),
    ]


# --- parse_go_imports: token errors, with go's texts ------------------------------

ERRORS = {
    "empty-ish: cut inside the first tag": (
        b'<html><meta name="go-import" content="127.0.0.1/truncbefore/m mod',
        False,
        "XML syntax error on line 1: unexpected EOF",
    ),
    "transport cut before any tag": (
        b'<html><meta name="go-import" con',
        True,
        "unexpected EOF",
    ),
    "transport cut in text before any tag": (b"<html><head>\n<title>x", True, "unexpected EOF"),
    "latin-1 declaration": (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + GOOD,
        False,
        'xml: opening charset "ISO-8859-1": can\'t decode XML document using charset "ISO-8859-1"',
    ),
    "xml 1.1": (
        b"<?xml version='1.1'?>" + GOOD,
        False,
        'xml: unsupported version "1.1"; only version 1.0 is supported',
    ),
    "a < in a script before the tag": (
        b"<head>\n<script>if (a < b) {}</script>\n" + GOOD,
        False,
        "XML syntax error on line 2: expected element name after <",
    ),
    "a < inside a quoted value": (
        b'<meta name="go-import" content="a <b c">',
        False,
        "XML syntax error on line 1: unescaped < inside quoted string",
    ),
    "unquoted value with a dot": (
        b"<meta name=go-import content=a.test/m>",
        False,
        "XML syntax error on line 1: invalid XML name: .test",
    ),
    "-- inside a comment": (
        b"<!-- a -- b -->" + GOOD,
        False,
        'XML syntax error on line 1: invalid sequence "--" not allowed in comments',
    ),
    "]]> in text": (
        b"<p>]]></p>" + GOOD,
        False,
        "XML syntax error on line 1: unescaped ]]> not in CDATA section",
    ),
    "latin-1 byte in text": (
        "<title>caf\u00e9</title>\n".encode("latin-1") + GOOD,
        False,
        "XML syntax error on line 1: invalid UTF-8",
    ),
    "form feed in text": (
        b"<p>\x0c</p>",
        False,
        "XML syntax error on line 1: illegal character code U+000C",
    ),
    "&#0; in a value": (
        b'<meta name="go-import" content="a&#0;">',
        False,
        "XML syntax error on line 1: illegal character code U+0000",
    ),
    "bad end tag": (
        b"<head>\n\n</head x>",
        False,
        "XML syntax error on line 3: invalid characters between </head and >",
    ),
    "/ without >": (b"<meta / >", False, "XML syntax error on line 1: expected /> in element"),
    "name starting with a digit": (
        b"<1meta>",
        False,
        "XML syntax error on line 1: invalid XML name: 1meta",
    ),
    "two colons in a name": (
        b"<a:b:c>",
        False,
        "XML syntax error on line 1: expected element name after <",
    ),
    "unclosed CDATA": (
        b"<![CDATA[x",
        False,
        "XML syntax error on line 1: unexpected EOF in CDATA section",
    ),
    "bad <![": (b"<![CDTA[x]]>", False, "XML syntax error on line 1: invalid <![ sequence"),
    "bad <!-": (
        b"<!-x>",
        False,
        "XML syntax error on line 1: invalid sequence <!- not part of <!--",
    ),
    "<? without target": (
        b"<? x ?>",
        False,
        "XML syntax error on line 1: expected target name after <?",
    ),
}


@pytest.mark.parametrize(("document", "cut", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_token_errors_before_any_tag_are_go_errors(
    document: bytes, cut: bool, message: str
) -> None:
    with pytest.raises(GoImportError) as caught:
        parse_go_imports(document, cut=cut)
    assert str(caught.value) == message


@pytest.mark.parametrize("cut", [False, True], ids=["clean end", "transport cut"])
def test_token_errors_after_a_tag_end_reading_quietly(cut: bool) -> None:
    document = _html(GOOD.decode() + '\n<meta name="go-import" content="a.test/x mod')
    assert parse_go_imports(document[: len(document) // 2 + 60], cut=cut) == [GOOD_TAG]
    assert parse_go_imports(GOOD + b"<p>a < b</p>") == [GOOD_TAG]


def test_line_numbers_count_newlines_before_the_error() -> None:
    with raises_go_error("XML syntax error on line 4: unexpected EOF"):
        parse_go_imports(b"<html>\n<head>\r\n\n<meta name=")


# --- match_go_import --------------------------------------------------------------


def test_match_needs_a_slash_boundary() -> None:
    # golang/go#15947: "fooa" is not a prefix of "fooaa".
    tags = [MetaImport("a.test/fooa", "git", "https://r")]
    with pytest.raises(GoImportError) as caught:
        match_go_import(tags, "a.test/fooaa")
    assert str(caught.value) == (
        "no go-import meta tags (meta tag a.test/fooa did not match import path a.test/fooaa)"
    )
    assert match_go_import(tags, "a.test/fooa/b") == tags[0]


def test_no_tags_at_all_gives_empty_parentheses() -> None:
    with raises_go_error("no go-import meta tags ()"):
        match_go_import([], "a.test/m")


def test_every_mismatch_is_listed() -> None:
    tags = [MetaImport("b.test/m", "git", "https://r"), MetaImport("a.test/x", "git", "https://r")]
    with pytest.raises(GoImportError) as caught:
        match_go_import(tags, "a.test/m")
    assert str(caught.value) == (
        "no go-import meta tags (meta tag b.test/m did not match import path a.test/m, "
        "meta tag a.test/x did not match import path a.test/m)"
    )


def test_two_matches_are_an_error_unless_a_mod_match_came_first() -> None:
    two = [MetaImport("a.test/m", "mod", "https://p"), MetaImport("a.test", "mod", "https://q")]
    with raises_go_error('multiple meta tags match import path "a.test/m/x"'):
        match_go_import(two, "a.test/m/x")
    mixed = [MetaImport("a.test/m", "mod", "https://p"), MetaImport("a.test", "git", "https://g")]
    assert match_go_import(mixed, "a.test/m/x") == mixed[0]


# --- check_meta_import --------------------------------------------------------------

CHECKS = {
    "leading slash": (
        MetaImport("a.test/m", "git", "https://r", "/abs"),
        'invalid subdirectory "/abs": leading slash',
    ),
    "leading hyphen": (
        MetaImport("a.test/m", "git", "https://r", "-x"),
        'invalid subdirectory "-x": leading hyphen',
    ),
    "no scheme, colon": (
        MetaImport("a.test/m", "mod", "127.0.0.1:18080/ok"),
        'invalid repo root "127.0.0.1:18080/ok": parse "127.0.0.1:18080/ok": '
        "first path segment in URL cannot contain colon",
    ),
    "no scheme": (
        MetaImport("a.test/m", "mod", "p.test/ok"),
        'invalid repo root "p.test/ok": no scheme',
    ),
    "file scheme": (
        MetaImport("a.test/m", "mod", "FILE:///tmp/p"),
        'invalid repo root "FILE:///tmp/p": file scheme disallowed',
    ),
    "missing scheme": (
        MetaImport("a.test/m", "mod", "://p"),
        'invalid repo root "://p": parse "://p": missing protocol scheme',
    ),
    "bad port": (
        MetaImport("a.test/m", "mod", "https://p.test:x/"),
        'invalid repo root "https://p.test:x/": parse "https://p.test:x/": '
        'invalid port ":x" after host',
    ),
    "bad escape": (
        MetaImport("a.test/m", "mod", "https://p.test/%zz"),
        'invalid repo root "https://p.test/%zz": parse "https://p.test/%zz": '
        'invalid URL escape "%zz"',
    ),
    "unknown vcs": (MetaImport("a.test/m", "darcs", "https://r"), 'unknown vcs "darcs"'),
    "bzr is gone in go 1.27": (MetaImport("a.test/m", "bzr", "https://r"), 'unknown vcs "bzr"'),
}


@pytest.mark.parametrize(("meta", "message"), CHECKS.values(), ids=CHECKS.keys())
def test_check_meta_import_refuses_like_go(meta: MetaImport, message: str) -> None:
    with pytest.raises(GoImportError) as caught:
        check_meta_import(meta)
    assert str(caught.value) == message


@pytest.mark.parametrize("vcs", ["mod", "git", "hg", "svn", "fossil"])
def test_check_meta_import_accepts_known_vcs(vcs: str) -> None:
    meta = MetaImport("a.test/m", vcs, "ssh://git@r.test:22/m", "sub")
    check_meta_import(meta)
    assert meta.content == f"a.test/m {vcs} ssh://git@r.test:22/m sub"


def test_go_get_url() -> None:
    assert go_get_url("a.test/m/x") == "//a.test/m/x?go-get=1"
    assert go_get_url("a.test") == "//a.test/?go-get=1"
    with raises_go_error("import path does not begin with hostname"):
        go_get_url("localhost/m")


# --- resolve_go_import: GO-PROTOCOL.md's table of exact errors -----------------------


def _page(path: str, body: bytes, **kw: object) -> GoGetPage:
    return GoGetPage(url=f"https://{path}?go-get=1", body=body, **kw)  # type: ignore[arg-type]


RESOLVED = {
    "no tag": (
        "127.0.0.1/nometa/m",
        _page("127.0.0.1/nometa/m", _html("<title>x</title>")),
        "parse https://127.0.0.1/nometa/m?go-get=1: no go-import meta tags ()",
    ),
    "empty body": (
        "127.0.0.1/nometa/m",
        _page("127.0.0.1/nometa/m", b""),
        "parse https://127.0.0.1/nometa/m?go-get=1: no go-import meta tags ()",
    ),
    "prefix does not match": (
        "127.0.0.1/mismatch/m",
        _page(
            "127.0.0.1/mismatch/m",
            b'<meta name="go-import" content="127.0.0.1/other mod http://x">',
        ),
        "parse https://127.0.0.1/mismatch/m?go-get=1: no go-import meta tags "
        "(meta tag 127.0.0.1/other did not match import path 127.0.0.1/mismatch/m)",
    ),
    "cut before any complete tag": (
        "127.0.0.1/truncbefore/m",
        _page("127.0.0.1/truncbefore/m", GOOD[:40]),
        "parsing 127.0.0.1/truncbefore/m: XML syntax error on line 1: unexpected EOF",
    ),
    "transport cut before any tag": (
        "127.0.0.1/clshortbefore/m",
        _page("127.0.0.1/clshortbefore/m", GOOD[:40], cut=True),
        "parsing 127.0.0.1/clshortbefore/m: unexpected EOF",
    ),
    "two matching tags": (
        "127.0.0.1/multi/m",
        _page(
            "127.0.0.1/multi/m",
            b'<meta name="go-import" content="127.0.0.1/multi/m mod http://a">'
            b'<meta name="go-import" content="127.0.0.1/multi mod http://b">',
        ),
        "parse //127.0.0.1/multi/m?go-get=1: "
        'multiple meta tags match import path "127.0.0.1/multi/m"',
    ),
    "latin-1": (
        "127.0.0.1/latin1/m",
        _page("127.0.0.1/latin1/m", b'<?xml version="1.0" encoding="ISO-8859-1"?>' + GOOD),
        'parsing 127.0.0.1/latin1/m: xml: opening charset "ISO-8859-1": '
        'can\'t decode XML document using charset "ISO-8859-1"',
    ),
    "repo root without scheme": (
        "127.0.0.1/noscheme/m",
        _page(
            "127.0.0.1/noscheme/m",
            b'<meta name="go-import" content="127.0.0.1/noscheme/m mod 127.0.0.1:18080/ok">',
        ),
        'https://127.0.0.1/noscheme/m?go-get=1: invalid repo root "127.0.0.1:18080/ok": '
        'parse "127.0.0.1:18080/ok": first path segment in URL cannot contain colon',
    ),
    "404 without a tag": (
        "127.0.0.1/status404nometa/m",
        _page("127.0.0.1/status404nometa/m", b"<html></html>", status=404),
        "reading https://127.0.0.1/status404nometa/m?go-get=1: 404 Not Found",
    ),
    "404 with a text body": (
        "127.0.0.1/s/m",
        _page(
            "127.0.0.1/s/m", b"not here\nat all\n\nignored", status=404, content_type="text/plain"
        ),
        "reading https://127.0.0.1/s/m?go-get=1: 404 Not Found\n"
        "\tserver response:\n\tnot here\n\tat all",
    ),
    "500 with a one-line text body": (
        "127.0.0.1/s/m",
        _page("127.0.0.1/s/m", b"boom", status=500, content_type="text/plain; charset=utf-8"),
        "reading https://127.0.0.1/s/m?go-get=1: 500 Internal Server Error\n"
        "\tserver response: boom",
    ),
    "status beats a parse error": (
        "127.0.0.1/s/m",
        _page("127.0.0.1/s/m", b"<p>a < b", status=503),
        "reading https://127.0.0.1/s/m?go-get=1: 503 Service Unavailable",
    ),
}


@pytest.mark.parametrize(("path", "page", "message"), RESOLVED.values(), ids=RESOLVED.keys())
def test_resolve_reports_what_go_reports(path: str, page: GoGetPage, message: str) -> None:
    with pytest.raises(GoImportError) as caught:
        resolve_go_import(path, lambda _: page)
    assert str(caught.value) == message


def test_resolve_accepts_a_404_page_with_a_tag_and_a_cut_after_the_tag() -> None:
    assert resolve_go_import("127.0.0.1/good/m", lambda _: _page("x", GOOD, status=404)) == GOOD_TAG
    cut = _page("x", GOOD + b'<meta name="go-import" content="127.0.0.1', cut=True)
    assert resolve_go_import("127.0.0.1/good/m", lambda _: cut) == GOOD_TAG


def test_resolve_checks_a_parent_prefix_against_its_own_page() -> None:
    parent = b'<meta name="go-import" content="a.test/m mod https://p.test">'
    liar = b'<meta name="go-import" content="a.test/m mod https://evil.test">'
    pages = {"a.test/m/x": _page("a.test/m/x", parent), "a.test/m": _page("a.test/m", parent)}
    assert resolve_go_import("a.test/m/x", pages.__getitem__) == MetaImport(
        "a.test/m", "mod", "https://p.test"
    )
    pages["a.test/m"] = _page("a.test/m", liar)
    with pytest.raises(GoImportError) as caught:
        resolve_go_import("a.test/m/x", pages.__getitem__)
    assert str(caught.value) == (
        "https://a.test/m/x?go-get=1 and //a.test/m?go-get=1 disagree about go-import for a.test/m"
    )
    pages["a.test/m"] = _page("a.test/m", b"<html></html>")
    with pytest.raises(GoImportError) as caught:
        resolve_go_import("a.test/m/x", pages.__getitem__)
    assert str(caught.value) == (
        "fetching a.test/m: no go-import meta tag found in https://a.test/m?go-get=1"
    )


def test_resolve_wraps_transport_errors() -> None:
    def refused(path: str) -> GoGetPage:
        raise GoImportError(f'Get "https://{path}?go-get=1": dial tcp: connection refused')

    with pytest.raises(GoImportError) as caught:
        resolve_go_import("a.test/m", refused)
    assert (
        str(caught.value)
        == 'https fetch: Get "https://a.test/m?go-get=1": dial tcp: connection refused'
    )


# --- the host's documents, read by the reader ------------------------------------------

REPO = "https://proxy.test"
GOOD_M = MetaImport("example.test/m", "mod", REPO)

#: variant -> (outcome for example.test/m, outcome for example.test/m/sub)
HOST_OUTCOMES: dict[str, tuple[MetaImport | str, MetaImport | str]] = {
    "good": (GOOD_M, GOOD_M),
    "no-meta": (
        "parse https://example.test/m?go-get=1: no go-import meta tags ()",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags ()",
    ),
    "wrong-prefix": (
        "parse https://example.test/m?go-get=1: no go-import meta tags "
        "(meta tag www.example.test/m did not match import path example.test/m)",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags "
        "(meta tag www.example.test/m did not match import path example.test/m/sub)",
    ),
    "two-tags": (
        'parse //example.test/m?go-get=1: multiple meta tags match import path "example.test/m"',
        "parse //example.test/m/sub?go-get=1: "
        'multiple meta tags match import path "example.test/m/sub"',
    ),
    "meta-after-body": (
        "parse https://example.test/m?go-get=1: no go-import meta tags ()",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags ()",
    ),
    "truncated": (
        "parsing example.test/m: XML syntax error on line 5: unexpected EOF",
        "parsing example.test/m/sub: XML syntax error on line 5: unexpected EOF",
    ),
    "login-page": (
        "parse https://example.test/m?go-get=1: no go-import meta tags ()",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags ()",
    ),
    "redirect-same-host": (
        "parse https://example.test/m?go-get=1: no go-import meta tags ()",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags ()",
    ),
    "redirect-other-host": (
        "parse https://example.test/m?go-get=1: no go-import meta tags ()",
        "parse https://example.test/m/sub?go-get=1: no go-import meta tags ()",
    ),
    "redirect-http": (
        'https fetch: Get "http://example.test/m?go-get=1": redirected from secure URL '
        "https://example.test/m?go-get=1 to insecure URL http://example.test/m?go-get=1",
        'https fetch: Get "http://example.test/m/sub?go-get=1": redirected from secure URL '
        "https://example.test/m/sub?go-get=1 to insecure URL http://example.test/m/sub?go-get=1",
    ),
    "not-found-with-tag": (GOOD_M, GOOD_M),
    "unauthorized": (
        "reading https://example.test/m?go-get=1: 401 Unauthorized\n"
        "\tserver response: Unauthorized",
        "reading https://example.test/m/sub?go-get=1: 401 Unauthorized\n"
        "\tserver response: Unauthorized",
    ),
    "prefix-is-request-path": (GOOD_M, MetaImport("example.test/m/sub", "mod", REPO)),
}


def test_every_variant_has_an_expected_outcome() -> None:
    assert set(HOST_OUTCOMES) == set(VARIANTS)


def _outcome(host: GoImportHost, path: str) -> MetaImport | str:
    try:
        return resolve_go_import(path, host.fetch)
    except GoImportError as exc:
        return str(exc)


@pytest.mark.parametrize("variant", VARIANTS)
def test_host_variant_read_by_the_reader(variant: str) -> None:
    host = GoImportHost()
    host.add("example.test/m", repo=REPO, variant=variant)  # type: ignore[arg-type]
    assert (
        _outcome(host, "example.test/m"),
        _outcome(host, "example.test/m/sub"),
    ) == HOST_OUTCOMES[variant]
    assert host.log == []  # fetch() does not count as a request


@pytest.mark.parametrize("variant", ["redirect-same-host", "redirect-other-host"])
def test_fetch_follows_redirects_but_keeps_the_asked_url(variant: str) -> None:
    host = GoImportHost()
    host.add("example.test/m", repo=REPO, variant=variant)  # type: ignore[arg-type]
    page = host.fetch("example.test/m")
    assert (page.url, page.status) == ("https://example.test/m?go-get=1", 200)
    assert b"<title>Sign in</title>" in page.body


def test_good_page_is_exact() -> None:
    host = GoImportHost()
    host.add("example.test/m", vcs="git", repo="https://git.test/m", subdir="go")
    page = host.fetch("example.test/m/pkg")
    assert (page.status, page.content_type, page.url) == (
        200,
        "text/html; charset=utf-8",
        "https://example.test/m/pkg?go-get=1",
    )
    assert page.body == (
        b"<!DOCTYPE html>\n<html>\n<head>\n"
        b'<meta charset="utf-8">\n'
        b'<meta name="go-import" content="example.test/m git https://git.test/m go">\n'
        b'<meta name="go-source" content="example.test/m https://git.test/m '
        b'https://git.test/m/tree/main{/dir} https://git.test/m/blob/main{/dir}/{file}#L{line}">\n'
        b"<title>example.test/m</title>\n</head>\n<body>\ngo get example.test/m\n</body>\n</html>\n"
    )


def test_gitea_case_appends_the_subpath_to_a_vcs_repo() -> None:
    host = GoImportHost()
    host.add(
        "example.test/user/repo",
        vcs="git",
        repo="https://example.test/user/repo.git",
        variant="prefix-is-request-path",
    )
    assert resolve_go_import("example.test/user/repo/sub", host.fetch) == MetaImport(
        "example.test/user/repo/sub", "git", "https://example.test/user/repo.git/sub"
    )


def test_longest_prefix_wins_and_hosts_are_kept_apart() -> None:
    host = GoImportHost()
    host.add("example.test/m", repo="https://a.test")
    host.add("example.test/m/v2", repo="https://b.test")
    host.add("other.test/m", repo="https://c.test")
    assert resolve_go_import("example.test/m/v2/x", host.fetch).repo_root == "https://b.test"
    assert resolve_go_import("example.test/m/v3", host.fetch).repo_root == "https://a.test"
    assert resolve_go_import("other.test/m", host.fetch).repo_root == "https://c.test"


def test_add_refuses_bad_input() -> None:
    host = GoImportHost()
    with pytest.raises(
        InvalidPathError, match=r'^malformed import path "example.test//m": double slash$'
    ):
        host.add("example.test//m", repo=REPO)
    with pytest.raises(GoImportError, match="must be one field"):
        host.add("example.test/m", repo="https://a b")
    with pytest.raises(GoImportError, match=r"^unknown variant 'nope'"):
        host.add("example.test/m", repo=REPO, variant="nope")  # type: ignore[arg-type]


def test_a_host_bound_go_import_host_refuses_prefixes_on_other_hosts() -> None:
    host = GoImportHost(host="Example.Test")
    host.add("example.test/m", repo=REPO)
    host.add("EXAMPLE.test/n", repo=REPO)  # host names compare without case
    message = (
        "prefix 'other.test/m' is on host 'other.test', but this go-import host serves "
        "'example.test': go asks https://other.test/… about it, so add_goimport('other.test') "
        "and add the prefix there"
    )
    with pytest.raises(GoImportError) as caught:
        host.add("other.test/m", repo=REPO)
    assert str(caught.value) == message
    with pytest.raises(GoImportError) as caught:
        host.add_document("other.test/m", b"<html></html>")
    assert str(caught.value) == message


def test_the_networks_go_import_host_is_bound_to_its_host(gomodnet) -> None:
    goimport = gomodnet.add_goimport("example.test")
    with pytest.raises(GoImportError, match=r"^prefix 'example.test.evil/m' is on host"):
        goimport.add("example.test.evil/m", repo=REPO)


def test_import_paths_are_checked_as_go_checks_them() -> None:
    """One checker for the host and the model: Windows names and ~digits too, go's quotes."""
    host = GoImportHost()
    for prefix, problem in [
        ("example.test/a\vb", "invalid char '\\v'"),
        ("example.test/CON", '"CON" disallowed as path element component on Windows'),
        ("example.test/a~1", "trailing tilde and digits in path element"),
    ]:
        with pytest.raises(InvalidPathError) as caught:
            host.add(prefix, repo=REPO)
        assert str(caught.value) == f"malformed import path {go_quote(prefix)}: {problem}"


# --- the standalone server, with httpx -------------------------------------------------


def test_standalone_http_host_answers_and_logs() -> None:
    host = GoImportHost()
    host.add("example.test/m", repo=REPO)
    host.add("example.test/r", repo=REPO, variant="redirect-same-host")
    with host, httpx.Client(base_url=host.url, timeout=5) as client:
        address = host.url.removeprefix("http://")
        page = client.get("/m/sub", params={"go-get": "1"})
        uncovered = client.get("/other", params={"go-get": "1"})
        invalid = client.get("/m/.x./y", params={"go-get": "1"})
        plain = client.get("/m")
        redirect = client.get("/r", params={"go-get": "1"})
        login = client.get("/r", params={"go-get": "1"}, follow_redirects=True)
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert parse_go_imports(page.content) == [GOOD_M]
    assert (uncovered.status_code, uncovered.text) == (
        404,
        'no go-import prefix covers "example.test/other"\n',
    )
    assert (invalid.status_code, invalid.text) == (
        404,
        'malformed import path "example.test/m/.x./y": trailing dot in path element\n',
    )
    assert (plain.status_code, plain.text) == (404, "this host only answers ?go-get=1 requests\n")
    assert (redirect.status_code, redirect.headers["location"]) == (
        302,
        "/-/login?redirect_to=%2Fr%3Fgo-get%3D1",
    )
    assert (login.status_code, login.url.path) == (200, "/-/login")
    assert b'action="/-/login"' in login.content
    assert [(r.path, r.query, r.status) for r in host.log] == [
        ("/m/sub", "go-get=1", 200),
        ("/other", "go-get=1", 404),
        ("/m/.x./y", "go-get=1", 404),
        ("/m", "", 404),
        ("/r", "go-get=1", 302),
        ("/r", "go-get=1", 302),
        ("/-/login", "redirect_to=%2Fr%3Fgo-get%3D1", 200),
    ]
    assert host.log[0] == GoImportRequest("GET", address, "/m/sub", "go-get=1", 200)


def test_standalone_https_host_with_truncated_variant(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    host = GoImportHost(ssl_context=server_context)
    host.add("example.test/m", repo=REPO, variant="truncated")
    with host, httpx.Client(verify=client_context, timeout=5) as client:
        assert host.url.startswith("https://127.0.0.1:")
        response = client.get(host.url + "/m?go-get=1")
    assert response.headers["content-length"] == str(len(response.content))
    assert response.content.endswith(b'<meta name="go-import" content="example.test/m ')
    with raises_go_error("XML syntax error on line 5: unexpected EOF"):
        parse_go_imports(response.content)


def test_url_needs_a_running_server_and_start_twice_fails() -> None:
    host = GoImportHost()
    with pytest.raises(ServerError, match="not running"):
        host.url  # noqa: B018
    with host, pytest.raises(ServerError, match="already running"):
        host.start()
    host.close()  # idempotent


def test_add_document_serves_bytes_as_they_are() -> None:
    host = GoImportHost()
    host.add_document("example.test/m", b"\xff<meta", status=410, content_type="text/x-odd")
    page = host.fetch("example.test/m/x")
    assert (page.status, page.body, page.content_type, page.reason) == (
        410,
        b"\xff<meta",
        "text/x-odd",
        "Gone",
    )
    with raises_go_error("reading https://example.test/m/x?go-get=1: 410 Gone"):
        resolve_go_import("example.test/m/x", host.fetch)
    with pytest.raises(InvalidPathError, match="trailing slash"):
        host.add_document("example.test/m/", b"")


@pytest.mark.parametrize("control", ["\r", "\n", "\x00", "\x7f"])
def test_a_control_character_in_the_query_is_escaped_in_the_redirect(control: str) -> None:
    """A hostile query must get the redirect, never a 500 from a header that cannot hold it."""
    from werkzeug import Request
    from werkzeug.test import EnvironBuilder

    host = GoImportHost()
    host.add("example.test/m", repo=REPO, variant="redirect-http")
    environ = EnvironBuilder(
        path="/m", base_url="https://example.test", query_string=f"go-get=1&x={control}y"
    ).get_environ()
    response = host.handle(Request(environ))
    escaped = f"%{ord(control):02X}"
    assert (response.status_code, response.headers["Location"]) == (
        302,
        f"http://example.test/m?go-get=1&x={escaped}y",
    )
