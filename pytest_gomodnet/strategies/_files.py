"""Module file trees that go accepts in a zip."""

from __future__ import annotations

import string
from functools import cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._paths import _WINDOWS_NAMES

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
