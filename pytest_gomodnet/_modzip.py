"""Module zips and ``h1:`` hashes, as golang.org/x/mod/zip and sumdb/dirhash have them
(go 1.27). Public through :mod:`.modules`."""

from __future__ import annotations

import base64
import contextlib
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
from typing import IO

from ._gotext import go_quote
from ._modpath import check_file_path, check_path, check_version
from .errors import InvalidPathError, ZipError

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
#: Entries at least this large are hashed two at a time when a zip has two or more.
_PARALLEL_FROM = 1 << 20


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
        infos = archive.infolist()
        large = [info for info in infos if view is not None and _in_place(info, _PARALLEL_FROM)]
        if len(large) < 2:
            digests = {id(info): _entry_sha256(archive, info, view) for info in infos}
        else:
            digests = _in_parallel(archive, infos, large, view)
    return _hash1([(info.filename, digests[id(info)]) for info in infos])


def _in_place(info: zipfile.ZipInfo, at_least: int = 0) -> bool:
    """Whether an entry is hashed where it lies (stored or deflated, not encrypted)."""
    return (
        info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        and not info.flag_bits & 1
        and info.compress_size >= at_least
    )


def _in_parallel(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    large: list[zipfile.ZipInfo],
    view: memoryview | None,
) -> dict[int, bytes]:
    """The large entries hashed on two threads at once (hashing and CRC-32 release the
    GIL), the rest here meanwhile: a zip of big files hashes at the speed of two cores."""
    with ThreadPoolExecutor(2, thread_name_prefix="gomodnet-h1") as pool:
        pending = {
            id(info): pool.submit(_entry_sha256, archive, info, view, crc_thread=False)
            for info in large
        }
        digests = {
            id(info): _entry_sha256(archive, info, view)
            for info in infos
            if id(info) not in pending
        }
        digests.update({key: future.result() for key, future in pending.items()})
    return digests


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
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    view: memoryview | None,
    *,
    crc_thread: bool = True,
) -> bytes:
    digest = hashlib.sha256()
    if view is None or not _in_place(info):
        with archive.open(info) as member:
            while block := member.read(_BLOCK):
                digest.update(block)
        return digest.digest()
    start = _data_offset(info, view)
    if start + info.compress_size > len(view):
        raise zipfile.BadZipFile(f"Truncated file data for {info.filename!r}")
    with view[start : start + info.compress_size] as data:
        if info.compress_type == zipfile.ZIP_STORED:
            crc, size = _hash_stored(digest, data, crc_thread=crc_thread), len(data)
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


def _hash_stored(digest: hashlib._Hash, data: memoryview, *, crc_thread: bool = True) -> int:
    """Hash ``data`` into ``digest``; its CRC-32, computed alongside in a second thread.

    Both release the GIL, so checking the CRC (as go does) costs no time on a
    large entry with a second core free; a small one is not worth the thread.
    """
    if len(data) < _CRC_THREAD_FROM or not crc_thread:
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
