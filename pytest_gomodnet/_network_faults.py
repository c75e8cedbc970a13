"""A Network's faults and examples: what a test arms, and the story a failure tells.

Every ``fault()`` and ``frame()`` call is kept as code that pastes back
(``gomodnet.fault(...)``), for the whole test or for the open hypothesis
example; :meth:`NetworkFaults.story` is what a failing test's report shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._network_clients import NetworkClients
from .errors import raise_errors
from .framing import FRAMINGS
from .per_example import ConnectionLog, Example
from .strategies._aimed import AimedFault, aimed_faults
from .strategies._faults import DEFAULT_MAX_SECONDS

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from .faults import FaultPlan
    from .framing import Framing
    from .network import Backbone

__all__ = ["NetworkFaults"]


class NetworkFaults(NetworkClients):
    """The fault side of :class:`pytest_gomodnet.network.Network` (a part of it), over its
    client side (aimed faults fetch the bytes they aim at)."""

    _backbone: Backbone
    _examples: list[Example]
    name: str
    hosts: dict[str, str]
    faults: list[str]

    def fault(
        self,
        host: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
    ) -> None:
        """Apply ``plans`` in order to the exchanges with ``host`` (and ``path``, a glob over
        the request path without its query, such as ``*.zip``).

        Every plan must fire before the test ends, or its teardown fails with
        UnfiredFaultError naming it and the requests the host saw;
        ``must_fire=False`` (or ``n``: only the first n) is the opt-out.
        """
        self._backbone.router.fault(host, *plans, path=path, must_fire=must_fire)
        args = ", ".join([repr(host), *map(repr, plans)] + ([f"path={path!r}"] if path else []))
        self._calls().append(f"fault({args})")

    def frame(self, host: str, framing: Framing | None, *, path: str | None = None) -> None:
        """Frame ``host``'s responses (for ``path``, a glob, if given) as ``framing``.

        ``"content-length"``, ``"chunked"`` or ``"close"`` (close-delimited: no
        length, ``Connection: close``, so a cut body looks complete). Fault
        offsets count the framed bytes. None takes a path's framing back off.
        """
        self._backbone.router.frame(host, framing, path=path)
        args = ", ".join([repr(host), repr(framing)] + ([f"path={path!r}"] if path else []))
        self._calls().append(f"frame({args})")

    def http1_only(self, host: str) -> None:
        """Offer HTTP/1.1 alone on ``host`` for the rest of the test (its ALPN lists no
        ``h2``): for what a client does over HTTP/1.1 specifically. Every TLS host
        offers HTTP/2 by default, as real proxies and CDNs do, and so does go."""
        self._backbone.router.http1_only(host)
        self._calls().append(f"http1_only({host!r})")

    @property
    def log(self) -> ConnectionLog:
        """Every connection through the Router, in order (see faultproxy); it prints as text."""
        return ConnectionLog(self._backbone.router.log)

    def format_log(self) -> str:
        return self._backbone.router.format_log()

    @contextmanager
    def example(self) -> Iterator[Example]:
        """One hypothesis example's own network: a clean fault queue and its own log.

        Faults armed inside must fire inside, or the example fails with
        UnfiredFaultError (so hypothesis shrinks it like any failure); faults
        armed before wait until it ends. ``.log`` holds only this example's
        connections, and a failing test's report shows the last example alone:
        the failing, shrunk one, which hypothesis runs last. Framing set with
        :meth:`frame` lasts past the example: set it in every one.
        """
        if self._examples and self._examples[-1].open:
            raise RuntimeError(
                f"{self.name}.example() is already open: one example at a time, not nested"
            )
        example = Example(len(self._examples) + 1, self._backbone.router)
        self._examples.append(example)
        router = self._backbone.router
        try:
            with router.fault_scope():
                yield example
                unfired = router.unfired(f"{self.name}.")
        finally:
            example.close()
        raise_errors([], unfired)

    def _calls(self) -> list[str]:
        """Where a fault() or frame() call is kept: the open example's list, else the test's."""
        examples = self._examples
        return examples[-1].faults if examples and examples[-1].open else self.faults

    def story(self) -> str:
        """Hosts, faults and the connection log (of the last example, if the test ran
        examples): what a failing test's report shows."""
        hosts = [f"  {d}" for d in self.hosts.values()] or ["  (none)"]
        lines = ["hosts:", *hosts, "faults:", *self._code(self.faults)]
        if not self._examples:
            return "\n".join([*lines, "connections:", self.format_log() or "(none)"])
        last = self._examples[-1]
        earlier = f"; {last.number - 1} earlier not shown" if last.number > 1 else ""
        lines += [
            f"example {last.number}, the last (hypothesis runs the failing one last){earlier}:",
            "faults:",
            *self._code(last.faults),
            "connections:",
            str(last.log),
        ]
        return "\n".join(lines)

    def _unfired(self) -> str | None:
        """The Router's report of faults that never fired, and each database's."""
        router = self._backbone.router.unfired(f"{self.name}.")
        reports = [router, *(db.unfired() for _, db in self._sumdbs)]
        return "\n".join(r for r in reports if r) or None

    def failing_view(self) -> tuple[list[str], ConnectionLog]:
        """The test's ``fault(...)``/``frame(...)`` calls as code, then its last hypothesis
        example's (the failing one), and that example's log (else the test's): a replay's."""
        if not self._examples:
            return list(self.faults), self.log
        return [*self.faults, *self._examples[-1].faults], self._examples[-1].log

    def _code(self, calls: list[str]) -> list[str]:
        return [f"  {self.name}.{call}" for call in calls] or ["  (none)"]

    def aimed_faults(
        self,
        url: str,
        *,
        kinds: Sequence[type] | None = None,
        slow: bool = False,
        framings: Sequence[Framing] = FRAMINGS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> SearchStrategy[AimedFault]:
        """A hypothesis strategy of faults for ``url``: a framing and a plan whose offsets
        land in that response; ``.arm()`` one in each example (see
        :func:`pytest_gomodnet.strategies.aimed_faults`)."""
        return aimed_faults(
            self, url, kinds=kinds, slow=slow, framings=framings, max_seconds=max_seconds
        )
