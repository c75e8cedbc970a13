"""The Go module model: paths, versions, case-encoding, module zips and ``h1:`` hashes.

Pure functions, no network. Each rule follows golang.org/x/mod as vendored
in go 1.27 (``module/module.go``, ``semver``, ``zip/zip.go``,
``sumdb/dirhash``), and error texts are Go's own, so a test that feeds a bad
path gets the message ``go`` would print. The project's tests prove these
rules with the real go command.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import mmap
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ._gotext import go_quote, go_quote_rune, is_go_letter
from .errors import InvalidPathError, InvalidVersionError, ZipError

__all__ = [
    "MAX_GO_MOD",
    "MAX_ZIP_FILE",
    "ModuleZip",
    "build_zip",
    "canonical",
    "check_file_path",
    "check_import_path",
    "check_path",
    "check_version",
    "check_zip",
    "compare_versions",
    "escape_path",
    "escape_version",
    "files_from_directory",
    "go_mod_h1",
    "go_sum_lines",
    "is_pseudo_version",
    "is_valid_version",
    "is_vendored",
    "sort_versions",
    "unescape_path",
    "unescape_version",
    "zip_h1",
]

#: Limits of golang.org/x/mod/zip.
MAX_ZIP_FILE = 500 << 20
MAX_GO_MOD = 16 << 20
MAX_LICENSE = 16 << 20

#: A zip entry's local file header, up to its name and extra field (APPNOTE 4.3.7).
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
#: Most bytes of an entry hashed in one step, and of compressed input inflated in one.
_BLOCK = 1 << 20
_INFLATE_INPUT = 1 << 16
#: Smallest stored entry whose CRC-32 is worth a second thread.
_CRC_THREAD_FROM = 4 << 20

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


# --- zips and hashes -------------------------------------------------------------


@dataclass(frozen=True)
class ModuleZip:
    """A module zip's identity: its entries, and the hashes go records."""

    path: str
    version: str
    names: tuple[str, ...]
    h1: str


def _check_files(path: str, version: str, names: Iterable[str]) -> list[str]:
    check_path(path)
    check_version(path, version)
    seen: dict[str, str] = {}
    checked = []
    for name in names:
        try:
            check_file_path(name)
        except InvalidPathError as exc:
            raise ZipError(f"{name}: {exc}") from None
        folded = name.casefold()
        if folded in seen:
            first, second = go_quote(seen[folded]), go_quote(name)
            raise ZipError(f"case-insensitive file name collision: {first} and {second}")
        seen[folded] = name
        if name.lower() == "go.mod" and name != "go.mod":
            raise ZipError(f"{name}: go.mod files must have lowercase names")
        if name.endswith("/go.mod") or name.endswith("/GO.MOD"):
            raise ZipError(f"{name}: go.mod file not in module root directory")
        checked.append(name)
    return checked


_VCS_DIRS = {".bzr", ".git", ".hg", ".svn"}


def files_from_directory(directory: str | Path) -> dict[str, bytes]:
    """The files of a module rooted at ``directory``, as zip.CreateFromDir picks them.

    Omitted, as golang.org/x/mod/zip omits them: version-control directories
    (``.bzr .git .hg .svn``, directories only), ``.hg_archival.txt`` at the
    root, subdirectories holding their own go.mod (another module), symbolic
    links and other non-regular files, vendored packages (a file in a package
    below ``vendor/``, by the rule of the root go.mod's go version: see
    :func:`is_vendored`), and ``vendor/modules.txt`` from ``go 1.24`` on.
    """
    root = Path(directory)
    go_1_24 = _go_directive_at_least(root / "go.mod", (1, 24))
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        name = relative.as_posix()
        if any(part in _VCS_DIRS for part in relative.parts[:-1]) or name == ".hg_archival.txt":
            continue
        if _in_submodule(root, relative) or is_vendored(name, go_1_24=go_1_24):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def _go_directive_at_least(go_mod: Path, version: tuple[int, int]) -> bool:
    if not go_mod.is_file():
        return False
    match = re.search(rb"^\s*go\s+(\d+)\.(\d+)", go_mod.read_bytes(), re.MULTILINE)
    return match is not None and (int(match[1]), int(match[2])) >= version


def _in_submodule(root: Path, relative: Path) -> bool:
    parents = list(relative.parents)[:-1]  # every ancestor below the root
    return any((root / parent / "go.mod").is_file() for parent in parents)


def is_vendored(name: str, *, go_1_24: bool) -> bool:
    """Whether x/mod/zip leaves ``name`` out of a module zip as a vendored package file.

    ``go_1_24``: the root go.mod says ``go 1.24`` or later. Before that, x/mod
    keeps a known offset bug to keep old checksums (golang/go#37397): after an
    inner ``/vendor/`` it looks for another ``/`` from ``len("/vendor/")``
    into the name, not from after the ``/vendor/``, so ``pkg/vendor/vendor.go``
    counts as vendored. From 1.24 on the offset is right, and
    ``vendor/modules.txt`` is left out too.
    """
    if go_1_24 and name == "vendor/modules.txt":
        return True
    if name.startswith("vendor/"):
        start = len("vendor/")
    elif "/vendor/" in name:
        inner = len("/vendor/")
        start = name.index("/vendor/") + inner if go_1_24 else inner
    else:
        return False
    return "/" in name[start:]


def build_zip(
    path: str,
    version: str,
    files: Mapping[str, bytes],
    out: str | Path | IO[bytes] | None = None,
) -> bytes | None:
    """Build the module zip of ``files`` (names relative to the module root).

    Every rule of golang.org/x/mod/zip that can be broken by a dict of files is
    checked before a byte is written. Writes to ``out`` (a path or a binary
    file) and returns None, or returns the bytes when ``out`` is None.
    """
    check_bodies({f"files[{name!r}]": body for name, body in files.items()})
    names = _check_files(path, version, files)
    _check_sizes({name: len(files[name]) for name in names}, "module source tree too large")
    target: IO[bytes] = (
        io.BytesIO()
        if out is None
        else (
            open(out, "wb") if isinstance(out, (str, Path)) else out  # noqa: SIM115
        )
    )
    try:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(names):
                info = zipfile.ZipInfo(f"{path}@{version}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name])
        if out is None:
            assert isinstance(target, io.BytesIO)
            return target.getvalue()
        return None
    finally:
        if isinstance(out, (str, Path)):
            target.close()


def check_bodies(bodies: Mapping[str, object]) -> None:
    """Raise TypeError unless every body (keyed by how the caller named it) is bytes.

    A str would have to be encoded by guesswork (zipfile would take UTF-8 silently).
    """
    for what, body in bodies.items():
        if not isinstance(body, bytes):
            hint = " (a b'...' literal, or text.encode())" if isinstance(body, str) else ""
            raise TypeError(f"{what} is a {type(body).__name__}: pass bytes{hint}")


def check_zip(path: str, version: str, source: str | Path | IO[bytes] | bytes) -> None:
    """Raise ZipError unless ``source`` is a module zip the go command would extract.

    Every entry must sit under ``path@version/`` (go: ``zip for m@v has unexpected
    file …``); the names below it and the sizes follow the rules :func:`build_zip`
    enforces (zip.CheckZip), with the same messages.
    """
    check_path(path)
    check_version(path, version)
    prefix = f"{path}@{version}/"
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        infos = archive.infolist()
    sizes: dict[str, int] = {}
    for info in infos:
        if not info.filename.startswith(prefix):
            raise ZipError(f"zip for {path}@{version} has unexpected file {info.filename}")
        name = info.filename[len(prefix) :]
        if name and not name.endswith("/"):  # directory entries carry no content
            sizes[name] = info.file_size
    _check_files(path, version, sizes)
    _check_sizes(sizes, "total uncompressed size of module contents too large")


def _check_sizes(sizes: Mapping[str, int], too_large: str) -> None:
    """x/mod/zip's limits: go.mod and LICENSE at most 16 MiB each, everything 500 MiB."""
    for name, limit in (("go.mod", MAX_GO_MOD), ("LICENSE", MAX_LICENSE)):
        if sizes.get(name, 0) > limit:
            raise ZipError(f"{name}: {name} file too large (max size is {limit} bytes)")
    if sum(sizes.values()) > MAX_ZIP_FILE:
        raise ZipError(f"{too_large} (max size is {MAX_ZIP_FILE} bytes)")


def _hash1(entries: Iterable[tuple[str, bytes]]) -> str:
    summary = hashlib.sha256()
    for name, digest in sorted(entries):
        if "\n" in name:
            raise ZipError(f"dirhash: filenames with newlines are not supported: {name!r}")
        summary.update(f"{digest.hex()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def zip_h1(source: str | Path | IO[bytes] | bytes) -> str:
    """The ``h1:`` of a module zip (dirhash Hash1 over its entries).

    Each entry is hashed where it lies (a path is memory-mapped, bytes are used in
    place), without zipfile's extra copies; its CRC-32 and size are checked as go's
    archive/zip checks them, so a damaged zip raises zipfile.BadZipFile, as before.
    """
    with _zip_bytes(source) as (file, view), zipfile.ZipFile(file) as archive:
        entries = [
            (info.filename, _entry_sha256(archive, info, view)) for info in archive.infolist()
        ]
    return _hash1(entries)


@contextlib.contextmanager
def _zip_bytes(
    source: str | Path | IO[bytes] | bytes,
) -> Iterator[tuple[IO[bytes], memoryview | None]]:
    """A file object for zipfile and, when it costs no copy, a view of all the zip's bytes."""
    if isinstance(source, bytes):
        with memoryview(source) as view:
            yield io.BytesIO(source), view
    elif isinstance(source, (str, Path)):
        with open(source, "rb") as file, _mapped(file) as view:
            yield file, view
    elif isinstance(source, io.BytesIO):
        with source.getbuffer() as view:
            yield source, view
    else:
        with _mapped(source) as view:
            yield source, view


@contextlib.contextmanager
def _mapped(file: IO[bytes]) -> Iterator[memoryview | None]:
    try:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (ValueError, OSError):  # empty, no file descriptor, not a regular file
        yield None
        return
    with mapped, memoryview(mapped) as view:
        yield view


def _entry_sha256(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, view: memoryview | None
) -> bytes:
    digest = hashlib.sha256()
    fast = (
        info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not info.flag_bits & 1
    )
    if view is None or not fast:
        with archive.open(info) as member:
            while block := member.read(_BLOCK):
                digest.update(block)
        return digest.digest()
    start = _data_offset(info, view)
    if start + info.compress_size > len(view):
        raise zipfile.BadZipFile(f"Truncated file data for {info.filename!r}")
    with view[start : start + info.compress_size] as data:
        if info.compress_type == zipfile.ZIP_STORED:
            crc, size = _hash_stored(digest, data), len(data)
        else:
            crc, size = _inflate_into(digest, data)
    if size != info.file_size:
        raise zipfile.BadZipFile(f"Bad size for file {info.filename!r}")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return digest.digest()


def _data_offset(info: zipfile.ZipInfo, view: memoryview) -> int:
    """Where an entry's data starts: after its local header, whose name and extra vary."""
    offset = info.header_offset
    header = bytes(view[offset : offset + _LOCAL_HEADER.size])
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
    *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    return int(offset + _LOCAL_HEADER.size + name_length + extra_length)


def _hash_stored(digest: hashlib._Hash, data: memoryview) -> int:
    """Hash ``data`` into ``digest``; its CRC-32, computed alongside in a second thread.

    Both release the GIL, so checking the CRC (as go does) costs no time on a
    large entry with a second core free; a small one is not worth the thread.
    """
    if len(data) < _CRC_THREAD_FROM:
        digest.update(data)
        return zlib.crc32(data)
    with ThreadPoolExecutor(1, thread_name_prefix="gomodnet-crc32") as pool:
        crc = pool.submit(zlib.crc32, data)
        digest.update(data)
        return crc.result()


def _inflate_into(digest: hashlib._Hash, data: memoryview) -> tuple[int, int]:
    """Inflate raw deflate ``data`` into ``digest``; the output's CRC-32 and size.

    Input goes in small blocks and output comes out at most _BLOCK at a time, so
    even a zip bomb's entry never sits in memory whole. Each input block is released
    on the way out, even by an error, so a memory map under it can close.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    crc = size = 0
    for at in range(0, len(data), _INFLATE_INPUT):
        with data[at : at + _INFLATE_INPUT] as piece:
            pending: bytes | memoryview = piece
            while pending:
                block = _inflate(inflater, pending)
                digest.update(block)
                crc, size = zlib.crc32(block, crc), size + len(block)
                pending = inflater.unconsumed_tail
    block = inflater.flush()
    digest.update(block)
    return zlib.crc32(block, crc), size + len(block)


def _inflate(inflater: zlib._Decompress, data: bytes | memoryview) -> bytes:
    try:
        block: bytes = inflater.decompress(data, _BLOCK)
    except zlib.error as exc:
        raise zipfile.BadZipFile(f"Bad deflate data: {exc}") from None
    return block


def go_mod_h1(go_mod: bytes) -> str:
    """The ``h1:`` of a go.mod file, as go.sum's ``/go.mod`` line records it."""
    return _hash1([("go.mod", hashlib.sha256(go_mod).digest())])


def go_sum_lines(path: str, version: str, zip_hash: str, go_mod_hash: str) -> tuple[str, str]:
    """The two go.sum lines for a module version, without their newlines."""
    return (f"{path} {version} {zip_hash}", f"{path} {version}/go.mod {go_mod_hash}")
