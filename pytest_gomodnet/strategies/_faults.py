"""Fault plans and sequences to arm on the network, and framings to serve with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet import faults
from pytest_gomodnet.framing import FRAMINGS, Framing

_OFFSETS = st.integers(min_value=0, max_value=1 << 16)
_SECONDS = st.floats(min_value=0.001, max_value=0.5, allow_nan=False)
_WHERE = st.sampled_from([None, "headers", "body"])


def _at_where() -> st.SearchStrategy[tuple[int, str | None]]:
    ends = st.tuples(st.integers(min_value=-(1 << 16), max_value=0), st.just("body-end"))
    return st.one_of(st.tuples(_OFFSETS, _WHERE), ends)


_PLAN_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    faults.Truncate: _at_where().flatmap(
        lambda aw: st.builds(
            faults.Truncate,
            at=st.just(aw[0]),
            where=st.just(aw[1]),
            close=st.sampled_from(["fin", "rst", "tls-no-close-notify"]),
        )
    ),
    faults.Reset: _at_where().map(lambda aw: faults.Reset(aw[0], where=aw[1])),  # type: ignore[arg-type]
    faults.Stall: st.builds(
        lambda aw, s: faults.Stall(aw[0], s, where=aw[1]), _at_where(), _SECONDS
    ),
    faults.Corrupt: st.builds(
        lambda aw, x: faults.Corrupt(aw[0], x, where=aw[1]),
        _at_where(),
        st.integers(min_value=1, max_value=255),
    ),
    faults.Throttle: st.builds(faults.Throttle, st.integers(min_value=1_000, max_value=10_000_000)),
    faults.Drip: st.builds(faults.Drip, st.integers(min_value=1, max_value=4096), _SECONDS),
    faults.CloseBeforeResponse: st.just(faults.CloseBeforeResponse()),
    faults.Refuse: st.just(faults.Refuse()),
    faults.HandshakeAbort: st.just(faults.HandshakeAbort()),
    faults.Status: st.builds(
        faults.Status,
        st.sampled_from([400, 401, 403, 404, 410, 429, 500, 502, 503, 504]),
        st.binary(max_size=64),
    ),
    faults.HtmlLogin: st.just(faults.HtmlLogin()),
    faults.LieContentLength: st.builds(faults.LieContentLength, st.integers(1, 1 << 20)),
    faults.ChunkedCut: st.builds(faults.ChunkedCut, _OFFSETS),
    faults.WrongContentType: st.builds(
        faults.WrongContentType, st.sampled_from(["text/html", "application/octet-stream", "x/y"])
    ),
    faults.SlowFirstByte: st.builds(faults.SlowFirstByte, _SECONDS),
}


#: Fault kinds that take their time (seconds of a test's run): drawn only when asked for.
SLOW_FAULTS: tuple[type, ...] = (faults.Stall, faults.Drip, faults.Throttle, faults.SlowFirstByte)


def fault_plans(
    *, kinds: Sequence[type] | None = None, path: bool = False, slow: bool = False
) -> st.SearchStrategy[faults.FaultPlan]:
    """Any fault plan (or only those of ``kinds``), with valid arguments.

    By default every kind but :data:`SLOW_FAULTS` (``slow=True`` adds them);
    with ``path=True``, only plans ``fault(host, plan, path=...)`` can aim at a
    path: not the connection faults (Refuse, HandshakeAbort), which come before
    any request. Offsets lean on nothing here: aim them with
    :func:`truncation_points` when the response is known.
    """
    if kinds is None:
        chosen = [k for k in _PLAN_STRATEGIES if slow or k not in SLOW_FAULTS]
        chosen = [k for k in chosen if not (path and k in faults.CONNECTION_FAULTS)]
    else:
        chosen = list(kinds)
    unknown = [k for k in chosen if k not in _PLAN_STRATEGIES]
    if unknown or not chosen:
        raise InvalidArgument(
            f"kinds={kinds!r} must be a non-empty list of fault classes from "
            f"pytest_gomodnet.faults; unknown: {unknown!r}"
        )
    unaimed = [k.__name__ for k in chosen if path and k in faults.CONNECTION_FAULTS]
    if unaimed:
        raise InvalidArgument(
            f"path=True, but {', '.join(unaimed)} happen before any request is read, so "
            "fault() rejects them with path=: leave them out of kinds, or arm them without path="
        )
    return st.one_of([_PLAN_STRATEGIES[k] for k in chosen])


def fault_sequences(
    *,
    kinds: Sequence[type] | None = None,
    max_size: int = 4,
    path: bool = False,
    slow: bool = False,
) -> st.SearchStrategy[list[faults.FaultPlan | None]]:
    """Per-exchange sequences for ``fault(host, *sequence)``: plans and clean (None) turns.

    ``kinds``, ``path`` and ``slow`` choose the plans as for :func:`fault_plans`.
    A client may stop before the end of a drawn sequence (it gave up, or succeeded):
    arm it with ``must_fire=False`` (or ``must_fire=1``) unless every turn must come.
    """
    if not isinstance(max_size, int) or max_size < 1:
        raise InvalidArgument(f"max_size={max_size!r} must be an int >= 1")
    plans = fault_plans(kinds=kinds, path=path, slow=slow)
    return st.lists(st.none() | plans, min_size=1, max_size=max_size)


def framings() -> st.SearchStrategy[Framing]:
    """How a response says where it ends, for ``Network.frame(host, framing)`` or
    ``add_goproxy(..., framing=...)``: ``"content-length"``, ``"chunked"`` or
    ``"close"`` (where a cut looks complete). Shrinks towards Content-Length."""
    return st.sampled_from(FRAMINGS)


for _kind, _strategy in _PLAN_STRATEGIES.items():
    st.register_type_strategy(_kind, _strategy)
