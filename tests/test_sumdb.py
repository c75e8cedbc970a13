"""The checksum database's parts, checked against golang.org/x/mod/sumdb's definitions.

Known answers come from outside this project: RFC 6962's Merkle tree test
vectors (as certificate-transparency and x/mod's tlog tests use them), the
example key and signed note in x/mod's ``note`` package documentation, the
published sum.golang.org verifier key, and tile paths worked out by hand from
the tile rules. Each server answer is asserted byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pytest_gomodnet.errors import UnfiredFaultError
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network
from pytest_gomodnet.note import Signer, key_hash
from pytest_gomodnet.sumdb import SumDB
from pytest_gomodnet.tlog import Log, Tile, TilePathError, node_hash, record_hash

# RFC 6962 test leaves and the tree hashes of their first n (n = 0..8).
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC6962_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# golang.org/x/mod/sumdb/note's documented example key and signed note.
PETER_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT
    + (
        "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
        "gotpRZb6KE6RyyBwJnAM=\n"
    ).encode()
)


@pytest.fixture
def rfc_log() -> Log:
    log = Log()
    for leaf in RFC6962_LEAVES:
        log.append(leaf)
    return log


# --- tlog: hashes -----------------------------------------------------------------------


def test_record_and_node_hashes_are_rfc6962_with_their_prefix_bytes() -> None:
    assert record_hash(b"") == bytes.fromhex(RFC6962_ROOTS[1])
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@pytest.mark.parametrize("size", range(9))
def test_tree_hashes_match_the_rfc6962_vectors(rfc_log, size) -> None:
    assert rfc_log.tree_hash(size).hex() == RFC6962_ROOTS[size]


def test_a_tree_hash_past_the_log_is_refused(rfc_log) -> None:
    with pytest.raises(ValueError, match=r"size=9 is outside the log \(0\.\.8\)"):
        rfc_log.tree_hash(9)


# --- tlog: tiles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(8, 0, 0, 256), "tile/8/0/000"),
        (Tile(8, 0, 0, 3), "tile/8/0/000.p/3"),
        (Tile(8, -1, 0, 1), "tile/8/data/000.p/1"),
        (Tile(8, 2, 1000, 256), "tile/8/2/x001/000"),
        (Tile(3, 4, 1234067, 1), "tile/3/4/x001/x234/067.p/1"),
        (Tile(8, 0, 123456789, 255), "tile/8/0/x123/x456/789.p/255"),
    ],
)
def test_tile_paths_follow_the_three_digit_rule(tile, path) -> None:
    assert tile.path == path
    assert Tile.parse(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/8/0/0",  # N not three digits
        "tile/8/0/1000",  # a group over 999
        "tile/8/0/x000/001",  # a leading zero group
        "tile/8/0/000.p/256",  # W = 2^H is written without .p
        "tile/8/0/000.p/0",
        "tile/8/0/000.p/007",
        "tile/0/0/000",  # H out of 1..30
        "tile/31/0/000",
        "tile/08/0/000",
        "tile/+8/0/000",
        "tile/8/-1/000",
        "tile/8/data",
        "tile/8/0/000/",
        "tiles/8/0/000",
        "tile/8/0/\u0660\u0660\u0660",  # digits, but Arabic-Indic ones
    ],
)
def test_non_canonical_tile_paths_are_refused(path) -> None:
    with pytest.raises(TilePathError, match=re.escape(f"malformed tile path {path!r}")):
        Tile.parse(path)


def test_level_0_tiles_hold_record_hashes(rfc_log) -> None:
    leaves = [record_hash(leaf) for leaf in RFC6962_LEAVES]
    assert rfc_log.tile_data(Tile(8, 0, 0, 3)) == b"".join(leaves[:3])
    assert rfc_log.tile_data(Tile(8, 0, 0, 8)) == b"".join(leaves)
    assert rfc_log.tile_data(Tile(8, 0, 0, 9)) is None
    assert rfc_log.tile_data(Tile(8, 0, 0, 3), size=2) is None


def test_higher_tiles_hold_complete_subtree_hashes(rfc_log) -> None:
    # Height 2: level 1 holds hashes of tree level 2, each the root of 4 records.
    assert rfc_log.tile_data(Tile(2, 1, 0, 1)).hex() == RFC6962_ROOTS[4]
    four_to_eight = node_hash(
        node_hash(record_hash(RFC6962_LEAVES[4]), record_hash(RFC6962_LEAVES[5])),
        node_hash(record_hash(RFC6962_LEAVES[6]), record_hash(RFC6962_LEAVES[7])),
    )
    assert rfc_log.tile_data(Tile(2, 1, 0, 2)) == bytes.fromhex(RFC6962_ROOTS[4]) + four_to_eight
    assert rfc_log.tile_data(Tile(2, 2, 0, 1)) is None  # 16 records needed
    assert rfc_log.tile_data(Tile(8, 1, 0, 1)) is None


def test_a_height_8_level_1_tile_appears_at_256_records() -> None:
    log = Log()
    for i in range(256):
        log.append(b"r%d\n" % i)
    assert log.tile_data(Tile(8, 1, 0, 1)) == log.tree_hash(256)
    log.append(b"r256\n")
    assert log.tile_data(Tile(8, 1, 0, 2)) is None
    assert log.tile_data(Tile(8, 0, 1, 1)) == record_hash(b"r256\n")


def test_data_tiles_hold_each_record_then_a_blank_line(rfc_log) -> None:
    log = Log()
    log.append(b"a b c\n")
    log.append(b"d e f\n")
    assert log.tile_data(Tile(8, -1, 0, 2)) == b"a b c\n\nd e f\n\n"
    assert log.tile_data(Tile(8, -1, 0, 3)) is None


# --- note ------------------------------------------------------------------------------


def test_the_documented_example_key_signs_the_documented_note() -> None:
    signer = Signer.from_signer_key(PETER_SIGNER)
    assert signer.verifier_key == PETER_VERIFIER
    assert signer.signer_key == PETER_SIGNER
    assert signer.sign(PETER_TEXT) == PETER_NOTE


@pytest.mark.parametrize(
    "verifier",
    [
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6",
    ],
)
def test_key_hashes_of_published_verifier_keys(verifier) -> None:
    name, hash_hex, key = verifier.split("+", 2)
    assert key_hash(name, base64.b64decode(key)[1:]) == int(hash_hex, 16)


@pytest.mark.parametrize("name", ["", "two words", "a+b"])
def test_key_names_without_spaces_or_plus(name) -> None:
    with pytest.raises(ValueError, match="must be non-empty, without spaces or '\\+'"):
        Signer(name)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("PeterNeumann+c74f20a3+AYEK", "is not PRIVATE\\+KEY"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+!!!", "is not base64"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+AgEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "0x01"),
        (
            "PRIVATE+KEY+PeterNeumann+00000000+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "c74f20a3",
        ),
    ],
)
def test_bad_signer_keys_say_what_is_wrong(key, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        Signer.from_signer_key(key)


# --- the server --------------------------------------------------------------------------

MODULE, VERSION = "example.test/m", "v1.0.0"


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files={"m.go": b"package m\n"})
    module_store.add("example.test/Upper", "v0.1.0")
    return module_store


@pytest.fixture
def sumdb(gomodnet: Network, store: ModuleStore) -> SumDB:
    gomodnet.add_goproxy("proxy.test", store)
    return gomodnet.add_sumdb("sum.test")


def get(net: Network, path: str) -> tuple[int, str, bytes]:
    with net.client() as client:
        response = client.get(f"https://sum.test{path}")
    return response.status_code, response.headers["content-type"], response.content


def verify_note(sumdb: SumDB, note: bytes) -> tuple[int, bytes]:
    """Check the note's one signature with the verifier key alone; (size, root hash)."""
    text, _, signature = note.partition(b"\n\n")
    text += b"\n"
    name, hash_hex, key = sumdb.key.split("+", 2)
    prefix = f"— {name} ".encode()
    assert signature.startswith(prefix), note
    assert signature.endswith(b"\n"), note
    blob = base64.b64decode(signature[len(prefix) : -1])
    assert blob[:4].hex() == hash_hex
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key)[1:]).verify(blob[4:], text)
    header, size, root, rest = text.split(b"\n", 3)
    assert (header, rest) == (b"go.sum database tree", b"")
    return int(size), base64.b64decode(root)


def go_sum_text(store: ModuleStore, path: str, version: str) -> bytes:
    return "".join(f"{line}\n" for line in store.get(path, version).go_sum_lines).encode()


def test_the_key_names_the_host(sumdb) -> None:
    name, hash_hex, key = sumdb.key.split("+", 2)
    assert (name, len(hash_hex), len(base64.b64decode(key))) == ("sum.test", 8, 33)
    assert repr(sumdb) == f"SumDB({sumdb.key!r})"


def test_lookup_answers_the_record_then_the_signed_tree(gomodnet, sumdb, store) -> None:
    status, content_type, body = get(gomodnet, "/lookup/example.test/!upper@v0.1.0")
    record = go_sum_text(store, "example.test/Upper", "v0.1.0")
    assert (status, content_type) == (200, "text/plain; charset=UTF-8")
    assert body.startswith(b"1\n" + record + b"\n")
    size, root = verify_note(sumdb, body.removeprefix(b"1\n" + record + b"\n"))
    first = go_sum_text(store, MODULE, VERSION)
    assert (size, root) == (2, node_hash(record_hash(first), record_hash(record)))


def test_latest_is_the_signed_tree(gomodnet, sumdb) -> None:
    status, content_type, body = get(gomodnet, "/latest")
    assert (status, content_type) == (200, "text/plain; charset=UTF-8")
    assert body == sumdb.signed_tree()
    assert verify_note(sumdb, body)[0] == 2


def test_tiles_hold_the_record_hashes_and_texts(gomodnet, sumdb, store) -> None:
    records = [
        go_sum_text(store, MODULE, VERSION),
        go_sum_text(store, "example.test/Upper", "v0.1.0"),
    ]
    assert get(gomodnet, "/tile/8/0/000.p/2") == (
        200,
        "application/octet-stream",
        record_hash(records[0]) + record_hash(records[1]),
    )
    assert get(gomodnet, "/tile/8/0/000.p/1")[2] == record_hash(records[0])
    assert get(gomodnet, "/tile/8/data/000.p/2") == (
        200,
        "text/plain; charset=UTF-8",
        records[0] + b"\n" + records[1] + b"\n",
    )


def test_the_log_grows_with_the_store(gomodnet, sumdb, store) -> None:
    assert sumdb.size == 2
    store.add(MODULE, "v1.1.0")
    status, _, body = get(gomodnet, "/lookup/example.test/m@v1.1.0")
    assert (status, body.split(b"\n")[0]) == (200, b"2")
    assert verify_note(sumdb, body.split(b"\n\n", 1)[1])[0] == 3


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/lookup/example.test/m", 400, b"invalid module@version syntax\n"),
        ("/lookup/example.test/m@latest", 400, b"invalid module@version syntax\n"),
        ("/lookup/example.test/m@v1.0", 400, b"invalid module@version syntax\n"),
        ("/lookup/@v1.0.0", 400, b"invalid module@version syntax\n"),
        (
            "/lookup/example.test/Upper@v0.1.0",
            404,
            b'not found: invalid escaped module path "example.test/Upper"\n',
        ),
        (
            "/lookup/example.test/m@v9.9.9",
            404,
            b"not found: example.test/m@v9.9.9: not in sum.test\n",
        ),
        ("/tile/8/0/0", 400, b"invalid tile syntax\n"),
        ("/tile/8/0/000.p/256", 400, b"invalid tile syntax\n"),
        ("/tile/8/0/000.p/3", 404, b"not found: tile/8/0/000.p/3 is past the tree of 2\n"),
        ("/tile/8/0/000", 404, b"not found: tile/8/0/000 is past the tree of 2\n"),
        ("/tile/8/1/000.p/1", 404, b"not found: tile/8/1/000.p/1 is past the tree of 2\n"),
        ("/tile/8/data/001.p/1", 404, b"not found: tile/8/data/001.p/1 is past the tree of 2\n"),
        ("/tile/8/999999999/000", 404, b"not found: tile/8/999999999/000 is past the tree of 2\n"),
        ("/tile/4/0/000.p/2", 404, b"not found: sum.test serves tiles of height 8 only\n"),
        ("/", 404, b"404 page not found\n"),
        ("/latest/", 404, b"404 page not found\n"),
        ("/supported", 404, b"404 page not found\n"),
    ],
)
def test_bad_requests_get_the_x_mod_servers_answers(gomodnet, sumdb, path, status, body) -> None:
    assert get(gomodnet, path) == (status, "text/plain; charset=utf-8", body)
    assert sumdb.requests[-1] == ("GET", path, status)


def test_only_get_and_head(gomodnet, sumdb) -> None:
    with gomodnet.client() as client:
        response = client.post("https://sum.test/latest")
    assert (response.status_code, response.text) == (405, "method POST not allowed\n")


def test_add_comes_before_store_versions_not_logged_yet(sumdb, store) -> None:
    # What lets a test make the database disagree with its own store.
    assert sumdb.add(MODULE, VERSION, h1="h1:lie=", go_mod_h1="h1:mod=") == 0
    assert sumdb.size == 2
    assert sumdb.record(MODULE, VERSION) == (
        f"{MODULE} {VERSION} h1:lie=\n{MODULE} {VERSION}/go.mod h1:mod=\n".encode()
    )


def test_add_logs_what_the_database_says(sumdb, store) -> None:
    assert sumdb.size == 2
    assert sumdb.add("example.test/direct", "v1.0.0", h1="h1:zip=", go_mod_h1="h1:mod=") == 2
    assert sumdb.record("example.test/direct", "v1.0.0") == (
        b"example.test/direct v1.0.0 h1:zip=\nexample.test/direct v1.0.0/go.mod h1:mod=\n"
    )
    assert sumdb.record("example.test/none", "v1.0.0") is None


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("example.test/m", "v1.0.0", "h1:x=", "h1:y="), "already record 0 of sum.test"),
        (("Example", "v1.0.0", "h1:x=", "h1:y="), "Example"),
        (("example.test/n", "1.0", "h1:x=", "h1:y="), "1.0"),
        (("example.test/n", "v1.0.0", "h1:x y", "h1:y="), "h1='h1:x y' must be one go.sum hash"),
        (("example.test/n", "v1.0.0", "h1:x=", "h1:\n"), "go_mod_h1='h1:\\\\n' must be"),
    ],
)
def test_add_refuses_what_a_database_cannot_log(sumdb, args, problem) -> None:
    path, version, h1, go_mod_h1 = args
    sumdb.sync()
    with pytest.raises(ValueError, match=problem):
        sumdb.add(path, version, h1=h1, go_mod_h1=go_mod_h1)


# --- misbehaviour, as the bytes show it -----------------------------------------------------


@pytest.mark.parametrize("same_key_hash", [True, False])
def test_wrong_key_signs_with_another_key_of_the_same_name(gomodnet, sumdb, same_key_hash) -> None:
    other = sumdb.wrong_key(same_key_hash=same_key_hash)
    text, _, signature = get(gomodnet, "/latest")[2].partition(b"\n\n")
    blob = base64.b64decode(signature.removeprefix("— sum.test ".encode()))
    sent = sumdb.signer.key_hash if same_key_hash else other.key_hash
    assert blob[:4] == sent.to_bytes(4, "big")
    Ed25519PublicKey.from_public_bytes(other.public_key).verify(blob[4:], text + b"\n")
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(sumdb.signer.public_key).verify(blob[4:], text + b"\n")


def test_short_tiles_cut_hash_tiles_only(gomodnet, sumdb) -> None:
    sumdb.short_tiles(40)
    assert len(get(gomodnet, "/tile/8/0/000.p/2")[2]) == 40
    assert get(gomodnet, "/tile/8/data/000.p/2")[2].count(b"\n") == 6


def test_stale_publishes_an_old_tree(gomodnet, sumdb) -> None:
    sumdb.stale(1)
    assert verify_note(sumdb, get(gomodnet, "/latest")[2])[0] == 1
    assert get(gomodnet, "/tile/8/0/000.p/2")[0] == 404


def test_fork_rewrites_the_first_record(gomodnet, sumdb, store) -> None:
    before = sumdb.signed_tree()
    sumdb.fork()
    after = get(gomodnet, "/latest")[2]
    assert verify_note(sumdb, after)[0] == verify_note(sumdb, before)[0] == 2
    assert after != before
    assert sumdb.record(MODULE, VERSION) != go_sum_text(store, MODULE, VERSION)


def test_forge_answers_a_record_outside_the_tree(gomodnet, sumdb, store) -> None:
    sumdb.forge(MODULE, VERSION, h1="h1:forged=")
    body = get(gomodnet, f"/lookup/{MODULE}@{VERSION}")[2]
    go_mod_line = store.get(MODULE, VERSION).go_sum_lines[1]
    assert body.startswith(f"0\n{MODULE} {VERSION} h1:forged=\n{go_mod_line}\n\n".encode())
    assert sumdb.record(MODULE, VERSION) == go_sum_text(store, MODULE, VERSION)


@pytest.mark.parametrize(
    ("arm", "what"),
    [
        (lambda db: db.wrong_key(), "wrong_key"),
        (lambda db: db.short_tiles(10), "short_tiles"),
        (lambda db: db.stale(), "stale"),
        (lambda db: db.fork(), "fork"),
        (lambda db: db.forge(MODULE, VERSION), "forge"),
    ],
)
def test_misbehaviour_never_served_fails_like_an_unfired_fault(sumdb, arm, what) -> None:
    arm(sumdb)
    with pytest.raises(UnfiredFaultError) as failure:
        sumdb.check_fired()
    assert str(failure.value) == (
        f"checksum database sum.test: {what} armed but never served, so the test proved "
        "nothing about them (pass must_fire=False to arm one that may rightly stay unused); "
        "requests it saw: nothing"
    )
    sumdb.behave()  # let the network close cleanly


def test_misbehaviour_never_served_fails_the_network_at_its_close(tmp_path) -> None:
    standalone = Network.standalone(directory=tmp_path)
    with pytest.raises(UnfiredFaultError) as failure, standalone as net:  # noqa: PT012
        net.add_sumdb("sum.test").stale(0)  # the network's close raises
        with net.client() as client:
            assert client.get("https://sum.test/nothing").status_code == 404
    assert str(failure.value) == (
        "checksum database sum.test: stale armed but never served, so the test proved "
        "nothing about them (pass must_fire=False to arm one that may rightly stay unused); "
        "requests it saw: /nothing"
    )


def test_misbehaviour_armed_with_must_fire_false_may_stay_unused(sumdb) -> None:
    sumdb.wrong_key(must_fire=False)
    sumdb.short_tiles(1, must_fire=False)
    assert sumdb.unfired() is None


def test_stale_of_the_whole_log_is_not_stale_yet(gomodnet, sumdb) -> None:
    sumdb.stale()
    get(gomodnet, "/latest")
    with pytest.raises(UnfiredFaultError, match="stale armed but never served"):
        sumdb.check_fired()
    sumdb.behave()


@pytest.mark.parametrize(
    ("arm", "problem"),
    [
        (lambda db: db.short_tiles(-1), "keep=-1 must be 0 or more bytes"),
        (lambda db: db.stale(3), "size=3 must be between 0 and the log's size 2"),
        (
            lambda db: db.forge("example.test/none", "v1.0.0"),
            "is not in sum.test: nothing to forge",
        ),
    ],
)
def test_misbehaviour_with_impossible_arguments(sumdb, arm, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        arm(sumdb)


def test_a_second_database_on_a_host_needs_replace(gomodnet, sumdb) -> None:
    with pytest.raises(ValueError, match="already served") as refused:
        gomodnet.add_sumdb("sum.test")
    assert str(refused.value) == (
        f"sum.test is already served ({gomodnet.hosts['sum.test']}): one server per host; "
        "add what you need to that server, or pass replace=True to swap it"
    )
    second = gomodnet.add_sumdb("SUM.test", replace=True)
    assert get(gomodnet, "/latest")[2] == second.signed_tree() != sumdb.signed_tree()
    assert gomodnet.go_env()["GOSUMDB"] == f"{second.key} https://sum.test"


@pytest.mark.parametrize(
    ("framing", "head"),
    [("chunked", b"Transfer-Encoding: chunked\r\n"), ("close", b"Connection: close\r\n")],
)
def test_a_database_is_framed_as_asked(gomodnet, store, framing, head) -> None:
    gomodnet.add_goproxy("proxy.test", store)
    sumdb = gomodnet.add_sumdb("sum.test", framing=framing)
    raw = gomodnet.response_bytes("https://sum.test/latest")
    headers, _, body = raw.partition(b"\r\n\r\n")
    assert head in headers + b"\r\n"
    assert b"Content-Length" not in headers
    note = sumdb.signed_tree()
    assert body == (
        f"{len(note):x}\r\n".encode() + note + b"\r\n0\r\n\r\n" if framing == "chunked" else note
    )
    assert framing in gomodnet.hosts["sum.test"]


def test_fork_of_an_empty_log() -> None:
    with pytest.raises(ValueError, match=r"sum\.test has no records to fork"):
        SumDB("sum.test").fork()


# --- proxied by a GOPROXY --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/sumdb/sum.test/supported", 200, b""),
        ("/sumdb/sum.test/tile/8/0/0", 400, b"invalid tile syntax\n"),
        ("/sumdb/sum.test/lookup/x", 400, b"invalid module@version syntax\n"),
        ("/sumdb/sum.test/nothing", 404, b"404 page not found\n"),
        (
            "/sumdb/sum.golang.org/supported",
            404,
            b"not found: this proxy does not proxy a checksum database\n",
        ),
    ],
)
def test_a_goproxy_proxies_the_database(gomodnet, store, sumdb, path, status, body) -> None:
    gomodnet.add_goproxy("proxy.test", store, replace=True).proxy_sumdb(sumdb)
    with gomodnet.client() as client:
        response = client.get(f"https://proxy.test{path}")
    assert (response.status_code, response.content) == (status, body)


def test_a_proxied_database_answers_byte_for_byte(gomodnet, store, sumdb) -> None:
    gomodnet.add_goproxy("proxy.test", store, replace=True).proxy_sumdb(sumdb)
    with gomodnet.client() as client:
        for path in ("/latest", f"/lookup/{MODULE}@{VERSION}", "/tile/8/0/000.p/2"):
            direct = client.get(f"https://sum.test{path}")
            proxied = client.get(f"https://proxy.test/sumdb/sum.test{path}")
            assert (proxied.status_code, proxied.headers["content-type"], proxied.content) == (
                200,
                direct.headers["content-type"],
                direct.content,
            )


def test_reading_the_tree_yourself_is_not_serving_it(sumdb) -> None:
    sumdb.wrong_key()
    sumdb.signed_tree()
    with pytest.raises(UnfiredFaultError, match="wrong_key armed but never served"):
        sumdb.check_fired()
    sumdb.behave()


def test_behave_stops_misbehaving(gomodnet, sumdb, store) -> None:
    honest = sumdb.signed_tree()
    sumdb.wrong_key()
    sumdb.short_tiles(3)
    sumdb.stale(1)
    sumdb.forge(MODULE, VERSION)
    sumdb.behave()
    assert sumdb.unfired() is None
    assert get(gomodnet, "/latest")[2] == honest
    assert len(get(gomodnet, "/tile/8/0/000.p/2")[2]) == 64
    assert get(gomodnet, f"/lookup/{MODULE}@{VERSION}")[2].startswith(
        b"0\n" + go_sum_text(store, MODULE, VERSION)
    )


@pytest.mark.parametrize(
    ("target", "status_line", "body"),
    [
        (
            "/lookup/../../etc/passwd",
            b"HTTP/1.1 400 Bad Request",
            b"invalid module@version syntax\n",
        ),
        ("/lookup/%2e%2e/x@v1.0.0", b"HTTP/1.1 404 Not Found", None),
        ("/tile/8/0/../../../etc/passwd", b"HTTP/1.1 400 Bad Request", b"invalid tile syntax\n"),
        ("/tile/8/0/000%00", b"HTTP/1.1 400 Bad Request", b"invalid tile syntax\n"),
        ("/latest/../../etc/passwd", b"HTTP/1.1 404 Not Found", b"404 page not found\n"),
    ],
)
def test_nothing_outside_the_log_is_served(gomodnet, sumdb, target, status_line, body) -> None:
    # Sent byte for byte (httpx would resolve the dot segments first).
    raw = gomodnet.response_bytes(f"https://sum.test{target}")
    head, _, got = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == status_line
    if body is not None:
        assert got == body
    assert b"root:" not in got
