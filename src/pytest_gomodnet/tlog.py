"""The transparency log under a Go checksum database: hashes, tree notes, tiles.

Written from the definitions golang.org/x/mod/sumdb/tlog documents, which are
RFC 6962's Merkle trees:

* a record's hash is ``SHA-256(0x00 ‖ text)``, an inner node's
  ``SHA-256(0x01 ‖ left ‖ right)``; the hash of a tree of N records splits at
  the largest power of two below N (the empty tree hashes to ``SHA-256("")``);
* a tree is published as the note text ``go.sum database tree\\nN\\n<base64 hash>\\n``;
* the log is served in *tiles*: tile (H, L, N, W) holds W consecutive hashes
  of tree level L·H, starting at index N·2^H, each the root of a complete
  subtree of 2^(L·H) records. Its path is ``tile/H/L/NNN[.p/W]`` (``data``
  instead of L for the records themselves), N written in groups of three
  digits, all but the last prefixed ``x``. The go command uses H = 8.

Nothing here opens a socket.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

__all__ = [
    "HASH_SIZE",
    "TILE_HEIGHT",
    "Log",
    "Tile",
    "TilePathError",
    "format_record",
    "format_tree",
    "node_hash",
    "record_hash",
]

#: Bytes in one hash of the log (SHA-256).
HASH_SIZE = 32

#: The tile height the go command's sumdb client asks for, and sum.golang.org serves.
TILE_HEIGHT = 8


class TilePathError(ValueError):
    """A tile path that golang.org/x/mod's ``ParseTilePath`` would refuse."""


def record_hash(text: bytes) -> bytes:
    """The leaf hash of one record: ``SHA-256(0x00 ‖ text)``."""
    return hashlib.sha256(b"\x00" + text).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: ``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def format_tree(size: int, root: bytes) -> bytes:
    """The note text that publishes a tree of ``size`` records with hash ``root``."""
    return b"go.sum database tree\n%d\n%s\n" % (size, base64.b64encode(root))


def format_record(record_id: int, text: bytes) -> bytes:
    """A record as a lookup answers it: its id on a line, the text, then a blank line."""
    return b"%d\n%s\n" % (record_id, text)


@dataclass(frozen=True, order=True)
class Tile:
    """Tile coordinates: height H, level L (-1 for record data), index N, width W."""

    height: int
    level: int
    index: int
    width: int

    @property
    def path(self) -> str:
        """``tile/H/L/NNN[.p/W]``, the only spelling a server accepts."""
        groups = [f"{self.index % 1000:03d}"]
        rest = self.index // 1000
        while rest:
            groups.insert(0, f"x{rest % 1000:03d}")
            rest //= 1000
        level = "data" if self.level == -1 else str(self.level)
        partial = f".p/{self.width}" if self.width != 1 << self.height else ""
        return f"tile/{self.height}/{level}/{'/'.join(groups)}{partial}"

    @property
    def first(self) -> int:
        """Index, at its own tree level, of the tile's first hash (or record)."""
        return self.index << self.height

    @classmethod
    def parse(cls, path: str) -> Tile:
        """The tile at ``path``; TilePathError unless it is a canonical tile path."""
        fields = path.split("/")
        if len(fields) < 4 or fields[0] != "tile":
            raise TilePathError(f"malformed tile path {path!r}")
        height = _number(fields[1], path)
        level = -1 if fields[2] == "data" else _number(fields[2], path)
        if not 1 <= height <= 30:
            raise TilePathError(f"malformed tile path {path!r}")
        width = 1 << height
        if fields[-2].endswith(".p"):
            width = _number(fields[-1], path)
            fields = [*fields[:-2], fields[-2].removesuffix(".p")]
        index = 0
        for group in fields[3:]:
            index = index * 1000 + _number(group.removeprefix("x"), path)
        tile = cls(height, level, index, width)
        if not 0 < width <= 1 << height or tile.path != path:
            raise TilePathError(f"malformed tile path {path!r}")
        return tile


def _number(text: str, path: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise TilePathError(f"malformed tile path {path!r}")
    return int(text)


class Log:
    """An append-only log of records and the hashes of its complete subtrees.

    ``levels[k][i]`` is the hash of records ``[i·2^k, (i+1)·2^k)``, kept as
    soon as those records exist, so a tile or a tree hash is a few lookups.
    """

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.levels: list[list[bytes]] = [[]]

    def __len__(self) -> int:
        return len(self.records)

    def append(self, text: bytes) -> int:
        """Add a record and return its id (its index in the log)."""
        self.records.append(text)
        self.levels[0].append(record_hash(text))
        level = 0
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(*pair))
            level += 1
        return len(self.records) - 1

    def tree_hash(self, size: int | None = None) -> bytes:
        """The hash of the tree of the first ``size`` records (all by default)."""
        size = len(self) if size is None else size
        if not 0 <= size <= len(self):
            raise ValueError(f"size={size} is outside the log (0..{len(self)})")
        # The complete subtrees covering [0, size), biggest first, folded from the right.
        subtrees, start = [], 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                subtrees.append(self.levels[level][start >> level])
                start += 1 << level
        if not subtrees:
            return hashlib.sha256(b"").digest()
        root = subtrees.pop()
        while subtrees:
            root = node_hash(subtrees.pop(), root)
        return root

    def tile_data(self, tile: Tile, size: int | None = None) -> bytes | None:
        """What ``tile`` holds in the tree of ``size`` records, or None if it reaches past it."""
        size = len(self) if size is None else size
        if tile.level == -1:
            end = tile.first + tile.width
            if end > size:
                return None
            return b"".join(text + b"\n" for text in self.records[tile.first : end])
        level = tile.level * tile.height
        if level >= len(self.levels) or (tile.first + tile.width) << level > size:
            return None
        return b"".join(self.levels[level][tile.first : tile.first + tile.width])
