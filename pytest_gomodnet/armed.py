"""Armed fault plans: the queues a proxy takes them from, and the proof each one fired.

A test that arms a fault and never makes it happen proves nothing, so every
plan handed to ``fault()`` is checked where it is given (a plan instance or
``None``; a path glob that can match a request path) and accounted for when
the test ends: taken by a connection or an exchange, or reported with the
requests its host did see, nearest first, and a "did you mean" for a near miss.

A path glob is matched (``fnmatch.fnmatchcase``) against the request path as
the client sent it, without the query: ``/example.test/m/@v/v1.0.0.zip``.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import get_args
from urllib.parse import urlsplit

from .errors import FaultPlanError
from .faults import CONNECTION_FAULTS, FaultPlan

__all__ = [
    "Armed",
    "FaultQueues",
    "check_glob",
    "check_plans",
    "must_fire_count",
    "plan_list",
]

#: Every plan class ``fault()`` accepts.
PLAN_TYPES: tuple[type, ...] = get_args(FaultPlan)
#: Requests a report lists for one host, nearest first.
SHOWN_REQUESTS = 10
#: The request a relayed tunnel stands for (it has no path the Router can read).
TUNNEL = ""

UNFIRED_HEADLINE = (
    "armed faults never fired, so the test proved nothing about them "
    "(pass must_fire=False to fault() for plans that may rightly stay unused):"
)


def check_plans(plans: Iterable[object]) -> None:
    """FaultPlanError for anything but a plan instance or ``None``, naming what was given."""
    for plan in plans:
        if plan is None or isinstance(plan, PLAN_TYPES):
            continue
        if isinstance(plan, type) and issubclass(plan, PLAN_TYPES):
            name = plan.__name__
            fields = dataclasses.fields(plan)  # type: ignore[arg-type]  # every plan is one
            args = "()" if all(_has_default(f) for f in fields) else "(…)"
            raise FaultPlanError(
                f"pass {name}{args}, not {name}: fault() takes plan instances "
                "(or None for a clean exchange)"
            )
        hint = " (a path glob goes in path=…)" if isinstance(plan, str) else ""
        raise FaultPlanError(
            f"fault() takes plans such as Truncate(100) or None, "
            f"not {type(plan).__name__} {plan!r}{hint}"
        )


def _has_default(field: dataclasses.Field[object]) -> bool:
    return (
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    )


def check_glob(glob: object) -> None:
    """FaultPlanError for a ``path=`` that can never match a request path, with the fix."""
    if glob is None:
        return
    if not isinstance(glob, str):
        raise FaultPlanError(f"path={glob!r} must be a str glob such as '*.zip'")
    if "://" in glob:
        path = urlsplit(glob).path or "/"
        raise FaultPlanError(
            f"path={glob!r} is a URL, but path= is a glob over the request path without "
            f"its query: did you mean path={path!r}?"
        )
    if not glob.startswith(("/", "*", "?", "[")):
        raise FaultPlanError(
            f"path={glob!r} can never match: path= is a glob over the whole request path, "
            f"which starts with '/' (such as '/example.test/m/@v/v1.0.0.zip'): "
            f"did you mean path={'*/' + glob!r}?"
        )


def must_fire_count(must_fire: object, plans: tuple[FaultPlan | None, ...]) -> int:
    """How many of ``plans`` (the first ones) must be taken: True all, False none, or n."""
    if must_fire is True:
        return len(plans)
    if must_fire is False:
        return 0
    if isinstance(must_fire, int) and 0 <= must_fire <= len(plans):
        return must_fire
    raise FaultPlanError(
        f"must_fire={must_fire!r} must be True (every plan), False (none) or how many of "
        f"the first plans must fire, from 0 to {len(plans)}"
    )


@dataclass
class Armed:
    """One ``fault()`` call: its plans, how many of the first must fire, how many were taken."""

    host: str
    glob: str | None
    plans: tuple[FaultPlan | None, ...]
    must_fire: int
    call: str
    """The call as code, e.g. ``fault('proxy.test', Truncate(at=100, ...), path='*.zip')``."""
    taken: int = 0
    replaced: bool = False

    @property
    def next(self) -> FaultPlan | None:
        return self.plans[self.taken] if self.taken < len(self.plans) else None

    @property
    def exhausted(self) -> bool:
        return self.replaced or self.taken >= len(self.plans)

    def take(self) -> FaultPlan | None:
        plan = self.next
        self.taken += 1
        return plan

    def unfired(self) -> list[FaultPlan]:
        """The plans that had to fire and did not (``None`` is no fault: it need not)."""
        return [p for p in self.plans[self.taken : self.must_fire] if p is not None]


#: Numbers for states of the queues (and of the routes around them): each change takes
#: the next one, so a number names one state, across every FaultQueues there is.
_STATES = itertools.count()


def new_state() -> int:
    """A number no state of the fault queues or routes had before."""
    return next(_STATES)


class FaultQueues:
    """The plans armed on each (host, path glob), taken in order by connections and exchanges.

    A path's own queue comes before its host's; once it is used up, the
    host's applies. Connection faults (Refuse, HandshakeAbort) wait at the
    head of the host's queue for the next connection: an exchange on a
    connection already open passes them by.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str | None], Armed] = {}
        self._armed: list[Armed] = []
        self._seen: dict[str, list[str]] = {}
        #: This state of the queues: it changes whenever a plan is armed or taken.
        self.state = new_state()

    def arm(self, armed: Armed) -> None:
        """Queue ``armed``'s plans, replacing (and still accounting for) any on its key."""
        with self._lock:
            before = self._queues.get((armed.host, armed.glob))
            if before is not None:
                before.replaced = True
            self._queues[(armed.host, armed.glob)] = armed
            self._armed.append(armed)
            self.state = new_state()

    def armed_on(self, host: str) -> list[Armed]:
        """Every queue armed on ``host`` that still has plans."""
        with self._lock:
            return [a for a in self._queues.values() if a.host == host and not a.exhausted]

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._armed.clear()
            self._seen.clear()
            self.state = new_state()

    def connection_plan(
        self, host: str, kinds: tuple[type, ...] = CONNECTION_FAULTS
    ) -> FaultPlan | None:
        """The plan for a new connection to ``host``: a connection fault of ``kinds`` at the
        head of its queue (a plain request, which opens no tunnel, can meet only Refuse)."""
        with self._lock:
            self._seen.setdefault(host, [])
            queue = self._queues.get((host, None))
            if queue and not queue.exhausted and isinstance(queue.next, kinds):
                return self._take(queue)
        return None

    def exchange_plan(self, host: str, path: str) -> FaultPlan | None:
        """The plan for one exchange with ``host`` for ``path`` (without its query)."""
        with self._lock:
            self._seen.setdefault(host, []).append(path)
            for (queue_host, glob), queue in self._queues.items():
                if queue_host == host and glob and not queue.exhausted and _matches(path, glob):
                    return self._take(queue)
            host_queue = self._queues.get((host, None))
            if (
                host_queue
                and not host_queue.exhausted
                and not isinstance(host_queue.next, CONNECTION_FAULTS)
            ):
                return self._take(host_queue)
        return None

    def _take(self, queue: Armed) -> FaultPlan | None:
        """The next plan of ``queue``: a new state of the queues. Call with the lock held."""
        self.state = new_state()
        return queue.take()

    def report(self, known_hosts: Iterable[str], label: str = "", caller: str = "") -> str | None:
        """Every plan that had to fire and did not, with what its host saw; None if none.

        ``label`` names the proxy in the text when its one host has no name of its own;
        ``caller`` goes before each call (``"gomodnet."``), so the code pastes back as is.
        """
        with self._lock:
            unfired = [a for a in self._armed if a.unfired()]
            seen = {host: list(paths) for host, paths in self._seen.items()}
        if not unfired:
            return None
        hosts = sorted(set(known_hosts) | set(seen))
        lines = [UNFIRED_HEADLINE]
        for armed in unfired:
            plans = plan_list(armed.unfired())
            replaced = " (replaced by a later fault() call first)" if armed.replaced else ""
            lines.append(f"  {caller}{armed.call}: never fired: {plans}{replaced}")
            lines += [f"    {line}" for line in _why(armed, label or armed.host, hosts, seen)]
        return "\n".join(lines)


def plan_list(items: Iterable[object]) -> str:
    """``items`` as code, a run of 3 or more equal ones as ``*[plan] * n``."""
    words = []
    for item, run in itertools.groupby(items):
        count = len(list(run))
        words += [f"*[{item!r}] * {count}"] if count >= 3 else [repr(item)] * count
    return ", ".join(words)


def _why(armed: Armed, name: str, hosts: list[str], seen: dict[str, list[str]]) -> list[str]:
    """What the host of ``armed`` did see, nearest first, and a "did you mean" for a near miss."""
    if armed.host not in hosts:
        guess = difflib.get_close_matches(armed.host, hosts, n=1, cutoff=0.6)
        mean = f"; did you mean {guess[0]!r}?" if guess else ""
        return [f"no host {armed.host!r} was added, and no request named it{mean}"]
    paths = seen.get(armed.host, [])
    if not paths:
        return [f"{name} saw no request"]
    unique = list(dict.fromkeys(paths))
    count = len(armed.plans)
    taken = f"{armed.taken} of {count} plan{'s' if count != 1 else ''} taken"
    lines = [f"{taken}; the requests {name} saw, nearest first:"]
    nearest = sorted(unique, key=lambda p: -_similarity(armed.glob or "", p))
    lines += [f"  {_request(p)}" for p in nearest[:SHOWN_REQUESTS]]
    if len(nearest) > SHOWN_REQUESTS:
        lines.append(f"  … and {len(nearest) - SHOWN_REQUESTS} more")
    if armed.glob is not None:
        lines += _did_you_mean(armed.glob, unique)
    return lines


def _matches(path: str, glob: str) -> bool:
    """The one rule of path globs: the whole request path, case-sensitively."""
    return fnmatch.fnmatchcase(path, glob)


def _similarity(glob: str, path: str) -> float:
    return difflib.SequenceMatcher(None, glob, path).ratio()


def _request(path: str) -> str:
    return "(a relayed tunnel: no path)" if path == TUNNEL else path


def _did_you_mean(glob: str, paths: list[str]) -> list[str]:
    """A seen path the glob nearly names: the same but for case, or a few characters."""
    folded = [p for p in paths if _matches(p.lower(), glob.lower()) and not _matches(p, glob)]
    if folded:
        return [f"did you mean path={folded[0]!r}? (globs match case-sensitively)"]
    unmatched = [p for p in paths if p and not _matches(p, glob)]
    close = difflib.get_close_matches(glob, unmatched, n=1, cutoff=0.8)
    return [f"did you mean path={close[0]!r}?"] if close else []
