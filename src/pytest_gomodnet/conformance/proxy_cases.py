"""Conformance cases for GOPROXY proxies and mirrors.

Every case asks the proxy under test for one module version that only it
uses, served by the suite's upstream at ``https://upstream.test``, with the
upstream misbehaving the way real ones have (FAILURES n = the numbered entry
in the project's list of real failures). The protocol itself is
https://go.dev/ref/mod#goproxy-protocol.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug import Request, Response
from werkzeug.utils import redirect

from pytest_gomodnet.faults import (
    ChunkedCut,
    FaultPlan,
    HtmlLogin,
    LieContentLength,
    Reset,
    Stall,
    Status,
    Throttle,
    Truncate,
)
from pytest_gomodnet.goproxy import GoProxy, StoredVersion
from pytest_gomodnet.modules import escape_path
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tlog import TILE_HEIGHT, Tile
from pytest_gomodnet.tls import ShapeName

from . import case
from .evidence import exchanges
from .harness import (
    ANSWER_TIMEOUT,
    BROKEN_CHAINS,
    UPSTREAM_HOST,
    Answer,
    ProxyCase,
    zip_h1_or_problem,
)

#: Seconds a stalled upstream stays silent before it closes (targets should not wait longer).
STALL_SECONDS = 3.0
#: The longest a mirror may go on answering "gone" once the upstream has the version: a
#: short negative cache (nginx's common ``proxy_cache_valid 404 410 1m``) spares the
#: upstream repeated misses; a long one keeps a version unreachable (FAILURES 13).
GONE_CACHE_SECONDS = 60.0
#: How often a cached "gone" is asked again within that time.
GONE_POLL_SECONDS = 1.0
#: Past that time, for a cache whose clock started before ours and counts whole seconds.
GONE_SLACK_SECONDS = 5.0
#: Concurrent requests for one uncached zip.
CONCURRENT = 20
#: How fast the upstream sends that zip: about 0.75 s for its head and ~550 bytes.
UPSTREAM_BYTES_PER_SECOND = 1_000
#: The other requests go out once the upstream has sent this much of the first answer: past
#: its head (under 200 bytes), with about half a second of body still to come.
IN_FLIGHT_BYTES = 250

#: Why a target that reaches the upstream in plain HTTP gets no TLS verdict.
PLAIN_UPSTREAM = (
    "the target reaches the upstream through {upstream_http}, in plain HTTP: "
    "there is no certificate chain it could refuse"
)

# --- the protocol, with a healthy upstream -------------------------------------------


@case("list", "MUST", "@v/list lists the upstream's versions (GOPROXY protocol: $mod/@v/list)")
def test_list(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    proxy.add("v1.0.0")
    proxy.add("v1.1.0")
    answer = proxy.get(proxy.url("@v/list"))
    listed = answer.body.decode("utf-8", "replace").split() if answer.ok else []
    if sorted(listed) != ["v1.0.0", "v1.1.0"]:
        raise AssertionError(proxy.story("expected the versions v1.0.0 and v1.1.0", answer))


@case("info", "MUST", ".info is the upstream's JSON: go checks Version is the one it asked for")
def test_info(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    answer = proxy.get(proxy.url("@v/v1.0.0.info"))
    if not (answer.ok and _same_info(answer.body, stored)):
        raise AssertionError(proxy.story(f"expected .info with {json.loads(stored.info)}", answer))


def _same_info(body: bytes, stored: StoredVersion) -> bool:
    """Whether ``body`` is JSON with every field of the upstream's .info, with its values."""
    try:
        info = json.loads(body)
    except ValueError:
        return False
    wanted = json.loads(stored.info)
    return isinstance(info, dict) and {k: info.get(k) for k in wanted} == wanted


@case("mod", "MUST", ".mod is the upstream's go.mod byte for byte (its h1 goes into go.sum)")
def test_mod(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    answer = proxy.get(proxy.url("@v/v1.0.0.mod"))
    if not answer.ok or answer.body != stored.go_mod:
        raise AssertionError(proxy.story(f"expected the go.mod {stored.go_mod!r}", answer))


@case("zip", "MUST", ".zip has the upstream's h1 (what go.sum and the checksum database check)")
def test_zip(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    proxy.expect_zip(proxy.get(proxy.zip_url()), stored)


@case("zip-byte-exact", "SHOULD", "a mirror serves the upstream's zip bytes, not a rebuilt zip")
def test_zip_byte_exact(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    answer = proxy.get(proxy.zip_url())
    if not answer.ok or answer.body != stored.zip_path.read_bytes():
        raise AssertionError(proxy.story("expected the upstream's zip bytes", answer))


@case("latest", "MUST", "@latest names the newest release (GOPROXY protocol: $mod/@latest)")
def test_latest(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    proxy.add("v1.0.0")
    proxy.add("v1.1.0")
    answer = proxy.get(proxy.url("@latest"))
    try:
        version = json.loads(answer.body).get("Version") if answer.ok else None
    except (ValueError, AttributeError):
        version = None
    if version != "v1.1.0":
        raise AssertionError(proxy.story("expected @latest to be v1.1.0", answer))


@case(
    "case-encoded",
    "MUST",
    "upper case travels as !x, percent-encoded as %21x by the go command (FAILURES 19)",
    variants={"bang": "!", "percent-21": "%21"},
)
def test_case_encoded(gomodnet_proxy_case: ProxyCase, variant: str) -> None:
    proxy = gomodnet_proxy_case
    module = f"{proxy.module}/Upper/M"
    stored = proxy.add("v1.0.0", module=module)
    url = proxy.zip_url(module=module).replace("!", variant)
    proxy.expect_zip(proxy.get(url), stored, f"the zip of {module} at {url}")


@case("at-escaped", "SHOULD", "@v spelled %40v reaches the same file (FAILURES 20)")
def test_at_escaped(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    url = proxy.zip_url().replace("/@v/", "/%40v/")
    proxy.expect_zip(proxy.get(url), stored, f"the zip at {url}")


# --- not found -------------------------------------------------------------------------


@case(
    "not-found",
    "MUST",
    "a version the upstream does not have is 404 or 410, never 400 or 5xx: "
    "only those let GOPROXY=a,b fall through (FAILURES 11, 12)",
    variants={"404": 404, "410": 410},
)
def test_not_found(gomodnet_proxy_case: ProxyCase, variant: int) -> None:
    proxy = gomodnet_proxy_case
    proxy.add("v1.0.0")
    proxy.network.add_goproxy(UPSTREAM_HOST, proxy.store, missing_status=variant, replace=True)
    for endpoint in ("@v/v9.9.9.info", "@v/v9.9.9.mod", "@v/v9.9.9.zip"):
        answer = proxy.get(proxy.url(endpoint))
        proxy.expect_fault_met(proxy.upstream_glob(), answer, faulted=False)
        proxy.expect_not_found(answer)
    proxy.expect_control()


@case("unknown-module-list", "SHOULD", "@v/list of an unknown module is 404/410 (FAILURES 22)")
def test_unknown_module_list(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    answer = proxy.get(proxy.url("@v/list"))
    proxy.expect_fault_met(proxy.upstream_glob(), answer, faulted=False)
    proxy.expect_not_found(answer)
    proxy.expect_control()


@case(
    "sumdb-supported",
    "MUST",
    "/sumdb/<name>/supported is 200 (proxied) or 404/410 (go then asks the sumdb itself), "
    "never 400 or 5xx (FAILURES 24)",
)
def test_sumdb_supported(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    answer = proxy.get(f"{proxy.target.url}/sumdb/sum.golang.org/supported")
    if answer.error is not None or answer.status not in (200, 404, 410):
        raise AssertionError(proxy.story("expected 200, 404 or 410", answer))
    proxy.expect_control()


@case(
    "gone-is-not-forever",
    "SHOULD",
    f"a 410 from the upstream is cached for at most {GONE_CACHE_SECONDS:g} s: within that "
    "time of the upstream having the version, the zip is served (FAILURES 13; a short "
    "negative cache, like nginx's proxy_cache_valid 410 1m, is fine)",
)
def test_gone_is_not_forever(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    gone = Status(410, b"not found: temporarily unavailable\n")
    healed = f"the zip, within {GONE_CACHE_SECONDS:g} s of the upstream having it"
    proxy.expect_recovery(
        gone,
        stored,
        healed,
        not_found_for=GONE_CACHE_SECONDS + GONE_SLACK_SECONDS,
        poll=GONE_POLL_SECONDS,
    )


# --- a faulty upstream: never pass it on, never keep it ------------------------------

UPSTREAM_ZIP_FAULTS: dict[str, FaultPlan] = {
    "cut-mid-body": Truncate(200, where="body"),
    "cut-at-last-byte": Truncate(-1, where="body-end"),
    "lying-content-length": LieContentLength(100),
    "chunked-cut": ChunkedCut(100),
    "reset": Reset(200, where="body"),
    "stalled": Stall(100, seconds=STALL_SECONDS, where="body"),
    "html-login-200": HtmlLogin(),
    "500-html": Status(500, b"<html><body>upstream exploded</body></html>"),
}


@case(
    "upstream-zip-fault",
    "MUST",
    "a broken upstream zip reaches the client as an error, never as a 200 with short or "
    "wrong bytes, and is not cached: the next request gets the whole zip "
    "(FAILURES 1, 7, 8; golang/go#52727)",
    variants=UPSTREAM_ZIP_FAULTS,
)
def test_upstream_zip_fault(gomodnet_proxy_case: ProxyCase, variant: FaultPlan) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    proxy.expect_recovery(variant, stored, "the zip once the upstream healed")


@case(
    "upstream-redirect",
    "SHOULD",
    "an upstream 302 is followed, or passed on with a Location that leads (from the "
    "proxy's URL) to the upstream's zip, as go follows redirects; the redirect's body is "
    "never served or stored as the zip (FAILURES 8)",
)
def test_upstream_redirect(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    serve = GoProxy(proxy.store).handle

    def redirecting(request: Request) -> Response:
        if request.path.endswith(".zip") and "moved" not in request.args:
            return redirect(f"{request.path}?moved=1", 302)
        return serve(request)

    proxy.network.add_handler(UPSTREAM_HOST, redirecting, replace=True)
    for what in ("the zip behind the redirect", "the zip asked for again"):
        proxy.expect_zip(proxy.get(proxy.zip_url(), follow_redirects=True), stored, what)


@case(
    "upstream-403",
    "SHOULD",
    "an upstream 403 is an error, not a 404/410 that would send go silently to the next "
    "proxy (FAILURES 14)",
)
def test_upstream_403(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    proxy.fault(Status(403, b"forbidden: your region\n"), path="*.zip")
    answer = proxy.get(proxy.zip_url())
    proxy.expect_fault_met(proxy.upstream_glob("@v/*.zip"), answer)
    proxy.expect_no_partial_success(answer, stored)
    if answer.status in (404, 410):
        raise AssertionError(proxy.story("turned the upstream's 403 into not-found", answer))
    proxy.expect_control()


# --- close-delimited cuts: the end of the connection is the only end ---------------------

#: The go.mod after its module line in these cases: a cut can then end where a line does.
GO_MOD_TAIL = b"\ngo 1.21\n"
#: A cut of each file that a mirror can see by checking what it got: the zip's structure,
#: the .info's JSON, the .mod's module line ("module mod.t" names another module).
CLOSE_DELIMITED_CUTS: dict[str, tuple[str, FaultPlan]] = {
    "zip": ("zip", Truncate(200, where="body")),
    "info": ("info", Truncate(-1, where="body-end")),
    "mod": ("mod", Truncate(12, where="body")),
}


def _whole(kind: str, answer: Answer, stored: StoredVersion) -> bool:
    """Whether ``answer`` is the whole upstream file of ``kind`` (zip, info or mod)."""
    if kind == "info":
        return _same_info(answer.body, stored)
    if kind == "mod":
        return answer.body == stored.go_mod
    return zip_h1_or_problem(answer.body) == stored.h1


def _close_delimited_cut(proxy: ProxyCase, kind: str, plan: FaultPlan) -> None:
    """The upstream's .``kind`` comes close-delimited and cut once: the target answers an
    error or the whole file, then (upstream healthy) the whole file, not a kept cut one."""
    stored = proxy.add("v1.0.0", go_mod_tail=GO_MOD_TAIL)
    proxy.network.frame(UPSTREAM_HOST, "close")
    proxy.fault(plan, None, path=f"*.{kind}")
    url = proxy.url(f"@v/v1.0.0.{kind}")
    first = proxy.get(url)
    proxy.expect_fault_met(proxy.upstream_glob(f"@v/*.{kind}"), first)
    passed_on = first.ok and not _whole(kind, first, stored)
    again = proxy.get(url)
    kept = not (again.ok and _whole(kind, again, stored))
    # Both halves are reported: a cache that keeps the cut poisons every later client.
    if passed_on:
        afterwards = (
            ", and kept it: asked for again, the upstream healthy, it was still not the whole file"
            if kept
            else " (not kept: asked for again, it was whole)"
        )
        raise AssertionError(
            proxy.story(
                f"passed a close-delimited cut of the .{kind} on as complete{afterwards}",
                first,
                again,
            )
        )
    if kept:
        raise AssertionError(
            proxy.story(
                f"the .{kind} asked for again, the upstream healthy: expected the whole file "
                "(was the cut one kept?)",
                again,
            )
        )
    proxy.expect_control()


@case(
    "close-delimited-cut",
    "MUST",
    "an upstream answer with no length (Connection: close) cut short looks complete to "
    "HTTP: a mirror must check what it got (the zip's structure, the .info's JSON, the "
    ".mod's module line), never pass it on as complete and never keep it",
    variants=CLOSE_DELIMITED_CUTS,
)
def test_close_delimited_cut(
    gomodnet_proxy_case: ProxyCase, variant: tuple[str, FaultPlan]
) -> None:
    _close_delimited_cut(gomodnet_proxy_case, *variant)


@case(
    "close-delimited-mod-cut-at-line",
    "SHOULD",
    "a close-delimited .mod cut where a line ends still parses as the module's go.mod: only "
    "comparing it with the go.mod in the module's zip tells, so a mirror that can SHOULD",
)
def test_close_delimited_mod_cut_at_line(gomodnet_proxy_case: ProxyCase) -> None:
    _close_delimited_cut(gomodnet_proxy_case, "mod", Truncate(-len(GO_MOD_TAIL), where="body-end"))


# --- TLS -----------------------------------------------------------------------------------


@case(
    "upstream-tls-broken",
    "MUST",
    "an upstream whose certificate chain does not verify is an error, never a silent "
    "retry over plain http (FAILURES 26)",
    variants=BROKEN_CHAINS,
)
def test_upstream_tls_broken(gomodnet_proxy_case: ProxyCase, variant: ShapeName) -> None:
    proxy = gomodnet_proxy_case
    if not getattr(proxy.target, "upstream_tls", True):
        pytest.skip(PLAIN_UPSTREAM)
    stored = proxy.add("v1.0.0")
    proxy.network.add_goproxy(UPSTREAM_HOST, proxy.store, shape=variant, replace=True)
    answer = proxy.get(proxy.zip_url())
    proxy.expect_upstream_connection(answer)
    proxy.expect_error(answer, f"the upstream's chain is {variant}")
    proxy.expect_no_partial_success(answer, stored)
    plain = [c for c in proxy.network.log if c.host == UPSTREAM_HOST and c.mode == "http"]
    if plain:
        raise AssertionError(proxy.story("fell back to plain http after a TLS failure", answer))
    proxy.repair_upstream()
    proxy.expect_control()


# --- load --------------------------------------------------------------------------------


def _concurrent_zips(proxy: ProxyCase) -> list[Answer]:
    """One request, then the rest while the upstream is still sending its zip."""
    # A single-flight target asks the upstream once: only the first throttle must fire.
    proxy.fault(*[Throttle(UPSTREAM_BYTES_PER_SECOND)] * CONCURRENT, path="*.zip", must_fire=1)
    url = proxy.zip_url()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        first = pool.submit(proxy.get, url)
        # If the target answers without asking the upstream, the others go out at once.
        proxy.await_upstream_bytes("*.zip", IN_FLIGHT_BYTES, ANSWER_TIMEOUT, unless=first.done)
        rest = [pool.submit(proxy.get, url) for _ in range(CONCURRENT - 1)]
        return [first.result(), *(answer.result() for answer in rest)]


@case(
    "concurrent-uncached-zip",
    "MUST",
    f"{CONCURRENT} clients asking at once for one uncached zip from a slow upstream all "
    "get the whole zip (goproxy.cn#7, #37)",
)
def test_concurrent_uncached_zip(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    for answer in _concurrent_zips(proxy):
        proxy.expect_zip(answer, stored, "each of the concurrent answers")


@case(
    "single-flight",
    "SHOULD",
    f"{CONCURRENT} concurrent requests for one uncached zip cost the upstream one download",
)
def test_single_flight(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    stored = proxy.add("v1.0.0")
    answers = _concurrent_zips(proxy)
    for answer in answers:
        proxy.expect_zip(answer, stored, "each of the concurrent answers")
    hits = proxy.upstream_requests("*.zip")
    if len(hits) != 1:
        raise AssertionError(
            proxy.story(f"the upstream was asked for the zip {len(hits)} times, not once")
        )


# --- hostile requests ---------------------------------------------------------------------

HOSTILE_PATHS = {
    "dot-dot": "/../../../../etc/passwd",
    "encoded-dot-dot": "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "dot-dot-in-version": "/mod.test/x/@v/..%2f..%2f..%2fetc%2fpasswd.zip",
    "encoded-slash": "/mod.test%2f..%2f..%2fetc/@v/list",
    "nul": "/mod.test/x%00/@v/list",
    "upper-case-unescaped": "/Mod.Test/X/@v/list",
    "bad-version": "/mod.test/x/@v/v1.0.zip",
    "trailing-bang": "/mod.test/x!/@v/list",
}


@case(
    "hostile-path",
    "MUST",
    "traversal and invalid module paths or versions get a 4xx, never a file or a 5xx",
    variants=HOSTILE_PATHS,
)
def test_hostile_path(gomodnet_proxy_case: ProxyCase, variant: str) -> None:
    proxy = gomodnet_proxy_case
    status = proxy.raw_status(variant)
    if status is None or not 400 <= status <= 499:
        raise AssertionError(
            proxy.story(f"GET {variant} (sent as is) answered {status}, expected a 4xx")
        )
    proxy.expect_control()


# --- the checksum database, proxied (FAILURES 24, 25) -------------------------------------


def _database_name(proxy: ProxyCase) -> str:
    """The database a proxy is asked to proxy in this case: reachable by that name on the
    private network (for proxies that go to it directly) and as ``/sumdb/<name>/…`` at the
    upstream (for proxies that chain). Its key is the network's own; a proxy does not
    verify. A name no other case uses (``<case>.<target>.<run>.sum.test``, from the case's
    module ``mod.test/<run>/<target>/<case>``): a tile or tree a target kept from another
    case cannot answer for this one, as tiles may rightly be cached for ever."""
    labels = [label[:63].strip("-") for label in reversed(proxy.module.split("/")[1:])]
    return ".".join([*labels, "sum.test"])


def _proxied_sumdb(proxy: ProxyCase, *versions: str) -> SumDB:
    """The database, holding ``versions`` of the case's module; skips unless the target
    says it proxies it."""
    sumdb = proxy.network.add_sumdb(_database_name(proxy))
    proxy.network.add_goproxy(UPSTREAM_HOST, proxy.store, replace=True).proxy_sumdb(sumdb)
    for version in versions:
        proxy.add(version)
    _require_proxied_sumdb(proxy)
    return sumdb


def _sumdb_url(proxy: ProxyCase, path: str) -> str:
    return f"{proxy.target.url}/sumdb/{_database_name(proxy)}{path}"


def _require_proxied_sumdb(proxy: ProxyCase) -> None:
    """Skip unless the target says it proxies the database: go then never asks it."""
    answer = proxy.get(_sumdb_url(proxy, "/supported"))
    if answer.error is None and answer.status in (404, 410):
        pytest.skip(
            f"{proxy.target.name} does not proxy {_database_name(proxy)} "
            f"(supported: {answer.status}); "
            "go asks the database itself"
        )
    if not answer.ok:
        raise AssertionError(proxy.story("expected supported to be 200, 404 or 410", answer))


def _lookup(proxy: ProxyCase, version: str = "v1.0.0") -> str:
    return f"/lookup/{escape_path(proxy.module)}@{version}"


def _database_paths(proxy: ProxyCase, sumdb: SumDB) -> list[str]:
    size = sumdb.size
    return [
        "/latest",
        _lookup(proxy),
        f"/{Tile(TILE_HEIGHT, 0, 0, size).path}",
        f"/{Tile(TILE_HEIGHT, -1, 0, size).path}",
    ]


@case(
    "sumdb-proxy",
    "MUST",
    "a proxy whose /sumdb/<name>/supported is 200 serves that database's latest, lookups "
    "and tiles byte for byte: go does not fall back once supported said yes (FAILURES 24)",
)
def test_sumdb_proxy(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    sumdb = _proxied_sumdb(proxy, "v1.0.0")
    for path in _database_paths(proxy, sumdb):
        answer = proxy.get(_sumdb_url(proxy, path))
        if path.startswith("/lookup/"):  # this case's own: no cache can answer it
            _expect_database_asked(proxy, path, answer)
        expected = sumdb.serve("GET", path).get_data()
        if not answer.ok or answer.body != expected:
            raise AssertionError(
                proxy.story(
                    f"expected the database's {path} byte for byte ({len(expected)} bytes)",
                    answer,
                )
            )
    proxy.expect_control()


@case(
    "sumdb-cut-tile",
    "MUST",
    "a tile the database sends cut short reaches the client as an error, never as a 200 "
    "with fewer bytes, and is not kept: the next request gets the whole tile (FAILURES 25)",
)
def test_sumdb_cut_tile(gomodnet_proxy_case: ProxyCase) -> None:
    proxy = gomodnet_proxy_case
    sumdb = _proxied_sumdb(proxy, "v1.0.0", "v1.1.0")
    tile = f"/{Tile(TILE_HEIGHT, 0, 0, sumdb.size).path}"
    whole = sumdb.serve("GET", tile).get_data()
    host, glob = _database_host(proxy)
    proxy.network.fault(host, Truncate(40, where="body"), path=glob, must_fire=1)
    first = proxy.get(_sumdb_url(proxy, tile))
    proxy.expect_fault_met(glob, first, host=host)
    if first.ok and first.body != whole:
        raise AssertionError(
            proxy.story(
                f"passed a cut tile on as whole: 200 with {len(first.body)} of 64 bytes", first
            )
        )
    again = proxy.get(_sumdb_url(proxy, tile))
    if not again.ok or again.body != whole:
        raise AssertionError(
            proxy.story("expected the whole tile once the database was healthy", first, again)
        )
    proxy.expect_control()


def _database_host(proxy: ProxyCase) -> tuple[str, str]:
    """Where the target fetches the database from (host, tile path glob), seen in the log
    after one clean lookup through it."""
    name, lookup = _database_name(proxy), _lookup(proxy)
    answer = proxy.get(_sumdb_url(proxy, lookup))
    _expect_database_asked(proxy, lookup, answer)
    if exchanges(proxy.network.log, name, lookup):
        return name, "/tile/*"
    return UPSTREAM_HOST, f"/sumdb/{name}/tile/*"


def _expect_database_asked(proxy: ProxyCase, path: str, answer: Answer) -> None:
    """The target asked the database for ``path``: itself, or the upstream's /sumdb/<name>."""
    name = _database_name(proxy)
    if not exchanges(proxy.network.log, name, path):
        proxy.expect_fault_met(f"/sumdb/{name}{path}", answer, faulted=False)
