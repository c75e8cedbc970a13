"""Go module paths, valid ones and ones that break exactly one of go's rules."""

from __future__ import annotations

import string
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args, overload

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet._gotext import go_quote, go_quote_rune

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


@dataclass(frozen=True)
class _ValidParts:
    """A valid path drawn as its first element and the rest, with one element chosen."""

    first: str
    rest: list[str]
    where: int

    @property
    def path(self) -> str:
        return "/".join([self.first, *self.rest])

    @property
    def element(self) -> str:
        return self.rest[self.where]

    def with_element(self, element: str) -> str:
        """The path with the chosen element replaced by ``element``."""
        rest = self.rest
        return "/".join([self.first, *rest[: self.where], element, *rest[self.where + 1 :]])


_Breaker = Callable[[st.DrawFn, _ValidParts], tuple[str, str]]


def _dots_only(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    # Not "...": the go command reads any argument holding it as a package pattern.
    dots = draw(st.sampled_from([".", ".."]))
    return parts.with_element(dots), f"invalid path element {go_quote(dots)}"


def _invalid_char(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    bad = draw(st.sampled_from(_BAD_CHARS))
    cut = draw(st.integers(0, len(parts.element)))
    broken = parts.element[:cut] + bad + parts.element[cut:]
    return parts.with_element(broken), f"invalid char {go_quote_rune(bad)}"


def _windows_reserved(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    casing = draw(st.sampled_from([str.upper, str.lower, str.capitalize]))
    short = casing(draw(st.sampled_from(sorted(_WINDOWS_NAMES))))
    extension = draw(st.sampled_from(["", ".txt", ".go", ".x.y"]))
    reason = f"{go_quote(short)} disallowed as path element component on Windows"
    return parts.with_element(short + extension), reason


def _windows_short_name(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    digits, element = str(draw(st.integers(0, 99))), parts.element
    dot = element.find(".")
    broken = element + "~" + digits if dot < 0 else element[:dot] + "~" + digits + element[dot:]
    return parts.with_element(broken), "trailing tilde and digits in path element"


def _missing_dot_in_first(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    label = draw(_labels().map(_repaired_element))
    return "/".join([label, *parts.rest]), "missing dot in first path element"


def _invalid_char_in_first(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    bad, first = draw(st.sampled_from(string.ascii_uppercase + "_~")), parts.first
    # '~' goes last in the short name, where no digits can follow it.
    dot = first.index(".")
    cut = dot if bad == "~" else draw(st.integers(0, dot))
    broken = first[:cut] + bad + first[cut:]
    if not _windows_safe(broken):  # "cn" + "O" spells CON, another rule
        bad, broken = "_", "_" + first
    return "/".join(
        [broken, *parts.rest]
    ), f"invalid char {go_quote_rune(bad)} in first path element"


def _invalid_major_suffix(draw: st.DrawFn, parts: _ValidParts) -> tuple[str, str]:
    if draw(st.booleans()):
        # gopkg.in paths must end in .vN (N without leading zeros, or 0).
        ending = draw(st.sampled_from(["", ".v", ".v01", ".x1", "-v2", ".v0-unstable"]))
        name = (
            parts.element.lower() if ending else draw(st.text(string.ascii_lowercase, min_size=1))
        )
        return "gopkg.in/" + name + ending, "invalid version"
    suffix = draw(st.sampled_from(["v0", "v1", "v01", "v1.2", "v2.0", "v0.1", "v007"]))
    return f"{parts.path}/{suffix}", "invalid version"


#: How to break a valid path for each rule (drawing what it needs), and Go's reason.
_BREAKERS: dict[PathRule, _Breaker] = {
    "empty-string": lambda draw, parts: ("", "empty string"),
    "leading-dash": lambda draw, parts: ("-" + parts.path, "leading dash"),
    "double-slash": lambda draw, parts: (
        parts.with_element("/" + parts.element),
        "double slash",
    ),
    "trailing-slash": lambda draw, parts: (parts.path + "/", "trailing slash"),
    "empty-path-element": lambda draw, parts: ("/" + parts.path, "empty path element"),
    "dots-only-element": _dots_only,
    "leading-dot": lambda draw, parts: (
        parts.with_element("." + parts.element),
        "leading dot in path element",
    ),
    "trailing-dot": lambda draw, parts: (
        parts.with_element(parts.element + "."),
        "trailing dot in path element",
    ),
    "invalid-char": _invalid_char,
    "windows-reserved-name": _windows_reserved,
    "windows-short-name": _windows_short_name,
    "missing-dot-in-first-element": _missing_dot_in_first,
    "invalid-char-in-first-element": _invalid_char_in_first,
    "invalid-major-version-suffix": _invalid_major_suffix,
}


@st.composite
def _break_one_rule(draw: st.DrawFn, rule: PathRule) -> InvalidModulePath:
    first = draw(_first_elements())
    rest = draw(st.lists(_elements(), min_size=1, max_size=3))
    parts = _ValidParts(first, rest, draw(st.integers(0, len(rest) - 1)))
    path, reason = _BREAKERS[rule](draw, parts)
    return InvalidModulePath(path, rule, reason)


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
