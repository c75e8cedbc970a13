"""A checksum database misbehaving on purpose: another key, a fork, short tiles, a stale
tree, a forged record; each one armed must be served at least once.

A part of :class:`pytest_gomodnet.sumdb.SumDB`: these methods set what its
serving side reads (the note signer, the published size, the tile cut, the
forged records) and count what was served.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import TYPE_CHECKING

from .errors import raise_errors
from .modules import go_sum_lines
from .note import Signer
from .tlog import Log

__all__ = ["SumDBMisbehaviour"]


def _fake_h1(seed: str) -> str:
    """An ``h1:`` that hashes no real content: what a lying database records."""
    return "h1:" + base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


class SumDBMisbehaviour:
    """The misbehaviour side of a SumDB (a part of it)."""

    name: str
    signer: Signer
    requests: list[tuple[str, str, int]]
    _lock: threading.Lock
    _log: Log
    _armed: dict[str, bool]
    _note_signer: tuple[Signer, int] | None
    _published: int | None
    _tile_cut: int | None
    _forged: dict[tuple[str, str], bytes]

    if TYPE_CHECKING:

        def sync(self) -> int: ...

        def record(self, path: str, version: str) -> bytes | None: ...

    def wrong_key(self, *, same_key_hash: bool = True, must_fire: bool = True) -> Signer:
        """Sign every tree note from now on with another key of the same name.

        With ``same_key_hash`` the signature line carries this database's key
        hash (go: ``invalid signature for key``), else the other key's own
        (go: ``note has no verifiable signatures``). Returns the other key.
        """
        other = Signer(self.name)
        sent = self.signer.key_hash if same_key_hash else other.key_hash
        with self._lock:
            self._note_signer = (other, sent)
            self._arm("wrong_key", must_fire)
        return other

    def fork(self, *, must_fire: bool = True) -> None:
        """Rewrite history: record 0 gets other hashes, so every tree from now on
        disagrees with any tree a client saw before (a fork, go's ``server misbehavior``)."""
        self.sync()
        with self._lock:
            if not self._log.records:
                raise ValueError(f"{self.name} has no records to fork: add a module version first")
            records = self._log.records
            first = records[0].decode().split("\n")[0].split(" ")
            path, version = first[0], first[1]
            forked = go_sum_lines(path, version, _fake_h1("fork zip"), _fake_h1("fork go.mod"))
            self._log = Log()
            self._log.append("".join(f"{line}\n" for line in forked).encode())
            for text in records[1:]:
                self._log.append(text)
            self._arm("fork", must_fire)

    def short_tiles(self, keep: int, *, must_fire: bool = True) -> None:
        """Answer every hash tile with only its first ``keep`` bytes (Content-Length honest)."""
        if keep < 0:
            raise ValueError(f"keep={keep} must be 0 or more bytes")
        with self._lock:
            self._tile_cut = keep
            self._arm("short_tiles", must_fire)

    def stale(self, size: int | None = None, *, must_fire: bool = True) -> None:
        """Keep publishing the tree of ``size`` records (now's by default) while the log grows."""
        current = self.sync()
        size = current if size is None else size
        if not 0 <= size <= current:
            raise ValueError(f"size={size} must be between 0 and the log's size {current}")
        with self._lock:
            self._published = size
            self._arm("stale", must_fire)

    def forge(
        self, path: str, version: str, *, h1: str | None = None, must_fire: bool = True
    ) -> None:
        """Answer lookups of ``path@version`` with a record the tree does not hold.

        The logged record stays; the lookup's text carries ``h1`` (a made-up
        hash by default) instead: go's ``cannot authenticate record data``.
        """
        logged = self.record(path, version)
        if logged is None:
            raise ValueError(f"{path}@{version} is not in {self.name}: nothing to forge")
        go_mod_line = logged.decode().split("\n")[1]
        lie = f"{path} {version} {h1 or _fake_h1('forged zip')}\n{go_mod_line}\n"
        with self._lock:
            self._forged[path, version] = lie.encode()
            self._arm("forge", must_fire)

    def behave(self) -> None:
        """Stop every misbehaviour (a fork stays: history is not rewritten back) and forget
        what was armed, served or not: for a test that checks a fault and then recovery."""
        with self._lock:
            self._note_signer = self._published = self._tile_cut = None
            self._forged.clear()
            self._armed.clear()

    def _arm(self, what: str, must_fire: bool) -> None:
        if must_fire:
            self._armed.setdefault(what, False)

    def _fired(self, what: str) -> None:
        if what in self._armed:
            self._armed[what] = True

    def unfired(self) -> str | None:
        """A report of each misbehaviour armed but never served, with the requests this
        database saw; None when every one was served."""
        unfired = [what for what, fired in self._armed.items() if not fired]
        if not unfired:
            return None
        asked = ", ".join(path for _, path, _ in self.requests) or "nothing"
        return (
            f"checksum database {self.name}: {', '.join(unfired)} armed but never served, "
            "so the test proved nothing about them (pass must_fire=False to arm one that "
            f"may rightly stay unused); requests it saw: {asked}"
        )

    def check_fired(self) -> None:
        """Raise UnfiredFaultError if a misbehaviour was armed but never served."""
        raise_errors([], self.unfired())
