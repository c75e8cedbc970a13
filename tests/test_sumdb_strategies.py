"""Strategies for checksum-database faults and tile boundaries, and the property they
serve: go never takes a module the database does not vouch for."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument

from _helpers import draws
from pytest_gomodnet.faults import Corrupt, Status, Truncate
from pytest_gomodnet.strategies import sumdb_faults, tree_sizes
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tlog import Log, Tile

MODULE, VERSION = "example.test/m", "v1.0.0"


def test_sumdb_faults_draw_every_one_download_kind() -> None:
    drawn = draws(sumdb_faults(), 200)
    assert {f.kind for f in drawn} == {"bytes", "short_tiles", "forge", "wrong_key"}
    plans = {type(f.plan) for f in drawn if f.kind == "bytes"}
    assert plans == {Truncate, Corrupt, Status}
    assert {f.path for f in drawn if f.kind == "bytes"} == {"/lookup/*", "/tile/*"}
    assert all(0 <= f.keep < 32 for f in drawn if f.kind == "short_tiles")


def test_sumdb_faults_by_name() -> None:
    assert {f.kind for f in draws(sumdb_faults(kinds=["fork", "stale"]), 30)} == {
        "fork",
        "stale",
    }


@pytest.mark.parametrize("kinds", [[], ["nope"], ["fork", "lie"]])
def test_sumdb_faults_refuse_unknown_kinds(kinds) -> None:
    with pytest.raises(InvalidArgument, match=r"must be a non-empty list of bytes, short_tiles"):
        sumdb_faults(kinds=kinds).example()


def test_tree_sizes_lean_on_tile_edges() -> None:
    # Hypothesis never draws one example twice, so leaning shows as every edge drawn.
    drawn = set(draws(tree_sizes(), 200))
    edges = {255, 256, 257, 511, 512, 513, 767, 768, 769, 65535, 65536, 65537}
    assert drawn & edges == edges
    assert all(1 <= size <= 65537 for size in drawn)
    assert set(draws(tree_sizes(height=2, max_size=5), 100)) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"height": 0}, "height=0 must be"), ({"max_size": 0}, "max_size=0 must be")],
)
def test_tree_sizes_refuse_bad_options(kwargs, problem) -> None:
    with pytest.raises(InvalidArgument, match=problem):
        tree_sizes(**kwargs).example()


@settings(max_examples=25, deadline=None)
@given(size=tree_sizes(max_size=1100))
def test_hash_tiles_rebuild_the_tree_hash_at_any_size(size) -> None:
    # From the tile definition alone: the complete subtrees covering [0, size), read from
    # the tiles of their levels, fold (right to left) into the tree hash.
    log = Log()
    for i in range(size):
        log.append(b"r%d\n" % i)
    subtrees, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            tile_level, inside = divmod(level, 8)
            if inside:  # not stored at a tile level: fold its 2^inside hashes one level up
                subtrees.append(_fold(log, tile_level, start >> (8 * tile_level), 1 << inside))
            else:
                index = start >> level
                tile = Tile(8, tile_level, index >> 8, (index & 255) + 1)
                subtrees.append(log.tile_data(tile)[-32:])
            start += 1 << level
    root = subtrees.pop()
    while subtrees:
        root = _node(subtrees.pop(), root)
    assert root == log.tree_hash()


def _fold(log: Log, tile_level: int, first: int, count: int) -> bytes:
    tile = Tile(8, tile_level, first >> 8, (first & 255) + count)
    data = log.tile_data(tile)
    hashes = [data[i : i + 32] for i in range(len(data) - 32 * count, len(data), 32)]
    while len(hashes) > 1:
        hashes = [_node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def _node(left: bytes, right: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(b"\x01" + left + right).digest()


# --- the property, with the real go command ---------------------------------------------------


@pytest.fixture
def store(module_store):
    module_store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
    module_store.add("example.test/other", VERSION)
    return module_store


# One network for all examples (function-scoped fixtures are shared by them): each example
# gets its own database host and go home, and reads only its own log entries.
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fault=sumdb_faults())
def test_go_never_takes_what_the_database_does_not_vouch_for(go, gomodnet, store, fault) -> None:
    gomodnet.add_goproxy("proxy.test", store, replace=True)
    host = f"sum{len(gomodnet.hosts)}.test"
    sumdb = SumDB(host, stores=lambda: [store])
    gomodnet.add_handler(host, sumdb.handle)
    seen = len(gomodnet.log)
    fault.arm(gomodnet, sumdb, module=MODULE, version=VERSION)
    env = gomodnet.go_env(GOSUMDB=f"{sumdb.key} https://{host}")
    with tempfile.TemporaryDirectory() as home:
        result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=Path(home), env=env)
        extracted = (Path(home) / "gopath/pkg/mod/example.test/m@v1.0.0").exists()
    (info,) = result.json_objects()
    stored = store.get(MODULE, VERSION)
    if result.ok:
        assert (info["Sum"], info["GoModSum"]) == (stored.h1, stored.go_mod_h1)
    else:
        assert info["Error"].startswith(f"{MODULE}@{VERSION}: verifying go.mod: "), info
        assert not extracted
    # Evidence: the fault met go.
    sumdb.check_fired()
    if fault.kind == "bytes":
        assert _fired(gomodnet, seen, host, fault.plan), gomodnet.format_log()


def _fired(gomodnet, seen: int, host: str, plan: object) -> bool:
    """Whether ``plan`` met an exchange with ``host``; the Router logs a connection as it
    winds down, which may be just after go exits."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        log = gomodnet.log[seen:]
        if any(x.fault == repr(plan) for c in log if c.host == host for x in c.exchanges):
            return True
        time.sleep(0.01)
    return False
