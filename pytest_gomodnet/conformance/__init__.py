"""The conformance suite that ``pytest --gomodnet`` adds to a run.

Each case is a test function marked with :func:`case`: an id, a level in the
sense of RFC 2119 (``MUST`` or ``SHOULD``) and a one-line rationale that points
at the GOPROXY protocol or at a known failure (``FAILURES n`` is the entry in
the project's list of real failures). Proxy cases live in
:mod:`.proxy_cases`, client cases in :mod:`.client_cases`; the targets they
run against are described in :mod:`.targets`.

A failing MUST case fails the run. A failing SHOULD case is reported as
``SHOULD-fail`` (an xfail) unless ``--gomodnet-strict`` is given.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import pytest

__all__ = [
    "CASES",
    "CASE_MODULES",
    "CLIENT_CASE_MODULES",
    "PROXY_CASE_MODULES",
    "Case",
    "Level",
    "all_cases",
    "case",
]

Level = Literal["MUST", "SHOULD"]
Kind = Literal["proxy", "client"]
F = TypeVar("F", bound=Callable[..., object])

#: The files ``--gomodnet`` adds to the run: the proxy cases, then the client cases
#: (through a GOPROXY, then in direct mode with git).
PROXY_CASE_MODULES = tuple(
    Path(__file__).with_name(name)
    for name in ("proxy_cases.py", "sumdb_proxy_cases.py", "upstream_h2_proxy_cases.py")
)
CLIENT_CASE_MODULES = tuple(
    Path(__file__).with_name(name)
    for name in ("client_cases.py", "git_cases.py", "h2_client_cases.py")
)
CASE_MODULES = PROXY_CASE_MODULES + CLIENT_CASE_MODULES


@dataclass(frozen=True)
class Case:
    """One conformance case: what is checked, how strongly, and why."""

    id: str
    level: Level
    kind: Kind
    rationale: str


#: Every case, by id, in the order the modules define them.
CASES: dict[str, Case] = {}


def all_cases() -> dict[str, Case]:
    """Every case of the suite (importing the case modules registers them)."""
    for path in CASE_MODULES:
        importlib.import_module(f"{__name__}.{path.stem}")
    return CASES


def case(
    id: str, level: Level, rationale: str, *, variants: Mapping[str, object] | None = None
) -> Callable[[F], F]:
    """Register a test function as a conformance case (its module says proxy or client).

    With ``variants`` (name → value), the function takes a ``variant``
    argument and each name is a case of its own: ``id[name]``.
    """
    if level not in ("MUST", "SHOULD"):
        raise ValueError(f"case {id!r}: level {level!r} must be 'MUST' or 'SHOULD'")

    def mark(function: F) -> F:
        kind: Kind = "proxy" if function.__module__.endswith("proxy_cases") else "client"
        base = f"{kind}.{id}"
        if variants is None:
            _register(Case(base, level, kind, rationale))
            marked: F = pytest.mark.gomodnet_case(base)(function)
            return marked
        params = []
        for name, value in variants.items():
            full_id = f"{base}[{name}]"
            _register(Case(full_id, level, kind, rationale))
            params.append(pytest.param(value, id=name, marks=pytest.mark.gomodnet_case(full_id)))
        parametrized: F = pytest.mark.parametrize("variant", params)(function)
        return parametrized

    return mark


def _register(new: Case) -> None:
    # A module imported again (pytester runs pytest in process) registers the same case.
    if CASES.get(new.id, new) != new:
        raise ValueError(f"case {new.id!r} is defined twice, differently")
    CASES[new.id] = new
