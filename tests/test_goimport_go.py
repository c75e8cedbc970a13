"""Every GoImportHost variant against the real go command, and the reader's prediction.

``go mod download -json example.test/m@v1.0.0`` runs with ``GOPROXY=direct``, so
go fetches ``https://example.test/m?go-get=1`` through the Router (HTTPS_PROXY)
from the host, which names a tiny GOPROXY on plain http://127.0.0.1 as the
``mod`` repo root. Each test asserts go's exact outcome (the go.sum hashes, or
the error text), the requests the host saw, and that ``resolve_go_import``
over the host's own pages predicts the same outcome.
"""

from __future__ import annotations

import io
import re
import ssl
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_gomodnet.checks import h1_of_zip
from pytest_gomodnet.errors import GoImportError
from pytest_gomodnet.goimport import VARIANTS, GoImportHost, MetaImport, resolve_go_import
from pytest_gomodnet.gotool import GoResult, GoToolchain

faultproxy = pytest.importorskip(
    "pytest_gomodnet.faultproxy",
    reason="needs the Router: pytest_gomodnet/faultproxy.py is not on main yet",
)

MODULE = "example.test/m"
VERSION = "v1.0.0"
GO_MOD = f"module {MODULE}\n".encode()
INFO = b'{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}'


def _module_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{MODULE}@{VERSION}/go.mod", GO_MOD)
        archive.writestr(f"{MODULE}@{VERSION}/m.go", b"package m\n")
    return buffer.getvalue()


ZIP = _module_zip()


def _goproxy(request: Request) -> Response:
    """Just enough GOPROXY protocol for one module version."""
    files = {
        f"/{MODULE}/@v/{VERSION}.info": INFO,
        f"/{MODULE}/@v/{VERSION}.mod": GO_MOD,
        f"/{MODULE}/@v/{VERSION}.zip": ZIP,
    }
    if request.path in files:
        return Response(files[request.path], content_type="application/octet-stream")
    return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")


class World:
    """The go-import host and the GOPROXY behind the Router, for one module."""

    def __init__(self, tmp: Path) -> None:
        ca = trustme.CA()
        self.ca_bundle = tmp / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("example.test", "login.example.test").configure_cert(self.server_context)
        self.host = GoImportHost()
        self.goproxy = HTTPServer("127.0.0.1", 0, threaded=True)
        self.goproxy.expect_request(re.compile(".*")).respond_with_handler(_goproxy)
        self.router = faultproxy.Router()

    @property
    def repo(self) -> str:
        return f"http://127.0.0.1:{self.goproxy.port}"

    def __enter__(self) -> World:
        self.goproxy.start()
        self.host.start()
        self.router.__enter__()
        for name in ("example.test", "login.example.test"):
            self.router.add_host(name, self.host.url, tls=self.server_context)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.router.__exit__(None, None, None)
        finally:
            self.host.close()
            self.goproxy.stop()

    def env(self) -> dict[str, str]:
        return {
            "GOPROXY": "direct",
            "GOSUMDB": "off",
            "HTTPS_PROXY": self.router.url,
            "SSL_CERT_FILE": str(self.ca_bundle),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with World(tmp_path_factory.mktemp("goimport-go")) as built:
        yield built


@pytest.fixture
def host(world: World) -> Iterator[GoImportHost]:
    world.host.clear()
    yield world.host
    world.host.clear()


def _download(go: GoToolchain, world: World, path: str, home: Path) -> dict[str, Any]:
    result = go.run("mod", "download", "-json", f"{path}@{VERSION}", home=home, env=world.env())
    return _only_object(result)


def _only_object(result: GoResult) -> dict[str, Any]:
    objects = result.json_objects()
    assert len(objects) == 1, result.story("go mod download printed one JSON object")
    assert result.returncode == (1 if "Error" in objects[0] else 0), result.story("exit status")
    return objects[0]


def _predicted(host: GoImportHost, path: str) -> MetaImport | str:
    try:
        return resolve_go_import(path, host.fetch)
    except GoImportError as exc:
        return str(exc)


def _failure(path: str, tail: str) -> str:
    return f'{path}@{VERSION}: unrecognized import path "{path}": {tail}'


NO_TAGS = "parse https://example.test/m?go-get=1: no go-import meta tags ()"
GO_GET = ("/m", "go-get=1")

#: variant -> (go's error tail, or None for success; the (path, query) requests go sent)
CASES: dict[str, tuple[str | None, list[tuple[str, str]]]] = {
    "good": (None, [GO_GET]),
    "no-meta": (NO_TAGS, [GO_GET]),
    "wrong-prefix": (
        "parse https://example.test/m?go-get=1: no go-import meta tags "
        "(meta tag www.example.test/m did not match import path example.test/m)",
        [GO_GET],
    ),
    "two-tags": (
        'parse //example.test/m?go-get=1: multiple meta tags match import path "example.test/m"',
        [GO_GET],
    ),
    "meta-after-body": (NO_TAGS, [GO_GET]),
    "truncated": ("parsing example.test/m: XML syntax error on line 5: unexpected EOF", [GO_GET]),
    "login-page": (NO_TAGS, [GO_GET]),
    # go follows the redirect, reads the login page, and names the URL it asked for.
    "redirect-same-host": (NO_TAGS, [GO_GET, ("/-/login", "redirect_to=%2Fm%3Fgo-get%3D1")]),
    "redirect-other-host": (NO_TAGS, [GO_GET, ("/-/login", "redirect_to=%2Fm%3Fgo-get%3D1")]),
    "redirect-http": (
        'https fetch: Get "http://example.test/m?go-get=1": redirected from secure URL '
        "https://example.test/m?go-get=1 to insecure URL http://example.test/m?go-get=1",
        [GO_GET],
    ),
    # A 4xx answer is asked again (with GOAUTH credentials) before go reads it.
    "not-found-with-tag": (None, [GO_GET, GO_GET]),
    "unauthorized": (
        "reading https://example.test/m?go-get=1: 401 Unauthorized\n"
        "\tserver response: Unauthorized",
        [GO_GET, GO_GET],
    ),
    "prefix-is-request-path": (None, [GO_GET]),
}


def test_every_variant_is_run() -> None:
    assert set(CASES) == set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_with_the_real_go_command(
    variant: str, go: GoToolchain, world: World, host: GoImportHost, tmp_path: Path
) -> None:
    good = host.add(MODULE, repo=world.repo, variant=variant)  # type: ignore[arg-type]
    expected_tail, expected_requests = CASES[variant]

    outcome = _download(go, world, MODULE, tmp_path)

    assert [(r.path, r.query) for r in host.log] == expected_requests
    if expected_tail is None:
        assert "Error" not in outcome, outcome
        assert (outcome["Sum"], outcome["Version"]) == (h1_of_zip(ZIP), VERSION)
        assert _predicted(host, MODULE) == good
    else:
        assert outcome["Error"] == _failure(MODULE, expected_tail)
        assert _predicted(host, MODULE) == expected_tail
    if variant == "redirect-other-host":
        assert [r.host for r in host.log] == ["example.test", "login.example.test"]


@pytest.mark.parametrize(
    ("variant", "requests", "predicted_prefix"),
    [
        ("good", [("/m/sub", "go-get=1"), GO_GET], "example.test/m"),
        ("prefix-is-request-path", [("/m/sub", "go-get=1")], "example.test/m/sub"),
    ],
    ids=["parent tag is checked on the parent's page", "gitea: subpath claims to be a root"],
)
def test_subpath_lookup(
    variant: str,
    requests: list[tuple[str, str]],
    predicted_prefix: str,
    go: GoToolchain,
    world: World,
    host: GoImportHost,
    tmp_path: Path,
) -> None:
    """go trusts a tag for a parent only after the parent's own page agrees (one more
    request); a page that names the request path itself as prefix skips that check."""
    host.add(MODULE, repo=world.repo, variant=variant)  # type: ignore[arg-type]

    outcome = _download(go, world, MODULE + "/sub", tmp_path)

    assert [(r.path, r.query) for r in host.log] == requests
    predicted = _predicted(host, MODULE + "/sub")
    assert isinstance(predicted, MetaImport)
    assert predicted.prefix == predicted_prefix
    # With a mod repo, go asks the proxy for the full path either way.
    assert outcome["Error"] == (
        f"{MODULE}/sub@{VERSION}: reading {world.repo}/{MODULE}/sub/@v/{VERSION}.info: "
        "404 NOT FOUND\n\tserver response: not found"
    )


def test_json_error_is_what_go_prints(
    go: GoToolchain, world: World, host: GoImportHost, tmp_path: Path
) -> None:
    """The JSON ``Error`` asserted above is the text go prints after ``go: `` without -json."""
    host.add(MODULE, repo=world.repo, variant="no-meta")
    result = go.run("mod", "download", f"{MODULE}@{VERSION}", home=tmp_path, env=world.env())
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"go: {_failure(MODULE, NO_TAGS)}\n"


TAG = '<meta name="go-import" content="example.test/m mod {repo}">'

#: id -> (page served, status, go's error tail or None for success)
DOCUMENTS: dict[str, tuple[str | bytes, int, str | None]] = {
    "upper case, no head": (
        '<HTML><META NAME="go-import" CONTENT="example.test/m mod {repo}"></HTML>',
        200,
        None,
    ),
    "unquoted name, self-closing": (
        "<meta name=go-import content='example.test/m mod {repo}'/>",
        200,
        None,
    ),
    "namespace prefixes are ignored": (
        '<html:meta xml:name="go-import" content="example.test/m mod {repo}">',
        200,
        None,
    ),
    "character reference in the name": (
        '<meta name="go&#45;import" content="example.test/m mod {repo}">',
        200,
        None,
    ),
    "git and mod for one prefix: mod wins": (
        '<meta name="go-import" content="example.test/m git https://git.test/m">' + TAG,
        200,
        None,
    ),
    "mod with a subdirectory": (
        '<meta name="go-import" content="example.test/m mod {repo} sub/dir">',
        200,
        None,
    ),
    "garbage after the tag": (TAG + "<p>a < b &", 200, None),
    "404 page with the tag": (TAG, 404, None),
    "tag inside a comment": ("<!-- " + TAG + " -->", 200, NO_TAGS),
    "the first name attribute wins": (
        '<meta name="description" name="go-import" content="example.test/m mod {repo}">',
        200,
        NO_TAGS,
    ),
    "five fields": (
        '<meta name="go-import" content="example.test/m mod {repo} sub extra">',
        200,
        NO_TAGS,
    ),
    "a < in a script before the tag": (
        "<head>\n<script>if (a < b) {}</script>\n" + TAG,
        200,
        "parsing example.test/m: XML syntax error on line 2: expected element name after <",
    ),
    "unquoted value with a dot": (
        "<meta name=go-import content=example.test/m>",
        200,
        "parsing example.test/m: XML syntax error on line 1: invalid XML name: .test",
    ),
    "latin-1 byte before the tag": (
        "<title>caf\xe9</title>\n".encode("latin-1") + TAG.encode(),
        200,
        "parsing example.test/m: XML syntax error on line 1: invalid UTF-8",
    ),
    "form feed before the tag": (
        "<p>\f</p>" + TAG,
        200,
        "parsing example.test/m: XML syntax error on line 1: illegal character code U+000C",
    ),
    "latin-1 declaration": (
        '<?xml version="1.0" encoding="ISO-8859-1"?>' + TAG,
        200,
        'parsing example.test/m: xml: opening charset "ISO-8859-1": '
        'can\'t decode XML document using charset "ISO-8859-1"',
    ),
    "unknown vcs": (
        '<meta name="go-import" content="example.test/m darcs https://d.test/m">',
        200,
        'https://example.test/m?go-get=1: unknown vcs "darcs"',
    ),
    "subdirectory with a leading slash": (
        '<meta name="go-import" content="example.test/m mod {repo} /sub">',
        200,
        'https://example.test/m?go-get=1: invalid subdirectory "/sub": leading slash',
    ),
    "file repo root": (
        '<meta name="go-import" content="example.test/m mod file:///tmp/proxy">',
        200,
        'https://example.test/m?go-get=1: invalid repo root "file:///tmp/proxy": '
        "file scheme disallowed",
    ),
    "404 text page without a tag": (
        "no such repository\nsign in first\n",
        404,
        "reading https://example.test/m?go-get=1: 404 Not Found\n"
        "\tserver response:\n\tno such repository\n\tsign in first",
    ),
}


#: Pages served as text/plain (go quotes their first lines in a status error).
TEXT_PAGES = {"404 text page without a tag"}


@pytest.mark.parametrize(
    ("case", "page", "status", "expected_tail"),
    [(case, *values) for case, values in DOCUMENTS.items()],
    ids=DOCUMENTS,
)
def test_document_read_by_go_and_by_the_reader(
    case: str,
    page: str | bytes,
    status: int,
    expected_tail: str | None,
    go: GoToolchain,
    world: World,
    host: GoImportHost,
    tmp_path: Path,
) -> None:
    body = page.encode() if isinstance(page, str) else page
    body = body.replace(b"{repo}", world.repo.encode())
    kind = "text/plain" if case in TEXT_PAGES else "text/html"
    host.add_document(MODULE, body, status=status, content_type=kind + "; charset=utf-8")

    outcome = _download(go, world, MODULE, tmp_path)
    predicted = _predicted(host, MODULE)

    if expected_tail is None:
        assert "Error" not in outcome, outcome
        assert outcome["Sum"] == h1_of_zip(ZIP)
        assert isinstance(predicted, MetaImport)
        assert (predicted.prefix, predicted.vcs, predicted.repo_root) == (MODULE, "mod", world.repo)
    else:
        assert outcome["Error"] == _failure(MODULE, expected_tail)
        assert predicted == expected_tail
