"""The real go command with GOSUMDB on, against the network's own checksum database.

Each case builds ``proxy.test`` (a GOPROXY serving two modules) and
``sum.test`` (the checksum database over its store), turns one thing wrong,
runs ``go mod download -json`` and asserts exactly what go 1.27 reports.
docs/go-behaviour.md has the same table in prose.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug import Request, Response

from pytest_gomodnet.faults import (
    ChunkedCut,
    CloseBeforeResponse,
    Corrupt,
    Drip,
    FaultPlan,
    HandshakeAbort,
    HtmlLogin,
    LieContentLength,
    Refuse,
    Reset,
    SlowFirstByte,
    Status,
    Throttle,
    Truncate,
    WrongContentType,
)
from pytest_gomodnet.goproxy import GoProxy, ModuleStore
from pytest_gomodnet.gotool import GoResult, GoToolchain
from pytest_gomodnet.modules import go_mod_h1
from pytest_gomodnet.network import Network
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tlog import Tile

MODULE, VERSION = "example.test/m", "v1.0.0"
OTHER = "example.test/other"
FILES = {"m.go": b"package m\n\nconst Answer = 42\n"}
PREFIX = f"{MODULE}@{VERSION}: verifying go.mod: {MODULE}@{VERSION}/go.mod: "
SECURITY_ERROR = (
    "\n\nSECURITY ERROR\n"
    "This download does NOT match the one reported by the checksum server.\n"
    "The bits may have been replaced on the origin server, or an attacker may\n"
    "have intercepted the download attempt.\n\n"
    "For more information, see 'go help module-auth'.\n"
)


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files=FILES)
    module_store.add(OTHER, VERSION)
    return module_store


@pytest.fixture
def proxy(gomodnet: Network, store: ModuleStore) -> GoProxy:
    return gomodnet.add_goproxy("proxy.test", store)


@pytest.fixture
def net(gomodnet: Network, proxy: GoProxy) -> Network:
    return gomodnet


@pytest.fixture
def sumdb(net: Network) -> SumDB:
    return net.add_sumdb("sum.test")


def download(
    go: GoToolchain, home: Path, net: Network, module: str = MODULE, **env: str
) -> GoResult:
    return go.run(
        "mod", "download", "-json", f"{module}@{VERSION}", home=home, env=net.go_env(**env)
    )


def error_of(result: GoResult) -> str:
    (info,) = result.json_objects()
    assert result.returncode == 1, result.story("did not fail")
    assert "Error" in info, result.story("failed without an Error")
    return str(info["Error"])


def sumdb_paths(net: Network) -> list[tuple[str, int]]:
    return [(x.path, x.status) for c in net.log if c.host == "sum.test" for x in c.exchanges]


# --- clean runs ---------------------------------------------------------------------------


def test_go_env_turns_the_database_on(net, sumdb) -> None:
    assert net.go_env()["GOSUMDB"] == f"{sumdb.key} https://sum.test"


@pytest.mark.parametrize(
    "env",
    [
        {"GOSUMDB": "off"},
        {"GONOSUMDB": "example.test"},
        # GOPRIVATE would also send go direct (GONOPROXY defaults to it): keep the proxy.
        {"GOPRIVATE": "example.test/*", "GONOPROXY": "nothing.invalid"},
    ],
    ids=["GOSUMDB=off", "GONOSUMDB", "GOPRIVATE"],
)
def test_the_usual_switches_turn_the_database_off(go, tmp_path, net, sumdb, env) -> None:
    download(go, tmp_path, net, **env).check()
    assert sumdb.requests == []
    assert sumdb_paths(net) == []


def test_go_verifies_a_download_against_the_database(go, tmp_path, net, store, sumdb) -> None:
    result = download(go, tmp_path, net).check()
    (info,) = result.json_objects()
    stored = store.get(MODULE, VERSION)
    assert (info["Sum"], info["GoModSum"]) == (stored.h1, stored.go_mod_h1)
    # One lookup, then the one tile that proves record 0 in the tree of 2.
    assert sumdb.requests == [
        ("GET", f"/lookup/{MODULE}@{VERSION}", 200),
        ("GET", "/tile/8/0/000.p/2", 200),
    ]
    # go keeps the signed tree it trusts now: the database's, byte for byte.
    assert (tmp_path / "gopath/pkg/sumdb/sum.test/latest").read_bytes() == sumdb.signed_tree()


def test_go_sum_lines_are_the_database_records(go, tmp_path, net, store, sumdb) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    env = net.go_env()
    for module in (MODULE, OTHER):
        go.run("get", f"{module}@{VERSION}", home=tmp_path, cwd=work, env=env).check()
    expected = sumdb.record(MODULE, VERSION) + sumdb.record(OTHER, VERSION)
    assert (work / "go.sum").read_bytes() == expected
    assert (
        expected
        == (
            f"{MODULE} {VERSION} {store.get(MODULE, VERSION).h1}\n"
            f"{MODULE} {VERSION}/go.mod {store.get(MODULE, VERSION).go_mod_h1}\n"
            f"{OTHER} {VERSION} {store.get(OTHER, VERSION).h1}\n"
            f"{OTHER} {VERSION}/go.mod {store.get(OTHER, VERSION).go_mod_h1}\n"
        ).encode()
    )


def test_a_module_the_database_does_not_know_fails(go, tmp_path, net, sumdb) -> None:
    with ModuleStore() as unlogged:
        unlogged.add("example.test/unlogged", VERSION)
        net.add_handler(
            "proxy.test", GoProxy(unlogged).handle, replace=True
        )  # a store sum.test never sees
        error = error_of(download(go, tmp_path, net, "example.test/unlogged"))
    assert error == (
        "example.test/unlogged@v1.0.0: verifying go.mod: example.test/unlogged@v1.0.0/go.mod: "
        "reading https://sum.test/lookup/example.test/unlogged@v1.0.0: 404 Not Found\n"
        "\tserver response: not found: example.test/unlogged@v1.0.0: not in sum.test"
    )


# --- what go 1.27 says when the database misbehaves ------------------------------------------

LIE = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _lie(net: Network, sumdb: SumDB) -> None:
    sumdb.add(MODULE, VERSION, h1=LIE, go_mod_h1=go_mod_h1(f"module {MODULE}\n".encode()))


def _faults(*plans: FaultPlan, path: str) -> Callable[[Network, SumDB], None]:
    return lambda net, sumdb: net.fault("sum.test", *plans, path=path)


LOOKUP = f"/lookup/{MODULE}@{VERSION}"
TILE = "/tile/8/0/000.p/2"
FULL_TILE = "/tile/8/0/000"

#: id → (how to break it, go's error after the module prefix, what go asked sum.test)
MISBEHAVIOUR: dict[str, tuple[Callable[[Network, SumDB], object], str, list[tuple[str, int]]]] = {
    "database records another zip hash": (
        _lie,
        f"{MODULE}@{VERSION}: verifying module: checksum mismatch\n"
        f"\tdownloaded: {{h1}}\n\tsum.test: {LIE}{SECURITY_ERROR}",
        [(LOOKUP, 200), (TILE, 200)],
    ),
    "record outside the tree": (
        lambda net, sumdb: sumdb.forge(MODULE, VERSION),
        PREFIX + "cannot authenticate record data in server response",
        [(LOOKUP, 200), (TILE, 200)],
    ),
    "short tile (40 of 64 bytes)": (
        lambda net, sumdb: sumdb.short_tiles(40),
        PREFIX + "TileReader returned bad result slice (tile/8/0/000.p/2 len=40, want 64)",
        [(LOOKUP, 200), (TILE, 200)],
    ),
    "lookup 404, twice": (
        _faults(Status(404, b"gone fishing\n"), Status(404, b"gone fishing\n"), path="/lookup/*"),
        PREFIX
        + f"reading https://sum.test{LOOKUP}: 404 Not Found\n\tserver response: gone fishing",
        [(LOOKUP, 404), (LOOKUP, 404)],
    ),
    "lookup 410, twice": (
        _faults(Status(410, b"gone fishing\n"), Status(410, b"gone fishing\n"), path="/lookup/*"),
        PREFIX + f"reading https://sum.test{LOOKUP}: 410 Gone\n\tserver response: gone fishing",
        [(LOOKUP, 410), (LOOKUP, 410)],
    ),
    "lookup 500": (
        _faults(Status(500, b"upstream down\n"), path="/lookup/*"),
        PREFIX
        + f"reading https://sum.test{LOOKUP}: 500 Internal Server Error\n"
        + "\tserver response: upstream down",
        [(LOOKUP, 500)],
    ),
    "tile 404, four times": (
        _faults(*[Status(404, b"no tile\n")] * 4, path="/tile/*"),
        PREFIX + f"reading https://sum.test{TILE}: 404 Not Found\n\tserver response: no tile",
        [(LOOKUP, 200), (TILE, 404), (TILE, 404), (FULL_TILE, 404), (FULL_TILE, 404)],
    ),
    "tile 500": (
        _faults(Status(500, b"no tile\n"), path="/tile/*"),
        PREFIX
        + f"reading https://sum.test{TILE}: 500 Internal Server Error\n\tserver response: no tile",
        [(LOOKUP, 200), (TILE, 500), (FULL_TILE, 404), (FULL_TILE, 404)],
    ),
    "lookup cut mid-body": (
        _faults(Truncate(30, where="body"), path="/lookup/*"),
        PREFIX + f"reading https://sum.test{LOOKUP}: unexpected EOF",
        [(LOOKUP, 200)],
    ),
    "tile cut mid-body": (
        _faults(Truncate(40, where="body"), path="/tile/*"),
        PREFIX + f"reading https://sum.test{TILE}: unexpected EOF",
        [(LOOKUP, 200), (TILE, 200), (FULL_TILE, 404), (FULL_TILE, 404)],
    ),
    "tile byte flipped": (
        _faults(Corrupt(10, 1, where="body"), path="/tile/*"),
        PREFIX + "downloaded inconsistent tile",
        [(LOOKUP, 200), (TILE, 200)],
    ),
    "lookup record byte flipped": (
        _faults(Corrupt(30, 1, where="body"), path="/lookup/*"),
        PREFIX + "cannot authenticate record data in server response",
        [(LOOKUP, 200), (TILE, 200)],
    ),
}


RESET = r"read tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: read: connection reset by peer"
RETRIED_FULL_TILE = [(LOOKUP, 200), (TILE, 200), (FULL_TILE, 404), (FULL_TILE, 404)]

#: The other byte faults on the database's paths: id → (plan, path, go's error as a regex).
BYTE_FAULTS: dict[str, tuple[FaultPlan, str | None, str, list[tuple[str, int]]]] = {
    "connection refused": (
        Refuse(), None, re.escape(f'Get "https://sum.test{LOOKUP}": ') + f"(EOF|{RESET})", [],
    ),
    "TLS handshake aborted": (
        HandshakeAbort(), None,
        re.escape(f'Get "https://sum.test{LOOKUP}": ') + f"(EOF|{RESET})", [],
    ),
    "lookup reset": (
        Reset(30, where="body"), "/lookup/*",
        re.escape(f"reading https://sum.test{LOOKUP}: ") + RESET, [(LOOKUP, 200)],
    ),
    "tile reset": (
        Reset(10, where="body"), "/tile/*",
        re.escape(f"reading https://sum.test{TILE}: ") + RESET, RETRIED_FULL_TILE,
    ),
    "lookup, Content-Length 100 too long": (
        LieContentLength(100), "/lookup/*",
        re.escape(f"reading https://sum.test{LOOKUP}: unexpected EOF"), [(LOOKUP, 200)],
    ),
    "tile, Content-Length 100 too long": (
        LieContentLength(100), "/tile/*",
        re.escape(f"reading https://sum.test{TILE}: unexpected EOF"), RETRIED_FULL_TILE,
    ),
    "lookup chunked, cut": (
        ChunkedCut(30), "/lookup/*",
        re.escape(f"reading https://sum.test{LOOKUP}: unexpected EOF"), [(LOOKUP, 200)],
    ),
    "tile chunked, cut": (
        ChunkedCut(10), "/tile/*",
        re.escape(f"reading https://sum.test{TILE}: unexpected EOF"), RETRIED_FULL_TILE,
    ),
    "lookup last byte missing": (
        Truncate(-1, where="body-end"), "/lookup/*",
        re.escape(f"reading https://sum.test{LOOKUP}: unexpected EOF"), [(LOOKUP, 200)],
    ),
    "tile last byte missing": (
        Truncate(-1, where="body-end"), "/tile/*",
        re.escape(f"reading https://sum.test{TILE}: unexpected EOF"), RETRIED_FULL_TILE,
    ),
    "tile cut in its head": (
        Truncate(20), "/tile/*",
        re.escape(
            f'Get "https://sum.test{TILE}": net/http: HTTP/1.x transport connection broken: '
            'malformed MIME header: missing colon: "Con"'
        ),
        RETRIED_FULL_TILE,
    ),
    "lookup answered by an HTML login page": (
        HtmlLogin(), "/lookup/*", re.escape("malformed record data"), [(LOOKUP, 200)],
    ),
    "tile answered by an HTML login page": (
        HtmlLogin(), "/tile/*",
        re.escape("TileReader returned bad result slice (tile/8/0/000.p/2 len=204, want 64)"),
        [(LOOKUP, 200), (TILE, 200)],
    ),
    "lookup connection closed before the answer": (
        CloseBeforeResponse(), "/lookup/*",
        re.escape(f'Get "https://sum.test{LOOKUP}": EOF'), [(LOOKUP, 200)],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", MISBEHAVIOUR, ids=list(MISBEHAVIOUR))
def test_go_refuses_a_misbehaving_database(go, tmp_path, net, store, sumdb, case) -> None:
    arm, expected, asked = MISBEHAVIOUR[case]
    arm(net, sumdb)
    error = error_of(download(go, tmp_path, net))
    assert error == expected.format(h1=store.get(MODULE, VERSION).h1)
    assert sumdb_paths(net) == asked


#: Cases about HTTP/1.1 itself (its framing, net/http's HTTP/1 retries): sum.test offers
#: HTTP/1.1 alone for them. Over HTTP/2 (the default) go tells these apart less: a cut in
#: the head and a close before the answer are both ``unexpected EOF``, never retried, and
#: a reset is "connection reset by peer" or "unexpected EOF" as the race falls.
HTTP1_CASES = {
    "lookup reset",
    "tile reset",
    "lookup chunked, cut",
    "tile chunked, cut",
    "tile cut in its head",
    "lookup connection closed before the answer",
    "tile connection closed before the answer",
}


@pytest.mark.parametrize("case", BYTE_FAULTS, ids=list(BYTE_FAULTS))
def test_go_refuses_a_broken_database_answer(go, tmp_path, net, sumdb, case) -> None:
    if case in HTTP1_CASES:
        net.http1_only("sum.test")
    plan, path, expected, asked = BYTE_FAULTS[case]
    net.fault("sum.test", plan, path=path)
    error = error_of(download(go, tmp_path, net))
    assert re.fullmatch(re.escape(PREFIX) + expected, error), error
    assert sumdb_paths(net) == asked


@pytest.mark.parametrize(
    ("plan", "path", "asked"),
    [
        # net/http resends an idempotent request whose reused connection died unanswered.
        (CloseBeforeResponse(), "/tile/*", [(LOOKUP, 200), (TILE, 200), (TILE, 200)]),
        # go never looks at a 200's Content-Type.
        (WrongContentType("text/html"), "/lookup/*", [(LOOKUP, 200), (TILE, 200)]),
        # Slow is not broken: go has no deadline of its own.
        (SlowFirstByte(0.3), "/lookup/*", [(LOOKUP, 200), (TILE, 200)]),
        (Throttle(2000), "/lookup/*", [(LOOKUP, 200), (TILE, 200)]),
        (Drip(8, 0.01), "/tile/*", [(LOOKUP, 200), (TILE, 200)]),
    ],
    ids=[
        "tile connection closed before the answer",
        "lookup as text/html",
        "lookup's first byte 0.3 s late",
        "lookup at 2 kB/s",
        "tile 8 bytes every 10 ms",
    ],
)
def test_go_gets_past_these(go, tmp_path, net, store, sumdb, plan, path, asked, request) -> None:
    if request.node.callspec.id in HTTP1_CASES:
        net.http1_only("sum.test")
    net.fault("sum.test", plan, path=path)
    (info,) = download(go, tmp_path, net).check().json_objects()
    assert info["Sum"] == store.get(MODULE, VERSION).h1
    assert sumdb_paths(net) == asked


@pytest.mark.parametrize(
    ("same_key_hash", "problem"),
    [
        (True, "invalid signature for key {key_name}"),
        (False, "note has no verifiable signatures"),
    ],
    ids=["same key hash", "other key hash"],
)
def test_go_refuses_a_tree_signed_by_another_key(
    go, tmp_path, net, sumdb, same_key_hash, problem
) -> None:
    sumdb.wrong_key(same_key_hash=same_key_hash)
    error = error_of(download(go, tmp_path, net))
    key_name = "+".join(sumdb.key.split("+")[:2])
    assert error == (
        PREFIX
        + "reading tree note: "
        + problem.format(key_name=key_name)
        + "\nnote:\n"
        + sumdb.signed_tree().decode()
    )
    assert sumdb_paths(net) == [(LOOKUP, 200)]


def test_go_keeps_a_stale_tree_out(go, tmp_path, net, store, sumdb) -> None:
    download(go, tmp_path, net, OTHER).check()  # go now trusts the tree of 2
    sumdb.stale()
    store.add("example.test/third", VERSION)
    error = error_of(download(go, tmp_path, net, "example.test/third"))
    assert error == (
        "example.test/third@v1.0.0: verifying go.mod: example.test/third@v1.0.0/go.mod: "
        "cannot validate record 2 in tree of size 2"
    )


def _indent(note: bytes) -> str:
    """A note as go prints it in a SECURITY ERROR: every line, the last empty one too, tabbed."""
    return "".join(f"\t{line}\n" for line in note.decode().split("\n"))


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_go_detects_a_fork_of_the_tree_it_trusts(go, tmp_path, net, store, sumdb) -> None:
    download(go, tmp_path, net, OTHER).check()
    trusted = sumdb.signed_tree()
    store.add("example.test/third", VERSION)
    sumdb.fork()
    result = download(go, tmp_path, net, "example.test/third")
    forked = sumdb.log
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "SECURITY ERROR\ngo.sum database server misbehavior detected!\n\n"
        f"old database:\n{_indent(trusted)}"
        f"new database:\n{_indent(sumdb.signed_tree())}"
        "proof of misbehavior:\n"
        f"\t{_b64(forked.tree_hash(2))}\n"
        f"\t{_b64(forked.levels[0][2])}\n"
    )


# --- a cut .mod, which only the database catches ------------------------------------------------


def _cut_mod_proxy(store: ModuleStore, keep: int) -> Callable[[Request], Response]:
    """proxy.test, but every .mod answered with its first ``keep`` bytes and an honest length:
    the "short Content-Length" framing go cannot see through on its own."""
    proxy = GoProxy(store)

    def handle(request: Request) -> Response:
        response = proxy.handle(request)
        if request.path.endswith(".mod"):
            return Response(response.get_data()[:keep], content_type=response.content_type)
        return response

    return handle


@pytest.mark.parametrize("keep", [10, 20])
def test_a_cut_mod_passes_without_the_database(go, tmp_path, net, store, keep) -> None:
    net.add_handler("proxy.test", _cut_mod_proxy(store, keep), replace=True)
    (info,) = download(go, tmp_path, net).check().json_objects()
    cut = f"module {MODULE}\n".encode()[:keep]
    assert info["GoModSum"] == go_mod_h1(cut) != store.get(MODULE, VERSION).go_mod_h1
    assert Path(info["GoMod"]).read_bytes() == cut


@pytest.mark.parametrize("keep", [10, 20])
def test_a_cut_mod_is_caught_by_the_database(go, tmp_path, net, store, sumdb, keep) -> None:
    net.add_handler("proxy.test", _cut_mod_proxy(store, keep), replace=True)
    error = error_of(download(go, tmp_path, net))
    cut = f"module {MODULE}\n".encode()[:keep]
    assert error == (
        f"{MODULE}@{VERSION}: verifying go.mod: checksum mismatch\n"
        f"\tdownloaded: {go_mod_h1(cut)}\n"
        f"\tsum.test: {store.get(MODULE, VERSION).go_mod_h1}{SECURITY_ERROR}"
    )
    assert not (tmp_path / f"gopath/pkg/mod/cache/download/{MODULE}/@v/{VERSION}.mod").exists()


MOD_URL = f"https://proxy.test/{MODULE}/@v/{VERSION}.mod"
#: A .mod cut after 10 bytes in each framing, with the database on: what go 1.27 says.
#: Only a close-delimited cut looks whole to HTTP; the database catches it like the
#: honest-length cut above. The other framings show the cut themselves.
CUT_MOD_IN_FRAMING = {
    "close": None,  # the checksum mismatch
    "chunked": f'{MODULE}@{VERSION}: read "{MOD_URL}": unexpected EOF',
    "content-length": f'{MODULE}@{VERSION}: read "{MOD_URL}": unexpected EOF',
}


@pytest.mark.parametrize("framing", CUT_MOD_IN_FRAMING)
def test_a_cut_mod_is_caught_in_every_framing(go, tmp_path, net, store, sumdb, framing) -> None:
    net.add_goproxy("proxy.test", store, replace=True, framing=framing)
    net.fault("proxy.test", Truncate(10, where="body"), path="*.mod")
    error = error_of(download(go, tmp_path, net))
    cut = f"module {MODULE}\n".encode()[:10]
    mismatch = (
        f"{MODULE}@{VERSION}: verifying go.mod: checksum mismatch\n"
        f"\tdownloaded: {go_mod_h1(cut)}\n"
        f"\tsum.test: {store.get(MODULE, VERSION).go_mod_h1}{SECURITY_ERROR}"
    )
    assert error == (CUT_MOD_IN_FRAMING[framing] or mismatch)
    assert not (tmp_path / f"gopath/pkg/mod/cache/download/{MODULE}/@v/{VERSION}.mod").exists()


# --- the database through the GOPROXY, as public proxies serve sum.golang.org ------------------


def proxy_paths(net: Network) -> list[tuple[str, int]]:
    return [
        (x.path, x.status)
        for c in net.log
        if c.host == "proxy.test"
        for x in c.exchanges
        if x.path.startswith("/sumdb/")
    ]


def test_go_reaches_a_proxied_database_through_the_proxy(
    go, tmp_path, net, proxy, store, sumdb
) -> None:
    proxy.proxy_sumdb(sumdb)
    (info,) = download(go, tmp_path, net, GOSUMDB=sumdb.key).check().json_objects()
    assert info["GoModSum"] == store.get(MODULE, VERSION).go_mod_h1
    assert proxy_paths(net) == [
        ("/sumdb/sum.test/supported", 200),
        (f"/sumdb/sum.test{LOOKUP}", 200),
        ("/sumdb/sum.test/tile/8/0/000.p/2", 200),
    ]
    assert sumdb_paths(net) == []  # go never went to the database's own host
    assert sumdb.requests == [("GET", LOOKUP, 200), ("GET", TILE, 200)]


def test_go_goes_to_the_database_when_the_proxy_does_not_proxy_it(go, tmp_path, net, sumdb) -> None:
    download(go, tmp_path, net, GOSUMDB=sumdb.key).check()
    # go asked twice (as it does for sum.golang.org), then went to the database itself.
    assert proxy_paths(net) == [("/sumdb/sum.test/supported", 404)] * 2
    assert sumdb_paths(net) == [(LOOKUP, 200), (TILE, 200)]


# --- tile boundaries: go proves records across full tiles and level-1 tiles ------------------


@pytest.mark.parametrize("before", [254, 255, 256, 511, 512, 1000])
def test_go_verifies_a_record_past_tile_boundaries(go, tmp_path, net, store, before) -> None:
    sumdb = SumDB("sum.test", stores=lambda: [store])
    for i in range(before):
        sumdb.add(f"example.test/filler{i}", VERSION, h1=f"h1:zip{i}=", go_mod_h1=f"h1:mod{i}=")
    net.add_handler("sum.test", sumdb.handle)
    key = f"{sumdb.key} https://sum.test"
    result = download(go, tmp_path, net, GOSUMDB=key).check()
    size = before + 2  # the fillers, then MODULE and OTHER from the store
    tiles = {path: status for _, path, status in sumdb.requests if path.startswith("/tile/")}
    # go proved record `before` with these tiles: they were right, whatever their level.
    assert set(tiles.values()) == {200}
    assert f"/{Tile(8, 0, before >> 8, min(size - (before >> 8 << 8), 256)).path}" in tiles
    level_1 = {p for p in tiles if p.startswith("/tile/8/1/")}
    assert level_1 == ({f"/{Tile(8, 1, 0, size >> 8).path}"} if size >= 256 else set())
    assert result.json_objects()[0]["GoModSum"] == store.get(MODULE, VERSION).go_mod_h1


def test_a_wrong_level_1_tile_fails_the_proof(go, tmp_path, net, store) -> None:
    sumdb = SumDB("sum.test", stores=lambda: [store])
    for i in range(300):
        sumdb.add(f"example.test/filler{i}", VERSION, h1=f"h1:zip{i}=", go_mod_h1=f"h1:mod{i}=")
    net.add_handler("sum.test", sumdb.handle)
    net.fault("sum.test", Corrupt(5, 1, where="body"), path="/tile/8/1/*")
    error = error_of(download(go, tmp_path, net, GOSUMDB=f"{sumdb.key} https://sum.test"))
    assert error == PREFIX + "downloaded inconsistent tile"


# --- modules no store of the network serves: GOPROXY=direct --------------------------------


@pytest.mark.parametrize("logged", [True, False], ids=["added", "not added"])
def test_a_direct_module_is_verified_once_the_database_has_it(
    go, tmp_path, gomodnet, sumdb_free_store, logged
) -> None:
    elsewhere = sumdb_free_store.add("direct.test/m", VERSION, files=FILES)
    gomodnet.add_goimport("direct.test").add("direct.test/m", repo="https://mods.test")
    gomodnet.add_handler("mods.test", GoProxy(sumdb_free_store).handle)  # not a GOPROXY host
    sumdb = gomodnet.add_sumdb("sum.test")
    if logged:
        sumdb.add("direct.test/m", VERSION, h1=elsewhere.h1, go_mod_h1=elsewhere.go_mod_h1)
    result = go.run(
        "mod", "download", "-json", f"direct.test/m@{VERSION}",
        home=tmp_path, env=gomodnet.go_env(GOPROXY="direct"),
    )  # fmt: skip
    (info,) = result.json_objects()
    if logged:
        assert (result.returncode, info["Sum"]) == (0, elsewhere.h1)
    else:
        assert info["Error"] == (
            "direct.test/m@v1.0.0: verifying go.mod: direct.test/m@v1.0.0/go.mod: "
            "reading https://sum.test/lookup/direct.test/m@v1.0.0: 404 Not Found\n"
            "\tserver response: not found: direct.test/m@v1.0.0: not in sum.test"
        )


@pytest.fixture
def sumdb_free_store():
    with ModuleStore() as store:
        yield store


def test_a_database_added_again_replaces_the_first(go, tmp_path, net, sumdb) -> None:
    second = net.add_sumdb("sum.test", replace=True)
    assert net.go_env()["GOSUMDB"] == f"{second.key} https://sum.test" != sumdb.key
    download(go, tmp_path, net).check()
    assert (sumdb.requests, len(second.requests)) == ([], 2)
