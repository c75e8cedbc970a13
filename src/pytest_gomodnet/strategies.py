"""Hypothesis strategies for fuzzing Go module downloaders.

A downloader author writes one ``@given`` test; these strategies choose where a
response ends, which faults hit which connection, and which module paths and
versions exist. Every strategy is built from hypothesis's public API only
(``st.composite``, ``st.builds``, ``.map``, ``.flatmap``), takes keyword-only
options, validates them up front with :class:`~hypothesis.errors.InvalidArgument`,
and leans on the edge cases where clients break, the way ``st.ip_addresses``
leans on special ranges.

Why the draws are shaped the way they are
-----------------------------------------
Hypothesis shrinks integers towards smaller values and booleans towards
``False``. :func:`truncation_points` therefore draws ``lean`` (a boolean), a
boundary index and a free offset whose lower bound is the chosen boundary.
When ``lean`` is true the boundary is returned; when the shrinker turns
``lean`` off, the free offset (never below that boundary) takes over and keeps
failing for a client that fails on every cut past some offset. From there it
shrinks freely down to the smallest failing cut, which need not be a boundary.
"""

from __future__ import annotations

import re
import string
import struct
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args, overload

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from . import faults, goimport
from ._gotext import go_quote, go_quote_rune
from ._http import header
from .framing import FRAMINGS, Framing

if TYPE_CHECKING:
    from .network import Network
    from .sumdb import SumDB

__all__ = [
    "MAX_GO_MOD_SIZE",
    "PATH_RULES",
    "SLOW_FAULTS",
    "SUMDB_FAULT_KINDS",
    "VERSION_KINDS",
    "Boundary",
    "GoImportDocument",
    "InvalidModulePath",
    "PathRule",
    "SumDBFault",
    "VersionKind",
    "fault_plans",
    "fault_sequences",
    "framings",
    "go_import_documents",
    "module_files",
    "module_paths",
    "response_boundaries",
    "sumdb_faults",
    "tree_sizes",
    "truncation_points",
    "versions",
]


# --- where an HTTP response can end ------------------------------------------


@dataclass(frozen=True)
class Boundary:
    """An offset into a concrete response where clients tend to break.

    ``offset`` counts bytes from the first byte of the status line: a cut at
    ``offset`` delivers exactly ``response[:offset]``.
    """

    offset: int
    name: str

    def __str__(self) -> str:
        return f"{self.offset} ({self.name})"


_HEADER_END = b"\r\n\r\n"
_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD = struct.Struct("<4sHHHHIIH")
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")
_SPARE_CHOICES = 0xFFFF


@dataclass(frozen=True)
class _Body:
    """The payload of a response, and where each payload byte sits in the raw bytes.

    ``spans`` are (raw_start, payload_start, length) runs: one run for a
    plain body, one per chunk for a chunked one.
    """

    payload: bytes
    spans: tuple[tuple[int, int, int], ...]

    def raw_offset(self, payload_offset: int) -> int:
        for raw_start, payload_start, length in self.spans:
            if payload_start <= payload_offset < payload_start + length:
                return raw_start + payload_offset - payload_start
        last_raw, last_payload, last_length = self.spans[-1] if self.spans else (0, 0, 0)
        return last_raw + last_length + (payload_offset - last_payload - last_length)


def _chunked_boundaries(response: bytes, body_start: int) -> tuple[list[Boundary], _Body]:
    """Boundaries of chunked framing; stops quietly where the framing breaks."""
    found: list[Boundary] = []
    spans: list[tuple[int, int, int]] = []
    payload = bytearray()
    pos, number = body_start, 1
    while pos < len(response):
        line_end = response.find(b"\r\n", pos)
        size_match = _CHUNK_SIZE.match(response, pos)
        if line_end < 0 or size_match is None:
            break
        size = int(size_match.group(), 16)
        label = "last chunk" if size == 0 else f"chunk {number}"
        found.append(Boundary(pos, f"start of {label}-size line"))
        if line_end - pos > 1:
            found.append(Boundary(pos + 1, f"inside {label}-size line"))
        found.append(Boundary(line_end, f"end of {label}-size line, before its CRLF"))
        data_start = line_end + 2
        if size == 0:
            found.append(Boundary(data_start, "after last chunk-size line, before final CRLF"))
            break
        found.append(Boundary(data_start, f"first byte of chunk {number} data"))
        data_end = data_start + size
        found.append(Boundary(data_end - 1, f"last byte of chunk {number} data"))
        found.append(Boundary(data_end, f"end of chunk {number} data, before its CRLF"))
        spans.append((data_start, len(payload), size))
        payload += response[data_start:data_end]
        pos, number = data_end + 2, number + 1
    return found, _Body(bytes(payload), tuple(spans))


def _zip_boundaries(body: _Body) -> Iterator[Boundary]:
    """Central directory and end-of-central-directory record of a zip payload."""
    data = body.payload
    if not data.startswith(_LOCAL_HEADER_SIGNATURE):
        return
    yield Boundary(body.raw_offset(_LOCAL_HEADER_SIZE - 1), "inside the first zip local header")
    eocd = data.rfind(_EOCD_SIGNATURE, max(0, len(data) - _EOCD.size - 0xFFFF))
    if eocd < 0 or eocd + _EOCD.size > len(data):
        return
    *_, cd_size, cd_offset, _comment_length = _EOCD.unpack_from(data, eocd)
    if cd_offset + cd_size <= eocd:
        yield Boundary(body.raw_offset(cd_offset), "start of zip central directory")
        yield Boundary(body.raw_offset(cd_offset + 1), "inside zip central directory")
        yield Boundary(body.raw_offset(cd_offset + cd_size // 2), "middle of zip central directory")
    yield Boundary(body.raw_offset(eocd - 1), "last byte before zip end-of-central-directory")
    yield Boundary(body.raw_offset(eocd), "start of zip end-of-central-directory record")
    yield Boundary(body.raw_offset(eocd + 1), "inside zip end-of-central-directory signature")
    yield Boundary(
        body.raw_offset(eocd + 16), "inside zip end-of-central-directory (central directory offset)"
    )
    yield Boundary(
        body.raw_offset(eocd + _EOCD.size - 1), "last byte of zip end-of-central-directory"
    )


def _http_boundaries(response: bytes) -> Iterator[Boundary]:
    status_end = response.find(b"\r\n")
    if status_end > 0:
        version_end = response.find(b" ", 0, status_end)
        if version_end > 0:
            yield Boundary(version_end + 1, "inside the status line, before the status code")
        yield Boundary(status_end, "end of the status line, before its CRLF")
        yield Boundary(status_end + 2, "start of the first header line")
    header_end = response.find(_HEADER_END)
    if header_end < 0:
        return
    head, body_start = response[:header_end], header_end + len(_HEADER_END)
    yield Boundary(header_end - 1, "last byte of the last header line")
    yield Boundary(header_end, "just before \\r\\n\\r\\n")
    yield Boundary(header_end + 2, "inside \\r\\n\\r\\n")
    yield Boundary(body_start - 1, "last byte of \\r\\n\\r\\n")
    yield Boundary(body_start, "just after \\r\\n\\r\\n (no body byte)")
    yield Boundary(body_start + 1, "one body byte")
    encoding = header(head, b"transfer-encoding")
    if encoding is not None and encoding.lower().endswith(b"chunked"):
        chunk_bounds, body = _chunked_boundaries(response, body_start)
        yield from chunk_bounds
    else:
        body = _Body(response[body_start:], ((body_start, 0, len(response) - body_start),))
        length = header(head, b"content-length")
        if length is not None and length.isdigit():
            yield Boundary(body_start + int(length) - 1, "one byte before Content-Length")
            yield Boundary(body_start + int(length), "exactly at Content-Length")
            yield Boundary(body_start + int(length) // 2, "half of Content-Length")
    yield from _zip_boundaries(body)


def response_boundaries(response: bytes, *, include_end: bool = False) -> tuple[Boundary, ...]:
    """Every boundary of ``response`` that a cut should lean on, sorted by offset.

    Understands HTTP/1.x framing (status line, headers, ``\\r\\n\\r\\n``,
    Content-Length, chunked) and zip bodies (local header, central directory,
    end-of-central-directory record). Bytes that are not HTTP still get the
    start, the middle and one byte before the end. With ``include_end`` the
    full length (a clean, uncut response) is a boundary too.
    """
    _check_response(response)
    limit = len(response) if include_end else len(response) - 1
    # Generic names first: where two boundaries share an offset, the later,
    # more specific name wins ("start of chunk 1-size line" over "just after ...").
    candidates = [
        Boundary(0, "nothing (cut before the first byte)"),
        Boundary(1, "inside the status line, after its first byte"),
        Boundary(len(response) // 2, "middle of the response"),
        Boundary(len(response) - 1, "one byte before the end"),
        Boundary(len(response), "the whole response (no cut)"),
        *_http_boundaries(response),
    ]
    by_offset = {b.offset: b for b in candidates if 0 <= b.offset <= limit}
    return tuple(by_offset[offset] for offset in sorted(by_offset))


def _check_response(response: object) -> None:
    if not isinstance(response, (bytes, bytearray, memoryview)):
        raise InvalidArgument(f"response={response!r} must be the response's bytes")
    if len(response) == 0:
        raise InvalidArgument("response=b'' has no byte to cut after; pass a non-empty response")


def truncation_points(response: bytes, *, include_end: bool = False) -> st.SearchStrategy[int]:
    """Offsets at which to cut ``response``: ``Truncate(at=offset)``.

    Half the draws land on a :func:`response_boundaries` offset (the start,
    inside the status line, around ``\\r\\n\\r\\n``, chunk-size lines,
    Content-Length, a zip's central directory and end record, one byte before
    the end); the other half anywhere in ``0 .. len(response) - 1`` (``len``
    included with ``include_end``). Failing examples shrink to the smallest
    failing cut, whether or not it is a boundary.
    """
    if not isinstance(include_end, bool):
        raise InvalidArgument(f"include_end={include_end!r} must be True or False")
    boundaries = tuple(b.offset for b in response_boundaries(response, include_end=include_end))
    last = len(response) if include_end else len(response) - 1
    return _leaning_offsets(st.sampled_from(boundaries), last)


@st.composite
def _leaning_offsets(draw: st.DrawFn, boundaries: st.SearchStrategy[int], last: int) -> int:
    # Always draw every choice, in this order, so that flipping ``lean`` while
    # shrinking keeps the others aligned (see the module docstring).
    lean = draw(st.booleans())
    boundary = draw(boundaries)
    anywhere = draw(st.integers(boundary if lean else 0, last))
    # Hypothesis never replays a choice sequence it has tried. A boundary near
    # the end leaves ``anywhere`` few values, so without this spare choice it
    # would be drawn once or twice in a thousand instead of as often as the rest.
    draw(st.integers(0, _SPARE_CHOICES))
    return boundary if lean else anywhere


# --- module paths ------------------------------------------------------------

#: The rules of golang.org/x/mod ``module.CheckPath``, one name each. Every
#: invalid example from :func:`module_paths` breaks exactly one of them: the
#: one Go reports, and the only one (undo it and the path is valid again).
#: (``invalid UTF-8`` is left out: a Python ``str`` cannot hold it.)
PathRule = Literal[
    "empty-string",
    "leading-dash",
    "double-slash",
    "trailing-slash",
    "empty-path-element",
    "dots-only-element",
    "leading-dot",
    "trailing-dot",
    "invalid-char",
    "windows-reserved-name",
    "windows-short-name",
    "missing-dot-in-first-element",
    "invalid-char-in-first-element",
    "invalid-major-version-suffix",
]
PATH_RULES: tuple[PathRule, ...] = get_args(PathRule)


@dataclass(frozen=True)
class InvalidModulePath:
    """A module path that breaks exactly one rule, and what Go says about it.

    ``reason`` is the text the go command prints after ``malformed module
    path "<path>": `` (golang.org/x/mod ``module.CheckPath``); :attr:`message`
    is the whole phrase, quoting the path the way Go's ``%q`` does.
    """

    path: str
    rule: PathRule
    reason: str

    @property
    def message(self) -> str:
        return f"malformed module path {go_quote(self.path)}: {self.reason}"


# Element prefixes (before the first dot, in any case) that Windows reserves.
_WINDOWS_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10))]
)
_LOWER_DIGITS = string.ascii_lowercase + string.digits
_ELEMENT_CHARS = string.ascii_letters + string.digits + "-._~"
# Characters no module path may hold. Not '/', the separator; not '@', which
# the go command splits off as the version; not NUL, which argv cannot carry.
_BAD_CHARS = " !\"#$%&'()*+,:;<=>?[]^`{|}\x01\t\n\x1b\x7féßЖ日\u00a0\u200b"


def _short(element: str) -> str:
    return element.split(".", 1)[0]


def _windows_safe(element: str) -> bool:
    short = _short(element)
    tilde = short.rfind("~")
    tilde_digits = 0 <= tilde < len(short) - 1 and short[tilde + 1 :].isdigit()
    return short.upper() not in _WINDOWS_NAMES and not tilde_digits


def _looks_like_major(element: str) -> bool:
    return len(element) > 1 and element[0] == "v" and all(c in "0123456789." for c in element[1:])


def _element_ok(element: str) -> bool:
    """A valid later element that cannot be read as a major-version suffix."""
    return (
        element.strip(".") != ""
        and element[0] != "."
        and element[-1] != "."
        and _windows_safe(element)
        and not _looks_like_major(element)
    )


def _repaired_element(element: str) -> str:
    """``element`` made a valid later element by the smallest change.

    Repairs go through ``.map`` rather than ``.filter``: hypothesis
    re-validates a filtered text strategy on every draw inside lists and
    one_of, and that means reading the filter's source code each time.
    """
    trimmed = element.strip(".")
    return trimmed if _element_ok(trimmed) else "x" + trimmed.replace("~", "-")


@cache
def _labels() -> st.SearchStrategy[str]:
    """A host-name label: lower-case letters and digits, dashes after the first."""
    return st.builds(
        "{}{}".format,
        st.sampled_from(_LOWER_DIGITS),
        st.text(_LOWER_DIGITS + "-", max_size=10),
    )


@cache
def _first_elements() -> st.SearchStrategy[str]:
    """The host-like first element: lower case, at least one dot."""
    return (
        st.lists(_labels(), min_size=2, max_size=4)
        .map(".".join)
        .map(lambda e: e if _windows_safe(e) and e != "gopkg.in" else "x" + e)
    )


@cache
def _elements() -> st.SearchStrategy[str]:
    """A later element: letters of either case, digits and ``- . _ ~``."""
    return st.one_of(
        st.text(string.ascii_lowercase, min_size=1, max_size=8),
        st.sampled_from(["-", "_", "~", "a~b", "x_y", "A.B", "Caps", "v", "vX", "v1x", "go.mod"]),
        st.text(_ELEMENT_CHARS, min_size=1, max_size=16),
    ).map(_repaired_element)


@cache
def _plain_paths() -> st.SearchStrategy[str]:
    """A path with no major-version suffix (so ``v0``/``v1`` and ``+incompatible`` fit)."""
    return st.builds(
        lambda first, rest: "/".join([first, *rest]),
        _first_elements(),
        st.lists(_elements(), max_size=4),
    )


@cache
def _suffixed_paths() -> st.SearchStrategy[str]:
    """A path ending in a major-version suffix ``/vN``, N ≥ 2."""
    return st.builds("{}/v{}".format, _plain_paths(), st.integers(min_value=2, max_value=2**31))


@cache
def _gopkg_in_paths() -> st.SearchStrategy[str]:
    """``gopkg.in/[user/]name.vN[-unstable]``: the one host with its own suffix rule."""
    names = st.text(string.ascii_lowercase, min_size=1, max_size=8).map(_repaired_element)
    # ".v0-unstable" is not allowed: x/mod splitGopkgIn accepts a leading 0 only in ".v0".
    return st.builds(
        lambda name, major, unstable: f"gopkg.in/{name}.v{major}{unstable if major else ''}",
        st.lists(names, min_size=1, max_size=2).map("/".join),
        st.integers(min_value=0, max_value=99),
        st.sampled_from(["", "-unstable"]),
    )


@cache
def _valid_module_paths() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["example.test", "example.test/m", "example.test/UpperCase/v2"]),
        _plain_paths(),
        _suffixed_paths(),
        _gopkg_in_paths(),
    )


# Each rule: how to break a valid path (drawing what it needs) and Go's reason.
@st.composite
def _break_one_rule(draw: st.DrawFn, rule: PathRule) -> InvalidModulePath:
    first = draw(_first_elements())
    rest = draw(st.lists(_elements(), min_size=1, max_size=3))
    where = draw(st.integers(0, len(rest) - 1))

    def path_with(element: str, *, first_element: str = first) -> str:
        return "/".join([first_element, *rest[:where], element, *rest[where + 1 :]])

    path = "/".join([first, *rest])
    element = rest[where]
    if rule == "empty-string":
        return InvalidModulePath("", rule, "empty string")
    if rule == "leading-dash":
        return InvalidModulePath("-" + path, rule, "leading dash")
    if rule == "double-slash":
        return InvalidModulePath(path_with("/" + element), rule, "double slash")
    if rule == "trailing-slash":
        return InvalidModulePath(path + "/", rule, "trailing slash")
    if rule == "empty-path-element":
        return InvalidModulePath("/" + path, rule, "empty path element")
    if rule == "dots-only-element":
        # Not "...": the go command reads any argument holding it as a package pattern.
        dots = draw(st.sampled_from([".", ".."]))
        return InvalidModulePath(path_with(dots), rule, f"invalid path element {go_quote(dots)}")
    if rule == "leading-dot":
        return InvalidModulePath(path_with("." + element), rule, "leading dot in path element")
    if rule == "trailing-dot":
        return InvalidModulePath(path_with(element + "."), rule, "trailing dot in path element")
    if rule == "invalid-char":
        bad = draw(st.sampled_from(_BAD_CHARS))
        cut = draw(st.integers(0, len(element)))
        broken = element[:cut] + bad + element[cut:]
        return InvalidModulePath(path_with(broken), rule, f"invalid char {go_quote_rune(bad)}")
    if rule == "windows-reserved-name":
        casing = draw(st.sampled_from([str.upper, str.lower, str.capitalize]))
        short = casing(draw(st.sampled_from(sorted(_WINDOWS_NAMES))))
        extension = draw(st.sampled_from(["", ".txt", ".go", ".x.y"]))
        return InvalidModulePath(
            path_with(short + extension),
            rule,
            f"{go_quote(short)} disallowed as path element component on Windows",
        )
    if rule == "windows-short-name":
        digits = str(draw(st.integers(0, 99)))
        dot = element.find(".")
        broken = element + "~" + digits if dot < 0 else element[:dot] + "~" + digits + element[dot:]
        return InvalidModulePath(
            path_with(broken), rule, "trailing tilde and digits in path element"
        )
    if rule == "missing-dot-in-first-element":
        label = draw(_labels().map(_repaired_element))
        return InvalidModulePath(
            "/".join([label, *rest]), rule, "missing dot in first path element"
        )
    if rule == "invalid-char-in-first-element":
        bad = draw(st.sampled_from(string.ascii_uppercase + "_~"))
        # '~' goes last in the short name, where no digits can follow it.
        dot = first.index(".")
        cut = dot if bad == "~" else draw(st.integers(0, dot))
        broken = first[:cut] + bad + first[cut:]
        if not _windows_safe(broken):  # "cn" + "O" spells CON, another rule
            bad, broken = "_", "_" + first
        return InvalidModulePath(
            "/".join([broken, *rest]),
            rule,
            f"invalid char {go_quote_rune(bad)} in first path element",
        )
    assert rule == "invalid-major-version-suffix", rule
    if draw(st.booleans()):
        # gopkg.in paths must end in .vN (N without leading zeros, or 0).
        ending = draw(st.sampled_from(["", ".v", ".v01", ".x1", "-v2", ".v0-unstable"]))
        name = element.lower() if ending else draw(st.text(string.ascii_lowercase, min_size=1))
        return InvalidModulePath("gopkg.in/" + name + ending, rule, "invalid version")
    suffix = draw(st.sampled_from(["v0", "v1", "v01", "v1.2", "v2.0", "v0.1", "v007"]))
    return InvalidModulePath(f"{path}/{suffix}", rule, "invalid version")


@overload
def module_paths(*, valid: Literal[True] = True) -> st.SearchStrategy[str]: ...
@overload
def module_paths(
    *, valid: Literal[False], rules: Collection[PathRule] | None = None
) -> st.SearchStrategy[InvalidModulePath]: ...
def module_paths(
    *, valid: bool = True, rules: Collection[PathRule] | None = None
) -> st.SearchStrategy[str] | st.SearchStrategy[InvalidModulePath]:
    """Go module paths: valid ones (``str``), or ones that break exactly one rule.

    Valid paths lean on what proxies get wrong: upper case (``!``-escaping),
    ``~ _ -`` and dots inside elements, ``/vN`` major suffixes and
    ``gopkg.in/x.vN``. With ``valid=False`` each example is an
    :class:`InvalidModulePath` naming the one :data:`PathRule` it breaks and
    the exact reason the go command gives; ``rules`` narrows the choice.
    """
    if not isinstance(valid, bool):
        raise InvalidArgument(f"valid={valid!r} must be True or False")
    if valid:
        if rules is not None:
            raise InvalidArgument(f"rules={rules!r} only makes sense with valid=False")
        return _valid_module_paths()
    chosen = PATH_RULES if rules is None else tuple(rules)
    if isinstance(rules, str) or not chosen or any(r not in PATH_RULES for r in chosen):
        raise InvalidArgument(
            f"rules={rules!r} must be a non-empty collection of {', '.join(PATH_RULES)}"
        )
    return st.one_of([_break_one_rule(rule) for rule in dict.fromkeys(chosen)])


# --- versions ----------------------------------------------------------------

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


# --- module files --------------------------------------------------------------

# File names may hold more than module paths (golang.org/x/mod fileNameOK):
# any Unicode letter, a space and "!#$%&()+,-.=@[]^_{}~".
_FILE_CHARS = string.ascii_letters + string.digits + "!#$%&()+,-.=@[]^_{}~ " + "éßЖ日"
_COMMON_FILES = (
    "main.go", "LICENSE", "README.md", "doc.go", "x_test.go", "-dash.go", ".hidden",
    "a b.txt", "testdata/é.txt", "internal/x/x.go", "cmd/tool/main.go", "UPPER.GO",
)  # fmt: skip
# Directories the go command drops or treats as another module, and names it reserves.
_OMITTED_DIRS = frozenset({".bzr", ".git", ".hg", ".svn", "vendor"})
_MAX_FILES_LIMIT = 10_000
#: golang.org/x/mod/zip MaxGoMod: the largest go.mod (and LICENSE) a module zip may hold.
MAX_GO_MOD_SIZE = 16 << 20


@cache
def _contents(max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size)


def _file_element_ok(element: str) -> bool:
    return (
        element.strip(".") != ""
        and element[-1] != "."
        and element.upper().split(".", 1)[0] not in _WINDOWS_NAMES
        and element.lower() not in _OMITTED_DIRS
        and element.lower() != "go.mod"
    )


def _repaired_file_element(element: str) -> str:
    """``element`` made valid by the smallest change: trailing dots off, ``_`` in front."""
    trimmed = element.rstrip(".")
    return trimmed if _file_element_ok(trimmed) else "_" + trimmed


@cache
def _file_paths() -> st.SearchStrategy[str]:
    element = st.text(_FILE_CHARS, min_size=1, max_size=12).map(_repaired_file_element)
    return st.one_of(
        st.sampled_from(_COMMON_FILES),
        st.lists(element, min_size=1, max_size=4).map("/".join),
    )


def _tree_ok(paths: list[str]) -> bool:
    """No path is also a directory of another, under Unicode case folding."""
    files = {p.casefold() for p in paths}
    dirs = {
        "/".join(p.casefold().split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)
    }
    return files.isdisjoint(dirs) and ".hg_archival.txt" not in files


def _unique_folded(paths: list[str]) -> list[str]:
    """The first of each set of names equal under case folding."""
    return list({p.casefold(): p for p in reversed(paths)}.values())[::-1]


@cache
def _file_trees(max_files: int) -> st.SearchStrategy[list[str]]:
    return st.lists(_file_paths(), max_size=max_files).map(_unique_folded).filter(_tree_ok)


@st.composite
def _trees(
    draw: st.DrawFn, module_path: str, max_files: int, max_size: int, go_mod: bool
) -> dict[str, bytes]:
    names = draw(_file_trees(max_files))
    content = _contents(max_size)
    files = {name: draw(content) for name in names}
    if go_mod:
        files["go.mod"] = f"module {module_path}\n".encode()
    return files


def module_files(
    *,
    module_path: str = "example.test/m",
    max_files: int = 8,
    max_size: int = 512,
    go_mod: bool = True,
) -> st.SearchStrategy[dict[str, bytes]]:
    """The files of a module version: relative path → content, as they go into its zip.

    Every set passes golang.org/x/mod/zip's checks: valid file paths (spaces,
    punctuation, non-ASCII letters, leading dots and dashes included), no two
    names equal under case folding, no file that is also a directory, nothing
    the go command would drop (``vendor/``, VCS directories, nested ``go.mod``).
    With ``go_mod`` a root ``go.mod`` says ``module <module_path>``. Sizes stay
    small by default; x/mod's own limits (500 MiB, 16 MiB go.mod) are far away.
    """
    if not isinstance(module_path, str) or not module_path:
        raise InvalidArgument(f"module_path={module_path!r} must be a non-empty module path")
    for name, value, low, high in (
        ("max_files", max_files, 0, _MAX_FILES_LIMIT),
        ("max_size", max_size, 0, MAX_GO_MOD_SIZE),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidArgument(f"{name}={value!r} must be an integer from {low} to {high}")
    if not isinstance(go_mod, bool):
        raise InvalidArgument(f"go_mod={go_mod!r} must be True or False")
    return _trees(module_path, max_files, max_size, go_mod)


# --- fault plans --------------------------------------------------------------

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


# --- go-import documents -------------------------------------------------------


@dataclass(frozen=True)
class GoImportDocument:
    """A ``?go-get=1`` page for ``import_path``, with the mistake ``variant`` names."""

    import_path: str
    variant: str
    meta: goimport.MetaImport
    body: bytes


def go_import_documents(
    *, variants: Sequence[str] | None = None
) -> st.SearchStrategy[GoImportDocument]:
    """Pages a go-import host serves, good and broken, for generated import paths.

    Read them with :func:`pytest_gomodnet.goimport.parse_go_imports` to learn
    what the go command would do with each.
    """
    chosen = list(goimport.DOCUMENT_VARIANTS if variants is None else variants)
    bad = [v for v in chosen if v not in goimport.DOCUMENT_VARIANTS]
    if bad or not chosen:
        raise InvalidArgument(
            f"variants={variants!r}: each must be one of {goimport.DOCUMENT_VARIANTS}"
        )

    @st.composite
    def documents(draw: st.DrawFn) -> GoImportDocument:
        prefix = draw(module_paths())
        tail = draw(st.lists(st.sampled_from(["pkg", "sub", "v2x", "internal"]), max_size=2))
        import_path = "/".join([prefix, *tail])
        vcs = draw(st.sampled_from(["mod", "git"]))
        repo = "https://proxy.test" if vcs == "mod" else f"https://code.test/{prefix}"
        meta = goimport.MetaImport(prefix, vcs, repo)
        variant = draw(st.sampled_from(chosen))
        body = goimport.go_get_page(meta, import_path, variant=variant)  # type: ignore[arg-type]
        return GoImportDocument(import_path, variant, meta, body)

    return documents()


# --- the checksum database ------------------------------------------------------

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
