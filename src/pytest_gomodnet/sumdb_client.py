"""Ask a checksum database for a module's hashes, and believe only what it proves.

:func:`verified_lookup` is what a downloader outside the go command needs to
check a zip the way go does with ``GOSUMDB`` on: the lookup's tree note must
carry a valid signature of the verifier key, and the record must be the one
at its id in that signed tree. The proof reads every level-0 tile of the tree,
which is fine for the private network's small logs and would not be for
sum.golang.org (go itself reads one tile per level).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import GoModNetError
from .modules import escape_path, escape_version
from .note import key_hash
from .tlog import HASH_SIZE, TILE_HEIGHT, Tile, node_hash, record_hash

__all__ = ["SumDBError", "VerifiedRecord", "verified_lookup"]


class SumDBError(GoModNetError):
    """The database did not answer, or answered something it cannot prove."""


@dataclass(frozen=True)
class VerifiedRecord:
    """A module version's hashes, as a signed tree of the database holds them."""

    h1: str
    go_mod_h1: str
    record_id: int
    tree_size: int


def verified_lookup(
    gosumdb: str, module: str, version: str, *, client: httpx.Client
) -> VerifiedRecord:
    """The hashes the database ``gosumdb`` (``<key> [<url>]``) logged for ``module@version``."""
    name, wanted_hash, public_key, url = _parse_gosumdb(gosumdb)
    body = _get(client, f"{url}/lookup/{escape_path(module)}@{escape_version(version)}")
    record_id, text, note = _split_lookup(body)
    size, root = _verified_tree(note, name, wanted_hash, public_key)
    if not 0 <= record_id < size:
        raise SumDBError(f"record {record_id} is not in the signed tree of {size}")
    leaves = _leaf_hashes(client, url, size)
    if leaves[record_id] != record_hash(text):
        raise SumDBError(f"record {record_id} is not the one the signed tree holds")
    if _merkle_root(leaves) != root:
        raise SumDBError("the tiles do not add up to the signed tree")
    return VerifiedRecord(*_hashes(text, module, version), record_id, size)


def _parse_gosumdb(gosumdb: str) -> tuple[str, int, bytes, str]:
    fields = gosumdb.split()
    if len(fields) not in (1, 2):
        raise SumDBError(f"GOSUMDB {gosumdb!r} is not '<verifier key> [<url>]'")
    parts = fields[0].split("+", 2)
    try:
        name, hash_hex, blob = parts[0], int(parts[1], 16), base64.b64decode(parts[2])
    except (IndexError, ValueError):
        raise SumDBError(f"{fields[0]!r} is not a verifier key <name>+<hash>+<key>") from None
    if len(blob) != 33 or blob[:1] != b"\x01" or key_hash(name, blob[1:]) != hash_hex:
        raise SumDBError(f"{fields[0]!r} is not an Ed25519 verifier key with its own hash")
    url = fields[1].rstrip("/") if len(fields) == 2 else f"https://{name}"
    return name, hash_hex, blob[1:], url


def _get(client: httpx.Client, url: str) -> bytes:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise SumDBError(f"reading {url}: {exc}") from None
    if response.status_code != 200:
        raise SumDBError(f"reading {url}: {response.status_code} {response.reason_phrase}")
    return response.content


def _split_lookup(body: bytes) -> tuple[int, bytes, bytes]:
    """(record id, record text, signed note) of a lookup answer."""
    first, _, rest = body.partition(b"\n")
    text, blank, note = rest.partition(b"\n\n")
    if not first.isdigit() or not blank:
        raise SumDBError("malformed lookup answer")
    return int(first), text + b"\n", note


def _verified_tree(note: bytes, name: str, wanted: int, public_key: bytes) -> tuple[int, bytes]:
    """(size, root hash) of a tree note signed by the verifier key."""
    text, blank, signatures = note.partition(b"\n\n")
    text += b"\n"
    prefix = f"— {name} ".encode()
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    for line in signatures.splitlines() if blank else []:
        if not line.startswith(prefix):
            continue
        blob = base64.b64decode(line[len(prefix) :])
        if int.from_bytes(blob[:4], "big") == wanted:
            try:
                verifier.verify(blob[4:], text)
            except InvalidSignature:
                raise SumDBError(f"invalid signature for key {name}") from None
            return _parse_tree(text)
    raise SumDBError("note has no verifiable signatures")


def _parse_tree(text: bytes) -> tuple[int, bytes]:
    lines = text.split(b"\n")
    if len(lines) < 4 or lines[0] != b"go.sum database tree" or not lines[1].isdigit():
        raise SumDBError("malformed tree note")
    return int(lines[1]), base64.b64decode(lines[2])


def _leaf_hashes(client: httpx.Client, url: str, size: int) -> list[bytes]:
    width = 1 << TILE_HEIGHT
    leaves: list[bytes] = []
    for index in range((size + width - 1) // width):
        tile = Tile(TILE_HEIGHT, 0, index, min(width, size - index * width))
        data = _get(client, f"{url}/{tile.path}")
        if len(data) != tile.width * HASH_SIZE:
            raise SumDBError(f"{tile.path} has {len(data)} bytes, want {tile.width * HASH_SIZE}")
        leaves += [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    return leaves


def _merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's tree hash: split at the largest power of two below the count."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_merkle_root(leaves[:split]), _merkle_root(leaves[split:]))


def _hashes(text: bytes, module: str, version: str) -> tuple[str, str]:
    found = {}
    for line in text.decode().splitlines():
        fields = line.split(" ")
        if len(fields) == 3 and fields[0] == module:
            found[fields[1]] = fields[2]
    try:
        return found[version], found[f"{version}/go.mod"]
    except KeyError:
        raise SumDBError(f"the record has no go.sum lines for {module}@{version}") from None
