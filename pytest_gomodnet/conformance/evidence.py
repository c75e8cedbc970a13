"""What makes a conformance verdict honest: the fault met the target, and the target works.

Looking only at a target's final answer cannot tell a proxy that refused a cut
zip from one that answers 502 to everything, nor a client that rejected a bad
certificate from one that exits 3 without a single request. So a case that
arms a fault also needs two pieces of evidence before it can pass:

* **the fault met the target**: the Router's log holds the exchange the fault
  was aimed at (the target asked that host for that path, and the fault
  applied), or, for a broken certificate chain, a connection to that host;
* **the target works when nothing is wrong**: a positive control inside the
  case (the same download once the fault is cleared or the chain repaired, or
  a sibling module nothing is wrong with) succeeds.

The functions here read the log and name what is missing; the cases turn a
missing piece into a failure with that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_gomodnet.faultproxy import Connection, Exchange

__all__ = [
    "CONTROL_FAILED",
    "NOT_HTTP2",
    "NO_EVIDENCE",
    "NO_REQUEST_EVIDENCE",
    "Witness",
    "exchanges",
    "missing_connection",
    "missing_fault",
    "not_http2",
]

#: How a failure for a missing first piece of evidence starts.
NO_EVIDENCE = "no evidence the fault reached the target"
#: The same, for a case whose misbehaviour is a host's own answer, not a queued fault.
NO_REQUEST_EVIDENCE = "no evidence the target made the request this case is about"
#: How a failure of the positive control starts.
CONTROL_FAILED = "the target failed the clean control"
#: Why an HTTP/2 case gives a target that spoke HTTP/1.1 no verdict: the skip's reason.
NOT_HTTP2 = (
    "{who} spoke HTTP/1.1 to {host} ({how}), so an HTTP/2 fault cannot reach it: no "
    "verdict; a target whose HTTP client offers h2 by ALPN gets one"
)


def exchanges(log: Sequence[Connection], host: str, glob: str = "*") -> list[Exchange]:
    """Every exchange with ``host`` whose path (query included) matches ``glob``."""
    return [
        exchange
        for connection in log
        if connection.host == host
        for exchange in connection.exchanges
        if fnmatchcase(exchange.path, glob)
    ]


def missing_connection(
    log: Sequence[Connection], host: str, *, who: str, silent: str
) -> str | None:
    """What is missing if ``log`` has no connection to ``host``.

    ``who`` is the target ("the client"); ``silent`` the sentence for a log
    with no connection at all ("the client made no request").
    """
    if any(connection.host == host for connection in log):
        return None
    if not log:
        return silent
    seen = ", ".join(sorted({connection.host for connection in log}))
    return f"{who} never connected to {host} (only to {seen})"


def missing_fault(
    log: Sequence[Connection],
    host: str,
    glob: str,
    *,
    who: str,
    silent: str,
    faulted: bool = True,
) -> str | None:
    """What is missing if no exchange with ``host`` matching ``glob`` met its fault.

    ``faulted=False`` asks only for the request: for cases whose misbehaviour
    is the host's own answer (a go-import page, a 404), not a queued plan.
    """
    problem = missing_connection(log, host, who=who, silent=silent)
    if problem is not None:
        return problem
    asked = exchanges(log, host, glob)
    if not asked:
        return f"{who} never asked {host} for {glob}"
    if faulted and not any(exchange.fault for exchange in asked):
        return f"no fault applied to the requests {who} made to {host} for {glob}"
    return None


@dataclass(frozen=True)
class Witness:
    """The target whose requests the log is searched for: the first line of its failures."""

    who: str
    """How the failures name it ("the client")."""
    silent: str
    """What they say when it made no request at all ("the client made no request")."""

    def fault(
        self, log: Sequence[Connection], host: str, glob: str, *, faulted: bool = True
    ) -> str | None:
        """The failure's first line if no exchange with ``host`` for ``glob`` met its fault."""
        problem = missing_fault(log, host, glob, who=self.who, silent=self.silent, faulted=faulted)
        if problem is None:
            return None
        return f"{NO_EVIDENCE if faulted else NO_REQUEST_EVIDENCE}: {problem}"

    def connection(self, log: Sequence[Connection], host: str) -> str | None:
        """The failure's first line if ``log`` has no connection to ``host``."""
        problem = missing_connection(log, host, who=self.who, silent=self.silent)
        return None if problem is None else f"{NO_EVIDENCE}: {problem}"


def not_http2(log: Sequence[Connection], host: str, glob: str, *, who: str) -> str | None:
    """Why an HTTP/2 fault on ``host`` could not reach the target, or None when the
    exchanges for ``glob`` went over a connection that chose HTTP/2 (``h2``) by ALPN.

    An HTTP/2 plan fires only on such a connection: met over HTTP/1.1 it is an
    error, so a case asks first, with a clean request, and gives no verdict then.
    """
    used = [c for c in log if c.host == host and exchanges([c], host, glob)]
    if not used or any(connection.protocol == "h2" for connection in used):
        return None
    plain = all(connection.mode == "http" for connection in used)
    how = "in plain HTTP" if plain else "over TLS, without choosing h2 by ALPN"
    return NOT_HTTP2.format(who=who, host=host, how=how)
