"""Conformance cases for clients: anything that downloads a module through GOPROXY.

Every case lets the client under test download ``example.test/m@v1.0.0``
from ``https://proxy.test`` (or through a GOPROXY list, or by go-import
discovery) while the network misbehaves, and then looks at what the client
said and what it left in its directory: the whole right zip, or an error and
no zip at all. The real go command is the reference: where it fails a case,
that is a finding recorded in docs/conformance.md.
"""

from __future__ import annotations

from pytest_gomodnet.faults import (
    ChunkedCut,
    Corrupt,
    FaultPlan,
    HtmlLogin,
    LieContentLength,
    Reset,
    Stall,
    Status,
    Truncate,
)
from pytest_gomodnet.goimport import VARIANTS, Variant
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tls import ShapeName

from . import case
from .harness import BROKEN_CHAINS, CONTROL, PROXY_HOST, ClientCase

#: How many attempts in a row a persistent fault spoils (more than any client retries).
#: Armed with ``must_fire=1``: the first attempt must meet it; a client that gives up
#: after it leaves the rest unused, rightly.
PERSISTENT = 6
#: Seconds a stalled proxy stays silent before it closes.
STALL_SECONDS = 2.0
MIRROR_HOST = "mirror.test"
#: The host whose go-import pages GOPROXY=direct cases discover the module from.
DISCOVERY_HOST = "example.test"


@case("clean", "MUST", "a healthy proxy gives the whole zip, with the upstream's h1")
def test_clean(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.expect_success(client.run(), stored)


TRUNCATIONS = {
    "zip-cut-mid-body": ("*.zip", Truncate(200, where="body")),
    "zip-cut-at-last-byte": ("*.zip", Truncate(-1, where="body-end")),
    "zip-cut-in-headers": ("*.zip", Truncate(20)),
    "zip-lying-content-length": ("*.zip", LieContentLength(100)),
    "zip-chunked-cut": ("*.zip", ChunkedCut(100)),
    "zip-reset": ("*.zip", Reset(200, where="body")),
    "zip-stalled": ("*.zip", Stall(100, seconds=STALL_SECONDS, where="body")),
    "zip-corrupt-byte": ("*.zip", Corrupt(300, where="body")),
    "zip-html-login-200": ("*.zip", HtmlLogin()),
    "zip-500": ("*.zip", Status(500, b"internal error\n")),
    "mod-cut": ("*.mod", Truncate(5, where="body")),
    "info-cut": ("*.info", Truncate(5, where="body")),
}


@case(
    "fault",
    "MUST",
    "a response that ends early, lies about its length, resets, stalls, is corrupt or is "
    "an HTML page is an error, and no partial zip is kept (FAILURES 1, 7; golang/go#52727)",
    variants=TRUNCATIONS,
)
def test_fault(gomodnet_client_case: ClientCase, variant: tuple[str, FaultPlan]) -> None:
    client = gomodnet_client_case
    stored = client.add()
    path, plan = variant
    client.fault(PROXY_HOST, *[plan] * PERSISTENT, path=path, must_fire=1)
    run = client.run()
    client.expect_fault_met(run, PROXY_HOST, path)
    client.expect_failure(run, stored, f"every {path} answer had {plan!r}")
    client.clear_faults(PROXY_HOST, path)
    client.expect_control(stored)


#: The go.mod after its module line in the close-delimited cases: a cut can end a line.
GO_MOD_TAIL = b"\ngo 1.21\n"
#: A cut of each file a client can see by checking it: the zip's structure, the .info's
#: JSON, the .mod's module line ("module exa" names another module).
CLOSE_DELIMITED_CUTS = {
    "zip": ("*.zip", Truncate(200, where="body")),
    "info": ("*.info", Truncate(-1, where="body-end")),
    "mod": ("*.mod", Truncate(10, where="body")),
}


def _close_delimited_cut(client: ClientCase, path: str, plan: FaultPlan) -> None:
    stored = client.add(go_mod_tail=GO_MOD_TAIL)
    client.network.frame(PROXY_HOST, "close")
    client.fault(PROXY_HOST, *[plan] * PERSISTENT, path=path, must_fire=1)
    why = f"every {path} answer was close-delimited and cut: {plan!r}"
    run = client.run()
    client.expect_fault_met(run, PROXY_HOST, path)
    client.expect_failure(run, stored, why)
    client.clear_faults(PROXY_HOST, path)
    client.expect_control(stored)


@case(
    "close-delimited-cut",
    "MUST",
    "an answer with no length (Connection: close) cut short looks complete to HTTP: the "
    "client must check what it got (the zip's structure, the .info's JSON, the .mod's "
    "module line), fail, and keep no partial zip",
    variants=CLOSE_DELIMITED_CUTS,
)
def test_close_delimited_cut(
    gomodnet_client_case: ClientCase, variant: tuple[str, FaultPlan]
) -> None:
    _close_delimited_cut(gomodnet_client_case, *variant)


@case(
    "close-delimited-mod-cut-at-line",
    "SHOULD",
    "a close-delimited .mod cut where a line ends parses as the module's go.mod: only the "
    "go.mod in the module's zip (or go.sum, the checksum database) tells, so a client that "
    "has the zip SHOULD compare them",
)
def test_close_delimited_mod_cut_at_line(gomodnet_client_case: ClientCase) -> None:
    _close_delimited_cut(
        gomodnet_client_case, "*.mod", Truncate(-len(GO_MOD_TAIL), where="body-end")
    )


@case(
    "retry-after-cut",
    "SHOULD",
    "a cut is transient: one more attempt gets the whole zip (FAILURES 4; golang/go#28194)",
)
def test_retry_after_cut(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.fault(PROXY_HOST, Truncate(200, where="body"), None, path="*.zip")
    run = client.run()
    client.expect_fault_met(run, PROXY_HOST, "*.zip")
    client.expect_success(run, stored)


@case(
    "no-retry-on-not-found",
    "MUST",
    "404 is final: no retry loop (FAILURES 4: retry only what is transient); one repeat "
    "is allowed, as go asks a 4xx once more with GOAUTH credentials",
)
def test_no_retry_on_not_found(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.fault(PROXY_HOST, *[Status(404, b"not found\n")] * PERSISTENT, path="*.zip", must_fire=1)
    run = client.run()
    client.expect_fault_met(run, PROXY_HOST, "*.zip")
    client.expect_failure(run, stored, "the zip is 404")
    asked = [
        x.path
        for c in client.network.log
        if c.host == PROXY_HOST
        for x in c.exchanges
        if x.path.endswith(".zip")
    ]
    if not 1 <= len(asked) <= 2:
        raise AssertionError(
            client.story(f"asked for the 404 zip {len(asked)} times, not once or twice", run)
        )
    client.clear_faults(PROXY_HOST, "*.zip")
    client.expect_control(stored)


def _second_proxy(client: ClientCase, status: int) -> str:
    """A mirror.test that answers every request with ``status``; returns the list."""
    client.network.add_goproxy(MIRROR_HOST, client.store)
    client.fault(MIRROR_HOST, *[Status(status, b"mirror says no\n")] * PERSISTENT, must_fire=1)
    return f"https://{MIRROR_HOST}"


@case(
    "fallback-on-not-found",
    "MUST",
    "GOPROXY=a,b: a's 404 or 410 moves on to b (FAILURES 11)",
    variants={"404": 404, "410": 410},
)
def test_fallback_on_not_found(gomodnet_client_case: ClientCase, variant: int) -> None:
    client = gomodnet_client_case
    stored = client.add()
    first = _second_proxy(client, variant)
    run = client.run(f"{first},https://{PROXY_HOST}")
    client.expect_fault_met(run, MIRROR_HOST)
    client.expect_success(run, stored)


@case(
    "no-fallback-on-error",
    "SHOULD",
    "GOPROXY=a,b: a's 500 is an error, not a reason to try b (FAILURES 11, 14)",
    variants={"500": 500, "403": 403},
)
def test_no_fallback_on_error(gomodnet_client_case: ClientCase, variant: int) -> None:
    client = gomodnet_client_case
    stored = client.add()
    first = _second_proxy(client, variant)
    run = client.run(f"{first},https://{PROXY_HOST}")
    client.expect_fault_met(run, MIRROR_HOST)
    client.expect_failure(run, stored, f"the first proxy said {variant}")
    client.clear_faults(MIRROR_HOST)
    client.expect_control(stored, f"{first},https://{PROXY_HOST}")


@case(
    "pipe-falls-through",
    "SHOULD",
    "GOPROXY=a|b: any error at a moves on to b, a cut zip included (FAILURES 11)",
)
def test_pipe_falls_through(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.network.add_goproxy(MIRROR_HOST, client.store)
    client.fault(
        MIRROR_HOST, *[Truncate(200, where="body")] * PERSISTENT, path="*.zip", must_fire=1
    )
    run = client.run(f"https://{MIRROR_HOST}|https://{PROXY_HOST}")
    client.expect_fault_met(run, MIRROR_HOST, "*.zip")
    client.expect_success(run, stored)


@case(
    "tls-broken",
    "MUST",
    "a proxy whose certificate chain does not verify is an error (FAILURES 26)",
    variants=BROKEN_CHAINS,
)
def test_tls_broken(gomodnet_client_case: ClientCase, variant: ShapeName) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.network.add_goproxy(PROXY_HOST, client.store, shape=variant, replace=True)
    run = client.run()
    client.expect_connection(run, PROXY_HOST)
    client.expect_failure(run, stored, f"the proxy's chain is {variant}")
    client.repair_proxy()
    client.expect_control(stored)


@case(
    "tls-chain-out-of-order",
    "SHOULD",
    "a chain whose intermediates come in reverse order still verifies, as it does for "
    "go, Python and OpenSSL (docs/tls.md)",
)
def test_tls_chain_out_of_order(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.network.add_goproxy(PROXY_HOST, client.store, shape="wrong-order", replace=True)
    client.expect_success(client.run(), stored)


#: Every go-import page variant go 1.27 refuses (docs/goimport.md): all but the good
#: page, a 404 that still carries the tag, and a tag for the request path itself.
DISCOVERY_FAILURES: dict[str, Variant] = {
    variant: variant
    for variant in VARIANTS
    if variant not in ("good", "not-found-with-tag", "prefix-is-request-path")
}


@case(
    "discovery",
    "MUST",
    "GOPROXY=direct: a good mod go-import tag leads to the module (go help importpath)",
)
def test_discovery(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    client.network.add_goimport(DISCOVERY_HOST).add(
        client.module, vcs="mod", repo=f"https://{PROXY_HOST}"
    )
    run = client.run("direct")
    client.expect_fault_met(run, DISCOVERY_HOST, "*go-get=1*", faulted=False)
    client.expect_success(run, stored)


@case(
    "discovery-broken",
    "MUST",
    "GOPROXY=direct: a page without a usable go-import tag (none, mismatched, two, after "
    "<body>, cut inside the tag, a login page, a redirect to http) is an error "
    "(FAILURES 15-18)",
    variants=DISCOVERY_FAILURES,
)
def test_discovery_broken(gomodnet_client_case: ClientCase, variant: Variant) -> None:
    client = gomodnet_client_case
    stored = client.add()
    pages = client.network.add_goimport(DISCOVERY_HOST)
    pages.add(client.module, vcs="mod", repo=f"https://{PROXY_HOST}", variant=variant)
    run = client.run("direct")
    client.expect_fault_met(run, DISCOVERY_HOST, "*go-get=1*", faulted=False)
    client.expect_failure(run, stored, f"the go-import page is {variant}")
    control = f"{DISCOVERY_HOST}/{CONTROL}"
    pages.add(control, vcs="mod", repo=f"https://{PROXY_HOST}")
    client.expect_control(client.add(control), "direct")


# --- the checksum database (FAILURES 9, 10) ------------------------------------------------

#: The network's checksum database in these cases, as GOSUMDB names it: ``<key> https://host``.
SUMDB_HOST = "sum.test"


def _database(client: ClientCase) -> tuple[SumDB, str]:
    sumdb = client.network.add_sumdb(SUMDB_HOST)
    return sumdb, f"{sumdb.key} https://{SUMDB_HOST}"


@case(
    "sumdb-clean",
    "MUST",
    "with GOSUMDB naming the network's checksum database, a healthy proxy and database give "
    "the whole zip (the control for sumdb-lying-proxy)",
)
def test_sumdb_clean(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    stored = client.add()
    _, gosumdb = _database(client)
    client.expect_success(client.run(gosumdb=gosumdb), stored)


@case(
    "sumdb-lying-proxy",
    "SHOULD",
    "a zip whose h1 is not the one the checksum database (GOSUMDB) logged is refused and not "
    "kept, as the go command does: a proxy or mirror that serves other bits is caught "
    "(FAILURES 9, 10)",
)
def test_sumdb_lying_proxy(gomodnet_client_case: ClientCase) -> None:
    client = gomodnet_client_case
    served = client.add()
    with ModuleStore() as elsewhere:
        logged = elsewhere.add(client.module, client.version, files=LOGGED_FILES)
    sumdb, gosumdb = _database(client)
    sumdb.add(client.module, client.version, h1=logged.h1, go_mod_h1=logged.go_mod_h1)
    run = client.run(gosumdb=gosumdb)
    client.expect_fault_met(run, PROXY_HOST, "*.zip", faulted=False)
    client.expect_fault_met(run, SUMDB_HOST, "/lookup/*", faulted=False)
    client.expect_failure(
        run,
        logged,
        f"the proxy's zip ({served.h1}) is not the one {SUMDB_HOST} logged ({logged.h1})",
    )
    client.expect_control(client.add(f"{client.module}/{CONTROL}"), gosumdb=gosumdb)


#: The module as the checksum database knows it: same go.mod, other code.
LOGGED_FILES = {"m.go": b"package m\n\n// The bits the checksum database vouches for.\n"}
