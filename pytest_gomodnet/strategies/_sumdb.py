"""Checksum database misbehaviour and tree sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet import faults

if TYPE_CHECKING:
    from pytest_gomodnet.network import Network
    from pytest_gomodnet.sumdb import SumDB


#: What :func:`sumdb_faults` can draw. ``stale`` and ``fork`` only bite a client that
#: already trusts a tree, so they are drawn only when asked for by name.
SUMDB_FAULT_KINDS = ("bytes", "short_tiles", "forge", "wrong_key", "stale", "fork")
_SUMDB_ONE_DOWNLOAD = ("bytes", "short_tiles", "forge", "wrong_key")
#: The database paths a byte fault aims at (globs for ``Network.fault``).
_SUMDB_PATHS = ("/lookup/*", "/tile/*")
# Every hash tile has at least one 32-byte hash: an offset below 32 always lands in it.
_IN_EVERY_BODY = st.integers(min_value=0, max_value=31)


@dataclass(frozen=True)
class SumDBFault:
    """One way a checksum database goes wrong; :meth:`arm` sets it on a network.

    ``kind`` is a :class:`~pytest_gomodnet.sumdb.SumDB` misbehaviour
    (``short_tiles`` with ``keep``, ``wrong_key`` with ``same_key_hash``,
    ``forge``, ``stale``, ``fork``) or ``bytes``: ``plan`` on the database's
    ``path`` (a glob), through the Router.
    """

    kind: str
    keep: int = 0
    same_key_hash: bool = True
    plan: faults.FaultPlan | None = None
    path: str = ""

    def arm(self, network: Network, sumdb: SumDB, *, module: str, version: str) -> None:
        """Set this fault on ``sumdb`` (served under its name) for ``module@version``."""
        if self.kind == "bytes":
            assert self.plan is not None
            network.fault(sumdb.name, self.plan, path=self.path)
        elif self.kind == "short_tiles":
            sumdb.short_tiles(self.keep)
        elif self.kind == "wrong_key":
            sumdb.wrong_key(same_key_hash=self.same_key_hash)
        elif self.kind == "forge":
            sumdb.forge(module, version)
        elif self.kind == "stale":
            sumdb.stale()
        else:
            sumdb.fork()


_SUMDB_FAULTS: dict[str, st.SearchStrategy[SumDBFault]] = {
    "bytes": st.builds(
        lambda plan, path: SumDBFault("bytes", plan=plan, path=path),
        st.one_of(
            _IN_EVERY_BODY.map(lambda at: faults.Truncate(at, where="body")),
            st.builds(
                lambda at, xor: faults.Corrupt(at, xor, where="body"),
                _IN_EVERY_BODY,
                st.integers(min_value=1, max_value=255),
            ),
            st.builds(faults.Status, st.sampled_from([404, 410, 500, 502, 503])),
        ),
        st.sampled_from(_SUMDB_PATHS),
    ),
    "short_tiles": _IN_EVERY_BODY.map(lambda keep: SumDBFault("short_tiles", keep=keep)),
    "forge": st.just(SumDBFault("forge")),
    "wrong_key": st.booleans().map(lambda same: SumDBFault("wrong_key", same_key_hash=same)),
    "stale": st.just(SumDBFault("stale")),
    "fork": st.just(SumDBFault("fork")),
}


def sumdb_faults(*, kinds: Sequence[str] | None = None) -> st.SearchStrategy[SumDBFault]:
    """Ways a checksum database goes wrong; by default those that bite a single download.

    Each fault fires on the first lookup or tile a client asks for, so a
    test that arms one and downloads once always meets it. ``stale`` and
    ``fork`` need a client that already trusts a tree: arm them between two
    downloads (``kinds=["fork"]``).
    """
    chosen = list(_SUMDB_ONE_DOWNLOAD if kinds is None else kinds)
    unknown = [k for k in chosen if k not in SUMDB_FAULT_KINDS]
    if unknown or not chosen:
        raise InvalidArgument(
            f"kinds={kinds!r} must be a non-empty list of {', '.join(SUMDB_FAULT_KINDS)}"
        )
    return st.one_of([_SUMDB_FAULTS[k] for k in chosen])


def tree_sizes(*, height: int = 8, max_size: int = (1 << 16) + 1) -> st.SearchStrategy[int]:
    """Record counts of a log, half of them on a tile edge: k·2^H and 2^(2H), each ±1.

    Where a tile fills up (``tile/8/0/000`` becomes whole, ``tile/8/1/…``
    appears) is where tile readers and caches break.
    """
    if not isinstance(height, int) or not 1 <= height <= 30:
        raise InvalidArgument(f"height={height!r} must be an int from 1 to 30")
    if not isinstance(max_size, int) or max_size < 1:
        raise InvalidArgument(f"max_size={max_size!r} must be an int >= 1")
    width = 1 << height
    edges = {k * width for k in (1, 2, 3)} | {width * width}
    near = sorted({e + d for e in edges for d in (-1, 0, 1)} & set(range(1, max_size + 1)))
    anywhere = st.integers(min_value=1, max_value=max_size)
    return (st.sampled_from(near) | anywhere) if near else anywhere
