"""verified_lookup believes a checksum database only as far as it proves what it says."""

from __future__ import annotations

import re

import pytest

from pytest_gomodnet.faults import Corrupt
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.sumdb_client import SumDBError, VerifiedRecord, verified_lookup

MODULE, OTHER, VERSION = "example.test/m", "example.test/Other", "v1.0.0"


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
    module_store.add(OTHER, VERSION)
    return module_store


@pytest.fixture
def sumdb(gomodnet: Network, store: ModuleStore) -> SumDB:
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet.add_sumdb("sum.test")


def lookup(net: Network, sumdb: SumDB, module: str = MODULE, *, gosumdb: str = "") -> object:
    with net.client() as client:
        return verified_lookup(gosumdb or f"{sumdb.key} https://sum.test", module, VERSION,
                               client=client)  # fmt: skip


@pytest.mark.parametrize("with_url", [True, False])
def test_a_proved_record_gives_its_hashes(gomodnet, sumdb, store, with_url) -> None:
    gosumdb = f"{sumdb.key} https://sum.test" if with_url else sumdb.key  # the name is the host
    stored = store.get(OTHER, VERSION)
    assert lookup(gomodnet, sumdb, OTHER, gosumdb=gosumdb) == VerifiedRecord(
        stored.h1, stored.go_mod_h1, record_id=1, tree_size=2
    )
    assert sumdb.requests == [
        ("GET", "/lookup/example.test/!other@v1.0.0", 200),
        ("GET", "/tile/8/0/000.p/2", 200),
    ]


@pytest.mark.parametrize(
    ("arm", "problem"),
    [
        (lambda db: db.wrong_key(), "invalid signature for key sum.test"),
        (lambda db: db.wrong_key(same_key_hash=False), "note has no verifiable signatures"),
        (lambda db: db.forge(MODULE, VERSION), "record 0 is not the one the signed tree holds"),
        (lambda db: db.short_tiles(40), "tile/8/0/000.p/2 has 40 bytes, want 64"),
    ],
    ids=["other key", "other key hash", "forged record", "short tile"],
)
def test_what_the_database_cannot_prove_is_refused(gomodnet, sumdb, arm, problem) -> None:
    arm(sumdb)
    with pytest.raises(SumDBError, match=f"^{re.escape(problem)}$"):
        lookup(gomodnet, sumdb)


def test_a_record_past_the_signed_tree_is_refused(gomodnet, sumdb, store) -> None:
    sumdb.stale(1)
    with pytest.raises(SumDBError, match=r"^record 1 is not in the signed tree of 1$"):
        lookup(gomodnet, sumdb, OTHER)


def test_tiles_that_do_not_add_up_are_refused(gomodnet, sumdb) -> None:
    gomodnet.fault("sum.test", Corrupt(40, 1, where="body"), path="/tile/*")  # record 1's hash
    with pytest.raises(SumDBError, match=r"^the tiles do not add up to the signed tree$"):
        lookup(gomodnet, sumdb)


def test_a_missing_record_is_an_error_with_the_status(gomodnet, sumdb) -> None:
    with pytest.raises(SumDBError) as failure:
        lookup(gomodnet, sumdb, "example.test/none")
    assert str(failure.value) == (
        "reading https://sum.test/lookup/example.test/none@v1.0.0: 404 Not Found"
    )


@pytest.mark.parametrize(
    ("gosumdb", "problem"),
    [
        ("a b c", "is not '<verifier key> [<url>]'"),
        ("sum.test", "is not a verifier key <name>+<hash>+<key>"),
        ("sum.test+zz+AQ==", "is not a verifier key <name>+<hash>+<key>"),
        ("sum.test+00000000+AQ==", "is not an Ed25519 verifier key with its own hash"),
    ],
)
def test_bad_gosumdb_values(gomodnet, sumdb, gosumdb, problem) -> None:
    with pytest.raises(SumDBError, match=re.escape(problem)):
        lookup(gomodnet, sumdb, gosumdb=gosumdb)
