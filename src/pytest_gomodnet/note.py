"""Signed notes and Ed25519 keys in golang.org/x/mod/sumdb/note's format.

A note is a text ending in ``\\n``, a blank line, then one line per signature:
``— <name> <base64(key hash ‖ signature)>`` (an em dash and a space). The
signature covers the text, final newline included. Keys are named, and
identified by a 4-byte *key hash*: the first four bytes of
``SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)`` (0x01 = Ed25519, the only
algorithm). A verifier key is ``<name>+<hash as 8 hex digits>+<base64(0x01 ‖
public key)>``; that is what ``GOSUMDB`` carries. Written from the format's
documentation; nothing here opens a socket.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = ["Signer", "key_hash"]

# The algorithm byte for Ed25519 keys, the only kind notes use.
_ED25519 = b"\x01"


def key_hash(name: str, public_key: bytes) -> int:
    """The key hash of ``name``'s Ed25519 ``public_key`` (32 bytes, no algorithm byte)."""
    digest = hashlib.sha256(name.encode() + b"\n" + _ED25519 + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise ValueError(
            f"key name {name!r} must be non-empty, without spaces or '+' "
            "(the go command splits verifier keys at '+')"
        )


class Signer:
    """A named Ed25519 key that signs notes.

    ``Signer(name)`` makes a fresh key; ``seed=`` (32 bytes) makes a fixed
    one. ``verifier_key`` is what a client trusts; ``signer_key`` is the
    private key in x/mod's ``PRIVATE+KEY+…`` spelling.
    """

    def __init__(self, name: str, *, seed: bytes | None = None) -> None:
        _check_name(name)
        if seed is not None and len(seed) != 32:
            raise ValueError(f"seed must be 32 bytes, got {len(seed)}")
        self.name = name
        self._key = (
            Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        )
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_hash = key_hash(name, self.public_key)

    def __repr__(self) -> str:
        return f"Signer({self.verifier_key!r})"

    @classmethod
    def from_signer_key(cls, signer_key: str) -> Signer:
        """The signer a ``PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`` string names."""
        fields = signer_key.split("+", 4)
        if len(fields) != 5 or fields[:2] != ["PRIVATE", "KEY"]:
            raise ValueError(f"{signer_key!r} is not PRIVATE+KEY+<name>+<hash>+<key>")
        try:
            blob = base64.b64decode(fields[4], validate=True)
        except ValueError:
            raise ValueError(f"the key of {signer_key!r} is not base64") from None
        if len(blob) != 33 or blob[:1] != _ED25519:
            raise ValueError(f"the key of {signer_key!r} is not 0x01 and a 32-byte Ed25519 seed")
        signer = cls(fields[2], seed=blob[1:])
        if f"{signer.key_hash:08x}" != fields[3]:
            raise ValueError(
                f"{signer_key!r} says key hash {fields[3]}, but its key hashes to "
                f"{signer.key_hash:08x}"
            )
        return signer

    @property
    def verifier_key(self) -> str:
        encoded = base64.b64encode(_ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_hash:08x}+{encoded}"

    @property
    def signer_key(self) -> str:
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(_ED25519 + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{encoded}"

    def signature_line(self, text: bytes, *, key_hash: int | None = None) -> bytes:
        """``— name base64(hash ‖ sig)\\n`` for ``text``; ``key_hash`` overrides the hash sent."""
        if not text.endswith(b"\n"):
            raise ValueError(f"note text must end with a newline: {text[-20:]!r}")
        sent_hash = self.key_hash if key_hash is None else key_hash
        blob = sent_hash.to_bytes(4, "big") + self._key.sign(text)
        return f"— {self.name} {base64.b64encode(blob).decode()}\n".encode()

    def sign(self, text: bytes) -> bytes:
        """The signed note: ``text``, a blank line, this key's signature line."""
        return text + b"\n" + self.signature_line(text)
