"""Proxy cases for the checksum database a proxy serves as ``/sumdb/<name>/…``.

A proxy that says ``supported`` must serve the database byte for byte, and a cut tile
from upstream is never passed on or kept (FAILURES 24, 25).
"""

from __future__ import annotations

import pytest

from pytest_gomodnet.faults import Truncate
from pytest_gomodnet.modules import escape_path
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tlog import TILE_HEIGHT, Tile

from . import case
from .evidence import exchanges
from .harness import UPSTREAM_HOST, Answer, ProxyCase

# --- the protocol, with a healthy upstream -------------------------------------------


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
