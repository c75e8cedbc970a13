"""Fault plans and sequences to arm on the network, and framings to serve with."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet import faults
from pytest_gomodnet.boundaries import H2_FRAME_SIZE, h2_frame_edges
from pytest_gomodnet.framing import FRAMINGS, Framing

from ._cuts import truncation_points

_OFFSETS = st.integers(min_value=0, max_value=1 << 16)
_WHERE: st.SearchStrategy[faults.Where | None] = st.sampled_from([None, "headers", "body"])
#: The response size slow plans are bounded for when the response is not given.
_ASSUMED_SIZE = 1 << 16
#: The shortest pause a slow plan draws, in seconds.
_MIN_PAUSE = 0.001
#: The most time one slow plan may add to an example, unless ``max_seconds`` says.
DEFAULT_MAX_SECONDS = 0.5


#: Where an offset fault strikes when the response is not known: anywhere in 64 KiB of
#: head, body or body end.
_UNAIMED_AT: st.SearchStrategy[tuple[int, faults.Where | None]] = st.one_of(
    st.tuples(_OFFSETS, _WHERE),
    st.tuples(st.integers(min_value=-(1 << 16), max_value=0), st.just("body-end")),
)


def _at_offsets(
    kind: type, response: bytes | None, **others: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``kind(at=..., where=..., **others)``, drawn in one composite (a flatmap would
    build a new strategy for every draw, which costs more than the request it fuzzes).
    With ``response``, ``at`` is one of its truncation points (counted from the status
    line: ``where=None``), drawn as it is: a map over it is one more layer of
    hypothesis's work in every example (docs/bench.md has what it cost)."""
    cuts = truncation_points(response) if response is not None else None

    @st.composite
    def plans(draw: st.DrawFn) -> Any:
        at, where = (draw(cuts), None) if cuts is not None else draw(_UNAIMED_AT)
        return kind(at=at, where=where, **{name: draw(s) for name, s in others.items()})

    return plans()


def _body_offsets(response: bytes | None) -> st.SearchStrategy[int]:
    """Offsets into the body: within it when the response is known."""
    if response is None:
        return _OFFSETS
    return st.integers(min_value=0, max_value=max(0, _body_length(response) - 1))


def _body_length(response: bytes) -> int:
    head_end = response.find(b"\r\n\r\n")
    return len(response) - (head_end + 4) if head_end >= 0 else len(response)


def _pauses(max_seconds: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=_MIN_PAUSE, max_value=max_seconds, allow_nan=False)


def _drips(size: int, max_seconds: float) -> st.SearchStrategy[faults.Drip]:
    """Drips whose pauses add up to ``max_seconds`` at most over ``size`` bytes."""
    smallest = max(1, math.ceil(size * _MIN_PAUSE / max_seconds))
    chunks = st.integers(min_value=smallest, max_value=max(smallest, min(4096, size)))
    return chunks.flatmap(
        lambda chunk: st.builds(
            faults.Drip, st.just(chunk), _pauses(max_seconds / math.ceil(size / chunk))
        )
    )


def _rates(size: int, max_seconds: float) -> st.SearchStrategy[int]:
    """Rates in bytes a second that deliver ``size`` bytes within ``max_seconds``."""
    slowest = max(1_000, math.ceil(size / max_seconds))
    return st.integers(min_value=slowest, max_value=max(slowest, 10_000_000))


def _plan_strategies(
    response: bytes | None, max_seconds: float
) -> dict[type, st.SearchStrategy[Any]]:
    """A strategy per fault kind: offsets aimed at ``response`` if given, and slow kinds
    that add ``max_seconds`` at most to a response of its size."""
    size = len(response) if response is not None else _ASSUMED_SIZE
    return {
        faults.Truncate: _at_offsets(
            faults.Truncate, response, close=st.sampled_from(["fin", "rst", "tls-no-close-notify"])
        ),
        faults.Reset: _at_offsets(faults.Reset, response),
        faults.Stall: _at_offsets(faults.Stall, response, seconds=_pauses(max_seconds)),
        faults.Corrupt: _at_offsets(
            faults.Corrupt, response, xor=st.integers(min_value=1, max_value=255)
        ),
        faults.Throttle: st.builds(faults.Throttle, _rates(size, max_seconds)),
        faults.Drip: _drips(size, max_seconds),
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
        faults.ChunkedCut: st.builds(faults.ChunkedCut, _body_offsets(response)),
        faults.WrongContentType: st.builds(
            faults.WrongContentType,
            st.sampled_from(["text/html", "application/octet-stream", "x/y"]),
        ),
        faults.SlowFirstByte: st.builds(faults.SlowFirstByte, _pauses(max_seconds)),
        **_stream_fault_strategies(response, max_seconds),
    }


#: RFC 9113's error codes by name, for the HTTP/2 plans.
_H2_CODES = st.sampled_from(
    ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "REFUSED_STREAM", "CANCEL", "STREAM_CLOSED"]
)


def _frame_edges(response: bytes | None) -> st.SearchStrategy[int]:
    """Body offsets at a DATA frame's edge, or one byte either side: within the body of
    ``response`` when it is known (see :func:`~pytest_gomodnet.boundaries.h2_frame_edges`),
    else the first frames' edges."""
    if response is None:
        edges = tuple(k * H2_FRAME_SIZE for k in range(5))
        return st.sampled_from(sorted({e + d for e in edges for d in (-1, 0) if e + d >= 0}))
    body = _body_length(response)
    edges = (0, *h2_frame_edges(body))
    sides = sorted({e + d for e in edges for d in (-1, 0, 1) if 0 <= e + d < max(1, body)})
    return st.sampled_from(sides)


def _stream_fault_strategies(
    response: bytes | None, max_seconds: float
) -> dict[type, st.SearchStrategy[Any]]:
    """The HTTP/2 plans, their offsets in the body (DATA bytes) and often at a DATA frame's
    edge (16 KiB, the frame size every client starts with); a window stall of
    ``max_seconds`` at most."""
    at = st.one_of(_body_offsets(response), _frame_edges(response))
    return {
        faults.StreamReset: st.builds(faults.StreamReset, at, _H2_CODES),
        faults.GoAway: st.builds(
            faults.GoAway, at, st.one_of(st.none(), st.integers(0, 9)), _H2_CODES
        ),
        faults.EndStreamEarly: st.builds(faults.EndStreamEarly, at),
        faults.DataBeforeHeaders: st.just(faults.DataBeforeHeaders()),
        faults.WindowStall: st.builds(faults.WindowStall, at, _pauses(max_seconds), _H2_CODES),
        faults.NoSettingsAck: st.builds(faults.NoSettingsAck, st.booleans()),
    }


_PLAN_STRATEGIES = _plan_strategies(None, DEFAULT_MAX_SECONDS)


#: Fault kinds that take their time (seconds of a test's run): drawn only when asked for.
SLOW_FAULTS: tuple[type, ...] = (
    faults.Stall,
    faults.Drip,
    faults.Throttle,
    faults.SlowFirstByte,
    faults.WindowStall,
)


def fault_plans(
    *,
    kinds: Sequence[type] | None = None,
    path: bool = False,
    slow: bool = False,
    response: bytes | None = None,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[faults.FaultPlan]:
    """Any fault plan (or only those of ``kinds``), with valid arguments.

    By default every kind but :data:`SLOW_FAULTS` (``slow=True`` adds them) and the
    HTTP/2 plans (``kinds=faults.H2_FAULTS`` draws those: offsets in the body, often
    at a 16 KiB DATA frame's edge, a WindowStall of ``max_seconds`` at most, and
    NoSettingsAck, a connection fault);
    with ``path=True``, only plans ``fault(host, plan, path=...)`` can aim at a
    path: not the connection faults (Refuse, HandshakeAbort), which come before
    any request.

    Give ``response`` (``gomodnet.response_bytes(url)``) and every offset lands
    inside it, leaning on its boundaries as :func:`truncation_points` does
    (``where=None``: counted from the status line). Without it, offsets range
    over 64 KiB, often past the end of a small response. A slow plan adds
    ``max_seconds`` at most to one response (of ``response``'s size, or 64 KiB).
    """
    chosen = _chosen_kinds(kinds, path=path, slow=slow)
    _check_max_seconds(max_seconds)
    if response is not None:
        _check_response(response)
    table = (
        _PLAN_STRATEGIES
        if response is None and max_seconds == DEFAULT_MAX_SECONDS
        else _plan_strategies(response, max_seconds)
    )
    return st.one_of([table[k] for k in chosen])


def _chosen_kinds(kinds: Sequence[type] | None, *, path: bool, slow: bool) -> list[type]:
    if kinds is None:
        chosen = [k for k in _PLAN_STRATEGIES if slow or k not in SLOW_FAULTS]
        chosen = [k for k in chosen if k not in faults.H2_FAULTS]
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
    return chosen


def _check_max_seconds(max_seconds: object) -> None:
    if (
        isinstance(max_seconds, bool)
        or not isinstance(max_seconds, (int, float))
        or not _MIN_PAUSE <= max_seconds < math.inf
    ):
        raise InvalidArgument(
            f"max_seconds={max_seconds!r} must be a finite number of seconds >= {_MIN_PAUSE}"
        )


def _check_response(response: object) -> None:
    if not isinstance(response, bytes) or not response:
        raise InvalidArgument(
            f"response={response!r:.60} must be the non-empty bytes a client receives: "
            "gomodnet.response_bytes(url)"
        )


def fault_sequences(
    *,
    kinds: Sequence[type] | None = None,
    max_size: int = 4,
    path: bool = False,
    slow: bool = False,
    response: bytes | None = None,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[list[faults.FaultPlan | None]]:
    """Per-exchange sequences for ``fault(host, *sequence)``: plans and clean (None) turns.

    ``kinds``, ``path``, ``slow``, ``response`` and ``max_seconds`` choose the
    plans as for :func:`fault_plans`.
    A client may stop before the end of a drawn sequence (it gave up, or succeeded):
    arm it with ``must_fire=False`` (or ``must_fire=1``) unless every turn must come.
    """
    if not isinstance(max_size, int) or max_size < 1:
        raise InvalidArgument(f"max_size={max_size!r} must be an int >= 1")
    plans = fault_plans(
        kinds=kinds, path=path, slow=slow, response=response, max_seconds=max_seconds
    )
    return st.lists(st.none() | plans, min_size=1, max_size=max_size)


def framings() -> st.SearchStrategy[Framing]:
    """How a response says where it ends, for ``Network.frame(host, framing)`` or
    ``add_goproxy(..., framing=...)``: ``"content-length"``, ``"chunked"`` or
    ``"close"`` (where a cut looks complete). Shrinks towards Content-Length."""
    return st.sampled_from(FRAMINGS)


for _kind, _strategy in _PLAN_STRATEGIES.items():
    st.register_type_strategy(_kind, _strategy)
