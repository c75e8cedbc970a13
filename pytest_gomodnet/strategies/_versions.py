"""Module versions: releases, pre-releases, pseudo-versions, +incompatible."""

from __future__ import annotations

import string
from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Literal, get_args

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

#: What :func:`versions` can draw: ``release`` (``v1.2.3``), ``prerelease``
#: (``v1.2.3-rc.1``), ``pseudo`` (the three pseudo-version forms of
#: golang.org/x/mod ``module.PseudoVersion``) and ``incompatible``
#: (``v2.0.0+incompatible``, major 2 or more).
VersionKind = Literal["release", "prerelease", "pseudo", "incompatible"]
VERSION_KINDS: tuple[VersionKind, ...] = get_args(VersionKind)

_HEX = "0123456789abcdef"
_IDENT_CHARS = string.ascii_letters + string.digits + "-"


@cache
def _numbers() -> st.SearchStrategy[int]:
    """Version numbers, leaning on 0, 1 and the boundaries of common integer types."""
    return st.one_of(
        st.sampled_from([0, 1, 2, 9, 10, 2**31 - 1, 2**63 - 1, 2**64]),
        st.integers(min_value=0, max_value=999),
    )


@cache
def _identifiers() -> st.SearchStrategy[str]:
    """A semver pre-release identifier: numeric without leading zeros, or alphanumeric."""
    return st.one_of(
        st.sampled_from(["rc", "alpha", "beta", "pre", "RC", "0", "x-y", "-"]),
        _numbers().map(str),
        st.text(_IDENT_CHARS, min_size=1, max_size=8).map(
            lambda i: i.lstrip("0") or "0" if i.isdigit() else i
        ),
    )


@cache
def _prereleases() -> st.SearchStrategy[str]:
    return st.lists(_identifiers(), min_size=1, max_size=3).map(".".join)


@cache
def _majors(major: int | None, *, at_least: int = 0) -> st.SearchStrategy[int]:
    if major is not None:
        return st.just(major)
    return _numbers().map(lambda n: max(n, at_least))


@cache
def _releases(major: int | None, *, at_least: int = 0) -> st.SearchStrategy[str]:
    return st.builds("v{}.{}.{}".format, _majors(major, at_least=at_least), _numbers(), _numbers())


@cache
def _pre_releases(major: int | None, *, at_least: int = 0) -> st.SearchStrategy[str]:
    return st.builds("{}-{}".format, _releases(major, at_least=at_least), _prereleases())


@cache
def _pseudo_suffixes() -> st.SearchStrategy[str]:
    """``yyyymmddhhmmss-<12 hex>``: the commit time (UTC) and revision of a pseudo-version."""
    return st.builds(
        "{:%Y%m%d%H%M%S}-{}".format,
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)),
        st.text(_HEX, min_size=12, max_size=12),
    )


def _bumped(release: str) -> str:
    head, _, patch = release.rpartition(".")
    return f"{head}.{int(patch) + 1}"


@cache
def _based_pseudo_versions(major: int | None, *, at_least: int = 0) -> st.SearchStrategy[str]:
    """The forms with a base tag: ``vX.Y.(Z+1)-0.T-R`` and ``vX.Y.Z-pre.0.T-R``."""
    return st.one_of(
        st.builds(
            "{}-0.{}".format, _releases(major, at_least=at_least).map(_bumped), _pseudo_suffixes()
        ),
        st.builds("{}.0.{}".format, _pre_releases(major, at_least=at_least), _pseudo_suffixes()),
    )


@cache
def _pseudo_versions(major: int | None, *, at_least: int = 0) -> st.SearchStrategy[str]:
    """The three forms: ``vX.0.0-T-R`` (no base tag), and the two with a base."""
    return st.one_of(
        st.builds("v{}.0.0-{}".format, _majors(major, at_least=at_least), _pseudo_suffixes()),
        _based_pseudo_versions(major, at_least=at_least),
    )


@cache
def _incompatible_versions(major: int | None) -> st.SearchStrategy[str]:
    # Not vX.0.0-T-R+incompatible: x/mod PseudoVersionBase rejects it
    # ("lacks base version, but has build metadata").
    return st.one_of(
        _releases(major, at_least=2),
        _pre_releases(major, at_least=2),
        _based_pseudo_versions(major, at_least=2),
    ).map("{}+incompatible".format)


def versions(
    *, kinds: Collection[VersionKind] = VERSION_KINDS, major: int | None = None
) -> st.SearchStrategy[str]:
    """Canonical Go module versions of the given ``kinds``.

    With ``major``, every version has that major number, so that it fits a
    module path: ``major=0`` or ``1`` for a path without suffix, ``N`` for
    ``/vN`` (``+incompatible`` needs 2 or more and no suffix). Numbers lean
    on 0, 1 and integer-type limits; pre-releases on ``rc``, ``RC`` (which
    escapes to ``!r!c``) and numeric identifiers.
    """
    chosen = tuple(kinds)
    if isinstance(kinds, str) or not chosen or any(k not in VERSION_KINDS for k in chosen):
        raise InvalidArgument(
            f"kinds={kinds!r} must be a non-empty collection of {', '.join(VERSION_KINDS)}"
        )
    if major is not None and (isinstance(major, bool) or not isinstance(major, int) or major < 0):
        raise InvalidArgument(f"major={major!r} must be None or an integer >= 0")
    if major is not None and major < 2 and "incompatible" in chosen:
        if len(set(chosen)) == 1:
            raise InvalidArgument(
                f"kinds={kinds!r} with major={major!r}: +incompatible needs major >= 2"
            )
        chosen = tuple(k for k in chosen if k != "incompatible")
    by_kind = {
        "release": lambda: _releases(major),
        "prerelease": lambda: _pre_releases(major),
        "pseudo": lambda: _pseudo_versions(major),
        "incompatible": lambda: _incompatible_versions(major),
    }
    return st.one_of([by_kind[kind]() for kind in dict.fromkeys(chosen)])
