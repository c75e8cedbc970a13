"""The real go command against the private internet: what go 1.27 does, fault by fault.

Read this module as documentation: each case builds a tiny network
(``proxy.test`` serving one module over TLS through the Router), applies one
fault, runs ``go mod download -json example.test/m@v1.0.0`` and asserts
exactly what go reports. docs/go-behaviour.md is the same table in prose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _helpers import settled
from pytest_gomodnet.errors import GoTimeoutError
from pytest_gomodnet.faults import (
    ChunkedCut,
    CloseBeforeResponse,
    HandshakeAbort,
    HtmlLogin,
    LieContentLength,
    Refuse,
    Reset,
    SlowFirstByte,
    Stall,
    Status,
    Truncate,
)
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.network import Network

MODULE, VERSION = "example.test/m", "v1.0.0"
BASE = "https://proxy.test"
URL = f"{BASE}/{MODULE}/@v/{VERSION}"
FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files=FILES)
    return module_store


@pytest.fixture
def net(gomodnet: Network, store: ModuleStore) -> Network:
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet


@pytest.fixture
def net_h1(gomodnet: Network, store: ModuleStore) -> Network:
    """proxy.test offering HTTP/1.1 alone: for what go does over HTTP/1.1 specifically
    (test_http2.py has what it does over HTTP/2, which proxy.test offers by default)."""
    gomodnet.add_goproxy("proxy.test", store)
    gomodnet.http1_only("proxy.test")
    return gomodnet


def download(go: GoToolchain, home: Path, net: Network, **env: str) -> dict[str, str]:
    result = go.run(
        "mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=net.go_env(**env)
    )
    (info,) = result.json_objects()
    assert (result.returncode == 0) == ("Error" not in info), result.story("disagrees with -json")
    return info


def test_clean_download_has_the_store_hashes(go, tmp_path, net, store) -> None:
    info = download(go, tmp_path, net)
    version = store.get(MODULE, VERSION)
    assert (info["Sum"], info["GoModSum"]) == (version.h1, version.go_mod_h1)


def test_go_get_writes_the_store_go_sum_lines(go, tmp_path, net, store) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    go.run("get", f"{MODULE}@{VERSION}", home=tmp_path, cwd=work, env=net.go_env()).check()
    expected = "".join(f"{line}\n" for line in store.get(MODULE, VERSION).go_sum_lines)
    assert (work / "go.sum").read_text() == expected


def _zip_response_length(net: Network, store: ModuleStore) -> tuple[int, int]:
    """(head length, body length) of the zip response, measured through the network."""
    with net.client() as client:
        response = client.get(f"{URL}.zip")
    body = store.get(MODULE, VERSION).zip_path.read_bytes()
    assert response.content == body
    head = (
        len(b"HTTP/1.1 200 OK\r\n") + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2
    )
    return head, len(body)


EOF_CASES = {
    "zip cut mid-body": ("*.zip", Truncate(200, where="body"), f'read "{URL}.zip": unexpected EOF'),
    "zip cut at the last byte": (
        "*.zip",
        Truncate(-1, where="body-end"),
        f'read "{URL}.zip": unexpected EOF',
    ),
    # A cut inside the headers is not an "unexpected EOF" to go: net/http parses what it got.
    "zip cut in the headers": (
        "*.zip",
        Truncate(20),
        f'Get "{URL}.zip": net/http: HTTP/1.x transport connection broken: '
        'malformed MIME header: missing colon: "Con"',
    ),
    "mod cut mid-body": ("*.mod", Truncate(5, where="body"), f'read "{URL}.mod": unexpected EOF'),
    "info cut mid-body": (
        "*.info",
        Truncate(5, where="body"),
        f'read "{URL}.info": unexpected EOF',
    ),
    "zip with a lying Content-Length": (
        "*.zip",
        LieContentLength(100),
        f'read "{URL}.zip": unexpected EOF',
    ),
    "zip chunked and cut": ("*.zip", ChunkedCut(100), f'read "{URL}.zip": unexpected EOF'),
    "zip reset mid-body": (
        "*.zip",
        Reset(200, where="body"),
        re.compile(
            re.escape(f'read "{URL}.zip": read tcp 127.0.0.1:')
            + r"\d+->127\.0\.0\.1:\d+: read: connection reset by peer"
        ),
    ),
    "zip stalled then closed": (
        "*.zip",
        Stall(100, seconds=0.5, where="body"),
        f'read "{URL}.zip": unexpected EOF',
    ),
}


#: Cases about HTTP/1.1's own framing: their texts come from net/http's HTTP/1.x transport.
HTTP1_CASES = {"zip cut in the headers", "zip chunked and cut", "list cut in the headers"}


@pytest.mark.parametrize("case", EOF_CASES, ids=list(EOF_CASES))
def test_cut_responses(go, tmp_path, net, case) -> None:
    if case in HTTP1_CASES:
        net.http1_only("proxy.test")
    path, plan, expected = EOF_CASES[case]
    net.fault("proxy.test", plan, path=path)
    info = download(go, tmp_path, net)
    error = info["Error"].removeprefix(f"{MODULE}@{VERSION}: ")
    if isinstance(expected, re.Pattern):
        assert expected.fullmatch(error), error
    else:
        assert error == expected
    assert not list((tmp_path / "gopath/pkg/mod/cache/download").rglob("*.zip"))


def test_go_does_not_retry_a_cut_zip(go, tmp_path, net) -> None:
    net.fault("proxy.test", Truncate(200, where="body"), None, path="*.zip")
    info = download(go, tmp_path, net)
    assert info["Error"] == f'{MODULE}@{VERSION}: read "{URL}.zip": unexpected EOF'
    zips = [r for c in net.log for r in c.exchanges if r.path.endswith(".zip")]
    assert len(zips) == 1


def test_pipe_separator_moves_on_after_a_cut(go, tmp_path, net) -> None:
    net.fault("proxy.test", Truncate(200, where="body"), None, path="*.zip")
    info = download(go, tmp_path, net, GOPROXY=f"{BASE}|{BASE}")
    assert "Error" not in info
    zips = [r for c in net.log for r in c.exchanges if r.path.endswith(".zip")]
    assert len(zips) == 2


def test_comma_separator_stops_after_a_cut(go, tmp_path, net) -> None:
    net.fault("proxy.test", Truncate(200, where="body"), None, path="*.zip")
    info = download(go, tmp_path, net, GOPROXY=f"{BASE},{BASE}")
    assert info["Error"] == f'{MODULE}@{VERSION}: read "{URL}.zip": unexpected EOF'


@pytest.mark.parametrize("code", [404, 410])
def test_not_found_falls_through_a_comma(go, tmp_path, gomodnet, store, code) -> None:
    gomodnet.add_goproxy("first.test", store)
    gomodnet.add_goproxy("proxy.test", store)
    gomodnet.fault("first.test", *[Status(code, b"not found: gone\n")] * 3)
    info = download(go, tmp_path, gomodnet, GOPROXY="https://first.test,https://proxy.test")
    assert "Error" not in info


def test_server_error_stops_at_a_comma(go, tmp_path, gomodnet, store) -> None:
    gomodnet.add_goproxy("first.test", store)
    gomodnet.add_goproxy("proxy.test", store)
    gomodnet.fault("first.test", Status(500, b"proxy says: boom\n"))
    info = download(go, tmp_path, gomodnet, GOPROXY="https://first.test,https://proxy.test")
    assert info["Error"] == (
        f"{MODULE}@{VERSION}: reading https://first.test/{MODULE}/@v/{VERSION}.info: "
        "500 Internal Server Error\n\tserver response: proxy says: boom"
    )


def test_html_login_page_instead_of_info(go, tmp_path, net) -> None:
    net.fault("proxy.test", HtmlLogin(), path="*.info")
    info = download(go, tmp_path, net)
    assert re.fullmatch(
        rf'{MODULE}@{VERSION}: invalid response from proxy "{BASE}": invalid character .*',
        info["Error"],
    )


def test_html_login_page_instead_of_zip(go, tmp_path, net) -> None:
    net.fault("proxy.test", HtmlLogin(), path="*.zip")
    info = download(go, tmp_path, net)
    assert info["Error"] == "zip: not a valid zip file"


TLS_ERRORS = {
    "missing-intermediate": "x509: certificate signed by unknown authority",
    "untrusted-root": "x509: certificate signed by unknown authority",
    "self-signed": "x509: certificate signed by unknown authority",
    "expired-leaf": "x509: certificate has expired or is not yet valid: current time .*",
    "not-yet-valid": "x509: certificate has expired or is not yet valid: current time .*",
    "expired-intermediate": "x509: certificate has expired or is not yet valid: current time .*",
    "wrong-host": "x509: certificate is valid for wrong-host.invalid, not proxy.test",
}


@pytest.mark.parametrize("shape", TLS_ERRORS)
def test_tls_shapes_on_the_proxy(go, tmp_path, gomodnet, store, shape) -> None:
    gomodnet.add_goproxy("proxy.test", store, shape=shape)
    info = download(go, tmp_path, gomodnet)
    prefix = f'{MODULE}@{VERSION}: Get "{URL}.info": tls: failed to verify certificate: '
    assert re.fullmatch(re.escape(prefix) + TLS_ERRORS[shape], info["Error"]), info["Error"]


@pytest.mark.parametrize("shape", ["complete", "wrong-order"])
def test_tls_shapes_go_accepts(go, tmp_path, gomodnet, store, shape) -> None:
    gomodnet.add_goproxy("proxy.test", store, shape=shape)
    assert "Error" not in download(go, tmp_path, gomodnet)


def test_go_get_latest_through_a_mod_go_import_host(go, tmp_path, gomodnet, store) -> None:
    gomodnet.add_goproxy("proxy.test", store)
    goimport = gomodnet.add_goimport("example.test")
    goimport.add(MODULE, vcs="mod", repo=BASE)
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    env = gomodnet.go_env(GOPROXY="direct", GOPRIVATE="example.test")
    result = go.run("get", f"{MODULE}@latest", home=tmp_path, cwd=work, env=env).check()
    assert result.stderr == f"go: downloading {MODULE} {VERSION}\ngo: added {MODULE} {VERSION}\n"
    expected = "".join(f"{line}\n" for line in store.get(MODULE, VERSION).go_sum_lines)
    assert (work / "go.sum").read_text() == expected
    asked = [(c.host, x.path) for c in gomodnet.log for x in c.exchanges]
    # go also tries the shorter module path "example.test": a 404, asked twice because go
    # retries any https 4xx once with GOAUTH credentials. Discovery runs concurrently.
    discovery = sorted(x for h, x in asked if h == "example.test")
    assert discovery == ["/?go-get=1", "/?go-get=1", "/m?go-get=1"]
    assert [x for h, x in asked if h == "proxy.test"] == [
        "/example.test/m/@v/list",
        "/example.test/m/@v/v1.0.0.info",
        "/example.test/m/@v/v1.0.0.mod",
        "/example.test/m/@v/v1.0.0.zip",
    ]


# --- go list -m -versions: the list endpoint cut ------------------------------------------

LIST_URL = f"{BASE}/{MODULE}/@v/list"
LIST_CASES = {
    "list cut mid-body": (Truncate(3, where="body"), f'read "{LIST_URL}": unexpected EOF'),
    "list cut in the headers": (
        Truncate(20),
        f'Get "{LIST_URL}": net/http: HTTP/1.x transport connection broken: '
        'malformed MIME header: missing colon: "Con"',
    ),
}


@pytest.mark.parametrize("case", LIST_CASES, ids=list(LIST_CASES))
def test_cut_list(go, tmp_path, net, case) -> None:
    if case in HTTP1_CASES:
        net.http1_only("proxy.test")
    plan, expected = LIST_CASES[case]
    net.fault("proxy.test", plan, path="*/list")
    result = go.run("list", "-m", "-versions", MODULE, home=tmp_path, env=net.go_env())
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"go: module {MODULE}: {expected}\n"


def test_clean_list_after_a_cut_one_is_not_retried(go, tmp_path, net) -> None:
    net.fault("proxy.test", Truncate(3, where="body"), None, path="*/list")
    failed = go.run("list", "-m", "-versions", MODULE, home=tmp_path, env=net.go_env())
    assert failed.returncode == 1
    lists = [x for c in net.log for x in c.exchanges if x.path.endswith("/list")]
    assert len(lists) == 1
    again = go.run("list", "-m", "-versions", MODULE, home=tmp_path, env=net.go_env())
    assert again.check().stdout == f"{MODULE} {VERSION}\n"


# --- a stall: go has no deadline of its own --------------------------------------------------

STALLS = {
    "zip stalled mid-body": ("*.zip", Stall(100, seconds=60, where="body")),
    "info with a slow first byte": ("*.info", SlowFirstByte(60)),
}


@pytest.mark.parametrize("case", STALLS, ids=list(STALLS))
def test_a_stall_outlasts_go_until_the_callers_deadline(go, tmp_path, net, case) -> None:
    path, plan = STALLS[case]
    net.fault("proxy.test", plan, path=path)
    with pytest.raises(GoTimeoutError, match=r"was killed after 5 s; last output: ''"):
        go.run(
            "mod", "download", "-json", f"{MODULE}@{VERSION}",
            home=tmp_path, env=net.go_env(), timeout=5.0,
        )  # fmt: skip
    # go neither gave up nor retried in those 5 s: one request, waiting until go was
    # killed, and ended with the connection the kill closed.
    log = settled(lambda: net.log, connections=True)
    stalled = [x for c in log for x in c.exchanges if x.fault == repr(plan)]
    assert [(x.path, x.status) for x in stalled] == [(f"/{MODULE}/@v/{VERSION}.{path[2:]}", 200)]
    assert stalled[0].ended == "client-closed"


# --- a version or module the proxy does not have ------------------------------------------


@pytest.mark.parametrize(("code", "reason"), [(404, "Not Found"), (410, "Gone")])
def test_missing_version_is_reported_with_the_proxys_status(
    go, tmp_path, gomodnet, store, code, reason
) -> None:
    gomodnet.add_goproxy("proxy.test", store, missing_status=code)
    result = go.run(
        "mod", "download", "-json", f"{MODULE}@v9.9.9", home=tmp_path, env=gomodnet.go_env()
    )
    (info,) = result.json_objects()
    assert info["Error"] == (
        f"{MODULE}@v9.9.9: reading {BASE}/{MODULE}/@v/v9.9.9.info: {code} {reason}\n"
        f"\tserver response: not found: {MODULE}@v9.9.9: invalid version: unknown revision v9.9.9"
    )
    # Any 4xx is asked twice: go retries it once with GOAUTH credentials.
    asked = [(x.path, x.status) for c in gomodnet.log for x in c.exchanges]
    assert asked == [(f"/{MODULE}/@v/v9.9.9.info", code)] * 2


@pytest.mark.parametrize("code", [404, 410])
def test_a_proxy_without_the_module_falls_through_a_comma(
    go, tmp_path, gomodnet, store, code
) -> None:
    with ModuleStore() as empty:
        empty.add("example.test/other", VERSION)
        gomodnet.add_goproxy("first.test", empty, missing_status=code)
        gomodnet.add_goproxy("proxy.test", store)
        info = download(go, tmp_path, gomodnet, GOPROXY="https://first.test,https://proxy.test")
    assert info["Sum"] == store.get(MODULE, VERSION).h1
    asked = [
        (c.host, x.path.rpartition(".")[2], x.status) for c in gomodnet.log for x in c.exchanges
    ]
    # Each file is asked of first.test (twice: the GOAUTH retry of a 4xx), then of proxy.test.
    first = sorted(a for a in asked if a[0] == "first.test")
    assert first == [("first.test", kind, code) for kind in ("info", "mod", "zip") for _ in "12"]
    assert sorted(a for a in asked if a[0] == "proxy.test") == [
        ("proxy.test", kind, 200) for kind in ("info", "mod", "zip")
    ]


@pytest.mark.parametrize("code", [404, 410, 500])
def test_any_error_falls_through_a_pipe(go, tmp_path, gomodnet, store, code) -> None:
    gomodnet.add_goproxy("first.test", store)
    gomodnet.add_goproxy("proxy.test", store)
    gomodnet.fault("first.test", *[Status(code, b"no\n")] * 3)
    info = download(go, tmp_path, gomodnet, GOPROXY="https://first.test|https://proxy.test")
    assert info["Sum"] == store.get(MODULE, VERSION).h1


# --- plain data: retractions, deprecations, the checksum database ----------------------------

RETRACTING_GO_MOD = (
    b"// Deprecated: use example.test/m/v2 instead.\n"
    b"module example.test/m\n\nretract v1.0.0 // broken build\n"
)


def test_retraction_and_deprecation_are_go_mod_data(go, tmp_path, gomodnet, store) -> None:
    store.add(MODULE, "v1.1.0", go_mod=RETRACTING_GO_MOD)
    gomodnet.add_goproxy("proxy.test", store)
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    env = gomodnet.go_env()
    got = go.run("get", f"{MODULE}@{VERSION}", home=tmp_path, cwd=work, env=env).check()
    assert got.stderr == (
        f"go: downloading {MODULE} {VERSION}\n"
        f"go: module {MODULE} is deprecated: use example.test/m/v2 instead.\n"
        f"go: warning: {MODULE}@{VERSION}: retracted by module author: broken build\n"
        "go: to switch to the latest unretracted version, run:\n"
        f"\tgo get {MODULE}@latest\n"
        f"go: added {MODULE} {VERSION}\n"
    )
    listed = go.run(
        "list", "-m", "-u", "-retracted", "-json", MODULE, home=tmp_path, cwd=work, env=env
    )
    (module,) = listed.check().json_objects()
    assert (module["Version"], module["Update"]["Version"]) == (VERSION, "v1.1.0")
    assert (module["Retracted"], module["Deprecated"]) == (
        ["broken build"],
        "use example.test/m/v2 instead.",
    )


def test_no_checksum_database_sends_go_to_the_database_itself(go, tmp_path, net) -> None:
    info = download(go, tmp_path, net, GOSUMDB="sum.golang.org")
    # The proxy says it does not proxy sum.golang.org, so go asks it directly: through
    # the Router, which knows no such host and answers 502.
    assert info["Error"] == (
        f"{MODULE}@{VERSION}: verifying go.mod: {MODULE}@{VERSION}/go.mod: "
        f'Get "https://sum.golang.org/lookup/{MODULE}@{VERSION}": Bad Gateway'
    )
    asked = [(x.path, x.status) for c in net.log for x in c.exchanges if "sumdb" in x.path]
    assert asked == [("/sumdb/sum.golang.org/supported", 404)] * 2


# --- GOINSECURE through go_env ------------------------------------------------------------


@pytest.mark.parametrize("insecure", [False, True], ids=["verified", "GOINSECURE"])
def test_goinsecure_lets_go_past_a_self_signed_go_import_host(
    go, tmp_path, gomodnet, store, insecure
) -> None:
    gomodnet.add_goproxy("proxy.test", store)
    gomodnet.add_goimport("example.test", shape="self-signed").add(MODULE, vcs="mod", repo=BASE)
    extra = {"GOINSECURE": "example.test"} if insecure else {}
    info = download(go, tmp_path, gomodnet, GOPROXY="direct", GOPRIVATE="example.test", **extra)
    if insecure:
        assert info["Sum"] == store.get(MODULE, VERSION).h1
    else:
        assert info["Error"] == (
            f'{MODULE}@{VERSION}: unrecognized import path "{MODULE}": https fetch: '
            f'Get "https://{MODULE}?go-get=1": tls: failed to verify certificate: '
            "x509: certificate signed by unknown authority"
        )


def test_a_redirect_to_another_host_reaches_its_login_page(go, tmp_path, gomodnet, store) -> None:
    gomodnet.add_goproxy("proxy.test", store)
    goimport = gomodnet.add_goimport("example.test")
    goimport.add(MODULE, vcs="mod", repo=BASE, variant="redirect-other-host")
    info = download(go, tmp_path, gomodnet, GOPROXY="direct", GOPRIVATE="example.test")
    assert info["Error"] == (
        f'{MODULE}@{VERSION}: unrecognized import path "{MODULE}": '
        "parse https://example.test/m?go-get=1: no go-import meta tags ()"
    )
    asked = [(c.host, x.path, x.status) for c in gomodnet.log for x in c.exchanges]
    assert asked == [
        ("example.test", "/m?go-get=1", 302),
        ("login.example.test", "/-/login?redirect_to=%2Fm%3Fgo-get%3D1", 200),
    ]


# --- does go retry? Only what net/http retries by itself ----------------------------------


def test_a_fresh_connection_closed_before_the_response_is_not_retried(go, tmp_path, net_h1) -> None:
    net = net_h1
    net.fault("proxy.test", CloseBeforeResponse(), None, path="*.info")
    info = download(go, tmp_path, net)
    assert info["Error"] == f'{MODULE}@{VERSION}: Get "{URL}.info": EOF'
    assert [x.path for c in net.log for x in c.exchanges] == [f"/{MODULE}/@v/{VERSION}.info"]


@pytest.mark.parametrize("plan", [CloseBeforeResponse(), Reset(0)], ids=["closed", "reset"])
def test_a_reused_connection_that_dies_before_answering_is_retried(
    go, tmp_path, net_h1, store, plan
) -> None:
    net = net_h1
    # go asks .info, then .mod on the same keep-alive connection; net/http resends an
    # idempotent request on a new connection when a reused one ends before any byte.
    net.fault("proxy.test", plan, None, path="*.mod")
    info = download(go, tmp_path, net)
    assert info["Sum"] == store.get(MODULE, VERSION).h1
    connections = [[(x.path.rpartition(".")[2], x.fault) for x in c.exchanges] for c in net.log]
    assert connections == [
        [("info", None), ("mod", repr(plan))],
        [("mod", None), ("zip", None)],
    ]


RESET_BY_PEER = r"read tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: read: connection reset by peer"


def test_connection_faults_before_any_request_are_not_retried(go, tmp_path, net) -> None:
    prefix = re.escape(f'{MODULE}@{VERSION}: Get "{URL}.info": ')
    net.fault("proxy.test", HandshakeAbort(), None)
    info = download(go, tmp_path, net)
    # The Router reads go's ClientHello before it closes, so the close is a FIN, not a RST.
    assert info["Error"] == f'{MODULE}@{VERSION}: Get "{URL}.info": EOF'
    net.fault("proxy.test", Refuse(), None)
    info = download(go, tmp_path / "again", net)
    assert re.fullmatch(prefix + RESET_BY_PEER, info["Error"]), info["Error"]
    assert [c.fault for c in net.log] == ["HandshakeAbort()", "Refuse()"]
