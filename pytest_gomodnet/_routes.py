"""Which upstream serves a host, how its responses are framed, which fault comes next.

The proxy's route table, with no socket: a host name maps to an :class:`Upstream`,
a (host, path glob) to a framing, and the fault queues (:mod:`.armed`) pick each
connection's and exchange's plan. Both proxies keep one.
"""

from __future__ import annotations

import contextlib
import fnmatch
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._gotext import go_quote
from ._hostnames import check_host
from ._inprocess import InProcessApp
from .armed import (
    Armed,
    FaultQueues,
    check_glob,
    check_plans,
    must_fire_count,
    new_state,
    plan_list,
)
from .errors import ChainError, FaultPlanError
from .faults import CONNECTION_FAULTS, H2_FAULTS, FaultPlan, needs_http1
from .framing import Framing, check_framing

__all__ = ["Plans", "Routes", "Upstream", "call_text", "host_name", "relayed"]

Plans = tuple[FaultPlan | None, ...]


@dataclass
class Upstream:
    """Where a host's requests go: a loopback URL, or an app served in process."""

    scheme: str
    host: str
    port: int
    tls: ssl.SSLContext | None
    app: InProcessApp | None = None
    inline: bool = False
    framing: Framing | None = None


#: Raises FaultPlanError for plans a host can never carry out, the way it is served.
CheckServes = Callable[[str, Upstream, Plans, "str | None"], None]


class Routes:
    """Hosts, framings and fault queues, behind one lock (the loop and the test thread share it)."""

    def __init__(self, check_serves: CheckServes) -> None:
        self._check_serves = check_serves
        self._hosts: dict[str, Upstream] = {}
        self._framings: dict[tuple[str, str | None], Framing] = {}
        self.faults = FaultQueues()
        self._http1_only: set[str] = set()
        self._lock = threading.Lock()
        #: The state of the routes (hosts, framings, http1_only); with the fault queues'
        #: state, what each host's last ALPN offer was made in.
        self._state = new_state()
        self._offered: dict[str, tuple[int, int]] = {}

    def add(
        self,
        host: str,
        upstream_url: str,
        *,
        tls: ssl.SSLContext | None,
        app: InProcessApp | None,
        inline: bool,
        framing: Framing | None,
    ) -> None:
        """Route ``host`` (see the proxies' ``add_host``)."""
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"upstream_url {upstream_url!r} must be http:// or https://HOST[:PORT]"
            )
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"upstream_url {upstream_url!r} is not on loopback: refusing to route there"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        name = host_name(host)
        if framing is not None:
            check_framing(framing)
        inline = inline and app is not None
        upstream = Upstream(parts.scheme, parts.hostname, port, tls, app, inline, framing)
        for armed in self.faults.armed_on(name):
            self._check_serves(name, upstream, armed.plans, armed.glob)
        with self._lock:
            self._state = new_state()
            previous = self._hosts.get(name)
            self._hosts[name] = upstream
            for key in [key for key in self._framings if key[0] == name]:
                del self._framings[key]
            try:
                self._offer(name)
            except ValueError:
                del self._hosts[name]
                if previous is not None:
                    self._hosts[name] = previous
                raise

    def offer(self, host: str) -> None:
        """Set what ``host`` offers by ALPN, just before a TLS handshake (see :meth:`_offer`):
        again only if the routes or the fault queues changed since its last offer."""
        with self._lock:
            state = (self._state, self.faults.state)  # read first: a change meanwhile shows
            if host in self._hosts and self._offered.get(host) != state:
                self._offer(host)
                self._offered[host] = state

    def _offer(self, name: str) -> None:
        """Offer HTTP/2 by ALPN on the host's TLS context, or HTTP/1.1 alone: for a host
        made :meth:`http1_only`, framed ``chunked`` or
        ``close`` (host-wide or on a path: HTTP/2 has neither), or with a plan about
        HTTP/1.1's bytes (ChunkedCut, a Corrupt counted from the status line) waiting in its
        queues. The choice lives on the
        context, so two hosts that share one cannot choose differently. Call with the
        lock held."""
        tls = self._hosts[name].tls
        if tls is None:
            return
        http2 = self._speaks_h2(name)
        for other, upstream in self._hosts.items():
            if other != name and upstream.tls is tls and self._speaks_h2(other) != http2:
                raise ValueError(
                    f"{name} shares its TLS context with {other}, which offers "
                    f"{'HTTP/2' if not http2 else 'HTTP/1.1 alone'}: give each its own context"
                )
        tls.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])

    def _speaks_h2(self, name: str) -> bool:
        upstream = self._hosts[name]
        if upstream.tls is None or name in self._http1_only:
            return False
        framings = [upstream.framing] + [f for (h, _), f in self._framings.items() if h == name]
        if "chunked" in framings or "close" in framings:
            return False
        waiting = (p for armed in self.faults.armed_on(name) for p in armed.plans[armed.taken :])
        return not any(needs_http1(plan) for plan in waiting)

    def http1_only(self, host: str) -> None:
        """Offer HTTP/1.1 alone on ``host`` from now until :meth:`clear`."""
        name = host_name(host)
        with self._lock:
            self._http1_only.add(name)
            self._state = new_state()

    def get(self, host: str) -> Upstream | None:
        with self._lock:
            return self._hosts.get(host)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._hosts)

    def frame(self, host: str, framing: Framing | None, path: str | None) -> Framing | None:
        """Frame ``host``'s responses (those for ``path``, a glob, if given) as ``framing``;
        return the framing this replaces (None if there was none), to put it back.

        A path's framing comes before the host's; None removes this one, so the
        host's (or the server's own) applies again.
        """
        name = host_name(host)
        if framing is not None:
            check_framing(framing)
        with self._lock:
            self._state = new_state()
            if framing is None:
                previous = self._framings.pop((name, path), None)
            else:
                previous = self._framings.get((name, path))
                self._framings[(name, path)] = framing
            return previous

    def framing(self, host: str, path: str, upstream: Upstream) -> Framing | None:
        """How to frame ``host``'s response for ``path``: the path's, the host's, the upstream's."""
        with self._lock:
            for (framed_host, pattern), framing in self._framings.items():
                if framed_host == host and pattern and fnmatch.fnmatchcase(path, pattern):
                    return framing
            return self._framings.get((host, None), upstream.framing)

    def arm(
        self, name: str, plans: Plans, path: str | None, must_fire: bool | int, call: str
    ) -> None:
        """Check ``plans`` where they are given, then queue them on ``name`` (and ``path``)."""
        check_plans(plans)
        check_glob(path)
        count = must_fire_count(must_fire, plans)
        for plan in plans:
            if path is not None and isinstance(plan, CONNECTION_FAULTS):
                raise FaultPlanError(
                    f"{plan!r} happens before any request is read, so it cannot take path={path!r}"
                )
        upstream = self.get(name)
        if upstream is not None:
            self._check_serves(name, upstream, plans, path)
            with self._lock:
                http2 = self._speaks_h2(name)
            for plan in plans:
                if isinstance(plan, H2_FAULTS) and not http2:
                    raise FaultPlanError(
                        f"{plan!r} is an HTTP/2 fault, but {name} offers HTTP/1.1 alone (it is "
                        "http1_only(), framed chunked or close, or added without tls=)"
                    )
        self.faults.arm(Armed(name, path, plans, count, call))

    def clear(self) -> None:
        with self._lock:
            self._http1_only.clear()
            self._hosts.clear()
            self._framings.clear()
            self._offered.clear()
            self._state = new_state()
        self.faults.clear()

    @contextlib.contextmanager
    def fault_scope(self) -> Iterator[None]:
        """Arm, take and account for faults apart from those armed before, until the end.

        Plans armed before wait, untouched, and apply again afterwards; plans
        armed inside and never taken are dropped at the end, so check the
        proxy's ``unfired()`` before leaving. One hypothesis example is one scope.
        """
        outer, self.faults = self.faults, FaultQueues()
        try:
            yield
        finally:
            self.faults = outer
            with self._lock:  # the outer queues' state is an old one: offer anew
                self._state = new_state()


def relayed(upstream: Upstream) -> bool:
    """Whether a CONNECT to this host is relayed byte for byte (no TLS of the Router's)."""
    return upstream.tls is None and upstream.app is None and upstream.scheme == "https"


def call_text(args: tuple[object, ...], path: str | None, must_fire: bool | int) -> str:
    """A fault() call as code to paste back."""
    words = ([plan_list(args)] if args else []) + ([f"path={path!r}"] if path is not None else [])
    words += [f"must_fire={must_fire!r}"] if must_fire is not True else []
    return f"fault({', '.join(words)})"


def host_name(host: str) -> str:
    """``host`` as the Router keys it (lower case), or ValueError naming the rule broken."""
    if isinstance(host, str) and host.startswith("*"):
        raise ValueError(f"invalid host {go_quote(host)}: a Router routes one name, not a wildcard")
    try:
        return check_host(host)
    except ChainError as exc:  # the same rules as a certificate's names, as a ValueError
        raise ValueError(str(exc)) from None
