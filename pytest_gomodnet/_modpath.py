"""Go module paths, versions and case-encoding, as golang.org/x/mod/module and semver
have them (go 1.27), with Go's own error texts. Public through :mod:`.modules`."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Literal

from ._gotext import go_quote, go_quote_rune, is_go_letter
from .errors import InvalidPathError, InvalidVersionError

_BAD_WINDOWS_NAMES = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}  # fmt: skip

PathKind = Literal["module", "import", "file"]


# --- paths -------------------------------------------------------------------


def _char_ok(char: str, kind: PathKind) -> bool:
    if char.isascii() and (char.isalnum() or char in "-._~"):
        return True
    if kind == "import":
        return char == "+"
    if kind == "file":
        return (char.isascii() and char in "!#$%&()+,-.=@[]^_{}~ ") or (
            not char.isascii() and is_go_letter(ord(char))
        )
    return False


def _check_elem(elem: str, kind: PathKind) -> str | None:
    if elem == "":
        return "empty path element"
    if elem.count(".") == len(elem):
        return f"invalid path element {go_quote(elem)}"
    if elem[0] == "." and kind == "module":
        return "leading dot in path element"
    if elem[-1] == ".":
        return "trailing dot in path element"
    for char in elem:
        if not _char_ok(char, kind):
            return f"invalid char {go_quote_rune(char)}"
    short = elem.split(".", 1)[0]
    if short.upper() in _BAD_WINDOWS_NAMES:
        return f"{go_quote(short)} disallowed as path element component on Windows"
    if kind != "file":
        tilde = short.rfind("~")
        if 0 <= tilde < len(short) - 1 and short[tilde + 1 :].isdigit():
            return "trailing tilde and digits in path element"
    return None


def _check_path(path: str, kind: PathKind) -> str | None:
    if any(0xD800 <= ord(char) < 0xE000 for char in path):  # os.fsdecode of bytes: not UTF-8
        return "invalid UTF-8"
    if path == "":
        return "empty string"
    if path[0] == "-" and kind != "file":
        return "leading dash"
    if "//" in path:
        return "double slash"
    if path[-1] == "/":
        return "trailing slash"
    for elem in path.split("/"):
        problem = _check_elem(elem, kind)
        if problem:
            return problem
    return None


def _module_path_problem(path: str) -> str | None:
    problem = _check_path(path, "module")
    if problem:
        return problem
    first = path.split("/", 1)[0]
    if first == "":
        return "leading slash"
    if "." not in first:
        return "missing dot in first path element"
    if path[0] == "-":
        return "leading dash in first path element"
    for char in first:
        if not (char in "-." or (char.isdigit() and char.isascii()) or "a" <= char <= "z"):
            return f"invalid char {go_quote_rune(char)} in first path element"
    if split_path_version(path) is None:
        return "invalid version"
    return None


def check_path(path: str) -> None:
    """Raise InvalidPathError unless ``path`` is a valid module path (module.CheckPath)."""
    problem = _module_path_problem(path)
    if problem:
        raise InvalidPathError(f"malformed module path {go_quote(path)}: {problem}")


def check_import_path(path: str) -> None:
    """Raise InvalidPathError unless ``path`` is a valid import path (module.CheckImportPath)."""
    problem = _check_path(path, "import")
    if problem:
        raise InvalidPathError(f"malformed import path {go_quote(path)}: {problem}")


def check_file_path(path: str) -> None:
    """Raise InvalidPathError unless ``path`` is valid inside a module zip (CheckFilePath)."""
    problem = _check_path(path, "file")
    if problem:
        raise InvalidPathError(f"malformed file path {go_quote(path)}: {problem}")


def split_path_version(path: str) -> tuple[str, str] | None:
    """(prefix, path major) as module.SplitPathVersion, or None when the suffix is bad."""
    if path.startswith("gopkg.in/"):
        return _split_gopkg_in(path)
    i = len(path)
    dot = False
    while i > 0 and ((path[i - 1].isdigit() and path[i - 1].isascii()) or path[i - 1] == "."):
        dot = dot or path[i - 1] == "."
        i -= 1
    if i <= 1 or i == len(path) or path[i - 1] != "v" or path[i - 2] != "/":
        return path, ""
    prefix, major = path[: i - 2], path[i - 2 :]
    if dot or len(major) <= 2 or major[2] == "0" or major == "/v1":
        return None
    return prefix, major


def _split_gopkg_in(path: str) -> tuple[str, str] | None:
    i = len(path) - len("-unstable") if path.endswith("-unstable") else len(path)
    while i > 0 and path[i - 1].isdigit() and path[i - 1].isascii():
        i -= 1
    if i <= 1 or path[i - 1] != "v" or path[i - 2] != ".":
        return None
    prefix, major = path[: i - 2], path[i - 2 :]
    if len(major) <= 2 or (major[2] == "0" and major != ".v0"):
        return None
    return prefix, major


# --- case-encoding -----------------------------------------------------------


def _escape(text: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), text)


def _unescape(text: str) -> str | None:
    if not text.isascii() or re.search(r"[A-Z]|![^a-z]|!$", text):
        return None
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), text)


def escape_path(path: str) -> str:
    """``github.com/Azure/x`` → ``github.com/!azure/x`` (module.EscapePath)."""
    check_path(path)
    return _escape(path)


# A GOPROXY serves the same few paths and versions over and over: checked once each.
@functools.lru_cache(maxsize=4096)
def unescape_path(escaped: str) -> str:
    """The inverse of :func:`escape_path`; refuses encodings Go refuses."""
    path = _unescape(escaped)
    if path is None:
        raise InvalidPathError(f"invalid escaped module path {go_quote(escaped)}")
    check_path(path)
    return path


def escape_version(version: str) -> str:
    """``v1.0.0-RC`` → ``v1.0.0-!r!c`` (module.EscapeVersion)."""
    problem = _check_elem(version, "import") if version else "empty string"
    if problem or "!" in version:
        raise InvalidVersionError(
            f"{version}: invalid version: disallowed version string {go_quote(version)}"
        )
    return _escape(version)


@functools.lru_cache(maxsize=4096)
def unescape_version(escaped: str) -> str:
    version = _unescape(escaped)
    if version is None or _check_elem(version, "import"):
        raise InvalidVersionError(f"invalid escaped version {go_quote(escaped)}")
    return version


# --- semver ------------------------------------------------------------------

_SEMVER = re.compile(
    r"v(?P<major>0|[1-9][0-9]*)"
    r"(?:\.(?P<minor>0|[1-9][0-9]*)(?:\.(?P<patch>0|[1-9][0-9]*))?)?"
    r"(?:-(?P<pre>(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_PSEUDO = re.compile(r".*(?:-|\.0\.|-0\.)[0-9]{14}-[0-9a-f]{12}(?:\+[0-9A-Za-z-.]+)?")


def is_valid_version(version: str) -> bool:
    """Whether ``version`` is a semantic version as golang.org/x/mod/semver reads it."""
    match = _SEMVER.fullmatch(version)
    if not match:
        return False
    short = match.group("minor") is None or match.group("patch") is None
    return not (short and (match.group("pre") or match.group("build")))


def canonical(version: str) -> str:
    """``v1.2`` → ``v1.2.0``; build metadata dropped except ``+incompatible``; '' if invalid."""
    if not is_valid_version(version):
        return ""
    match = _SEMVER.fullmatch(version)
    assert match
    out = f"v{match['major']}.{match['minor'] or 0}.{match['patch'] or 0}"
    if match["pre"]:
        out += "-" + match["pre"]
    if match["build"] == "incompatible":
        out += "+incompatible"
    return out


def is_pseudo_version(version: str) -> bool:
    """Whether ``version`` has the shape of one of the three pseudo-version forms."""
    return (
        is_valid_version(version) and bool(_PSEUDO.fullmatch(version)) and (version.count("-") >= 1)
    )


def _prerelease_key(pre: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))


def _sort_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    match = _SEMVER.fullmatch(canonical(version))
    assert match
    pre = match["pre"]
    return (
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        0 if pre else 1,
        _prerelease_key(pre) if pre else (),
    )


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or +1 as semver.Compare; an invalid version sorts before every valid one."""
    valid_a, valid_b = is_valid_version(a), is_valid_version(b)
    if not (valid_a and valid_b):
        return (valid_a > valid_b) - (valid_a < valid_b)
    key_a, key_b = _sort_key(a), _sort_key(b)
    return (key_a > key_b) - (key_a < key_b)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Sorted as ``go list -m -versions`` shows them (semver order, ties by string)."""
    return sorted(versions, key=functools.cmp_to_key(_compare_then_text))


def _compare_then_text(a: str, b: str) -> int:
    return compare_versions(a, b) or (a > b) - (a < b)


def check_version(path: str, version: str) -> None:
    """Raise InvalidVersionError unless ``version`` is canonical and fits ``path``'s major."""
    if not is_valid_version(version):
        raise InvalidVersionError(f"{path}@{version}: invalid version: not a semantic version")
    if canonical(version) != version:
        raise InvalidVersionError(
            f"{path}@{version}: invalid version: not a canonical version "
            f"(should be {canonical(version)})"
        )
    split = split_path_version(path)
    path_major = split[1] if split else ""
    base = version.removesuffix("+incompatible")
    if base != version:
        problem = _incompatible_problem(base, path_major)
    else:
        problem = _path_major_problem(version, path_major)
    if problem:
        raise InvalidVersionError(f"{path}@{version}: invalid version: {problem}")


def _major(version: str) -> str:
    return "v" + _SEMVER.fullmatch(version)["major"]  # type: ignore[index]


def _path_major_problem(version: str, path_major: str) -> str | None:
    """module.CheckPathMajor: does ``version`` fit a path ending in ``path_major``?"""
    if path_major.startswith("."):
        path_major = path_major.removesuffix("-unstable")
    if version.startswith("v0.0.0-") and path_major == ".v1":
        return None  # an old pseudo-version bug for gopkg.in, kept for compatibility
    major = _major(version)
    if path_major == "":
        if major in ("v0", "v1") or version.endswith("+incompatible"):
            return None
        return f"should be v0 or v1, not {major}"
    if major == path_major[1:]:
        return None
    return f"should be {path_major[1:]}, not {major}"


def _incompatible_problem(base: str, path_major: str) -> str | None:
    """Why ``base+incompatible`` is no version of the path, in go's modfetch words.

    ``+incompatible`` marks a v2+ version of a module that has no go.mod and so
    no major-version suffix; on a version its path already admits, or on a path
    with a suffix, go refuses it.
    """
    if _path_major_problem(base, path_major) is None:
        return f"+incompatible suffix not allowed: major version {_major(base)} is compatible"
    if path_major:
        return "module path includes a major version suffix, so major version must match"
    return None
