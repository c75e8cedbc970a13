"""The Go module model: rules as golang.org/x/mod states them, with Go's own wording."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings

from _helpers import dirhash_h1, raw_zip
from pytest_gomodnet import _modzip
from pytest_gomodnet.errors import InvalidPathError, InvalidVersionError, ZipError
from pytest_gomodnet.modules import (
    build_zip,
    canonical,
    check_file_path,
    check_import_path,
    check_path,
    check_version,
    check_zip,
    escape_path,
    escape_version,
    files_from_directory,
    go_mod_h1,
    go_sum_lines,
    is_pseudo_version,
    is_valid_version,
    is_vendored,
    sort_versions,
    unescape_path,
    unescape_version,
    zip_h1,
)
from pytest_gomodnet.strategies import module_paths

VALID_PATHS = [
    "example.test/m",
    "github.com/Azure/azure-sdk-for-go",
    "gopkg.in/yaml.v2",
    "gopkg.in/yaml.v0",
    "gopkg.in/check.v1-unstable",
    "example.test/m/v2",
    "example.test/~user/m",
    "example.test/a_b/c-d/e.f",
    "x.y",
]

INVALID_PATHS = {
    "": "empty string",
    "-example.test/m": "leading dash",
    "example.test//m": "double slash",
    "example.test/m/": "trailing slash",
    "example.test/./m": 'invalid path element "."',
    "example.test/../m": 'invalid path element ".."',
    "example.test/.m": "leading dot in path element",
    "example.test/m.": "trailing dot in path element",
    "example.test/m n": "invalid char ' '",
    "example.test/m+n": "invalid char '+'",
    "example.test/é": "invalid char 'é'",
    "example.test/con": '"con" disallowed as path element component on Windows',
    "example.test/LPT1.txt": '"LPT1" disallowed as path element component on Windows',
    "example.test/abc~1": "trailing tilde and digits in path element",
    "example/m": "missing dot in first path element",
    "Example.test/m": "invalid char 'E' in first path element",
    "example_x.test/m": "invalid char '_' in first path element",
    "example.test/m/v1": "invalid version",
    "example.test/m/v02": "invalid version",
    "example.test/m/v2.1": "invalid version",
    "gopkg.in/yaml.v01": "invalid version",
}


@pytest.mark.parametrize("path", VALID_PATHS)
def test_valid_module_paths(path) -> None:
    check_path(path)


@pytest.mark.parametrize(("path", "reason"), INVALID_PATHS.items(), ids=list(INVALID_PATHS))
def test_invalid_module_paths_name_the_rule(path, reason) -> None:
    with pytest.raises(InvalidPathError) as info:
        check_path(path)
    quoted = '"' + path + '"'
    assert str(info.value) == f"malformed module path {quoted}: {reason}"


def test_import_and_file_paths_have_their_own_rules() -> None:
    check_import_path("example.test/m+n")
    check_file_path("dir/-file name (1).go")
    with pytest.raises(
        InvalidPathError, match=r'malformed file path "a/\.\./b": invalid path element'
    ):
        check_file_path("a/../b")


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("github.com/Azure/x", "github.com/!azure/x"),
        ("example.test/UpperCase", "example.test/!upper!case"),
        ("example.test/m", "example.test/m"),
    ],
)
def test_case_encoding_round_trips(path, escaped) -> None:
    assert escape_path(path) == escaped
    assert unescape_path(escaped) == path


@pytest.mark.parametrize(
    "bad", ["example.test/Upper", "example.test/!", "example.test/!1", "é.test"]
)
def test_wrong_encodings_are_refused(bad) -> None:
    with pytest.raises(InvalidPathError, match="invalid escaped module path"):
        unescape_path(bad)


@pytest.mark.parametrize("bad", ["v1.0.0-RC", "v1.0.0-!", "v1.0.0-!1", "v1/0", ""])
def test_wrong_version_encodings_are_refused(bad) -> None:
    with pytest.raises(InvalidVersionError) as info:
        unescape_version(bad)
    assert str(info.value) == f'invalid escaped version "{bad}"'


def test_versions_escape_too() -> None:
    assert escape_version("v1.0.0-RC") == "v1.0.0-!r!c"
    assert unescape_version("v1.0.0-!r!c") == "v1.0.0-RC"
    with pytest.raises(InvalidVersionError, match='disallowed version string "v1!"'):
        escape_version("v1!")


@pytest.mark.parametrize(
    ("version", "valid", "canon"),
    [
        ("v1.2.3", True, "v1.2.3"),
        ("v1.2", True, "v1.2.0"),
        ("v1", True, "v1.0.0"),
        ("v1.2.3-pre.1+build", True, "v1.2.3-pre.1"),
        ("v2.0.0+incompatible", True, "v2.0.0+incompatible"),
        ("v0.0.0-20191109021931-daa7c04131f5", True, "v0.0.0-20191109021931-daa7c04131f5"),
        ("1.2.3", False, ""),
        ("v1.2.3-", False, ""),
        ("v01.2.3", False, ""),
        ("v1.2-pre", False, ""),
    ],
)
def test_semver(version, valid, canon) -> None:
    assert (is_valid_version(version), canonical(version)) == (valid, canon)


def test_pseudo_versions_in_their_three_forms() -> None:
    assert is_pseudo_version("v0.0.0-20191109021931-daa7c04131f5")
    assert is_pseudo_version("v1.2.3-pre.0.20191109021931-daa7c04131f5")
    assert is_pseudo_version("v1.2.4-0.20191109021931-daa7c04131f5")
    assert not is_pseudo_version("v1.2.4-rc.1")


def test_sorting_matches_go_list() -> None:
    assert sort_versions(["v1.10.0", "v1.2.0", "v1.2.0-rc.1", "v1.2.0-beta", "v0.9.0"]) == [
        "v0.9.0",
        "v1.2.0-beta",
        "v1.2.0-rc.1",
        "v1.2.0",
        "v1.10.0",
    ]


@pytest.mark.parametrize(
    ("path", "version", "message"),
    [
        ("example.test/m", "v2.0.0", "invalid version: should be v0 or v1, not v2"),
        ("example.test/m/v2", "v1.0.0", "invalid version: should be v2, not v1"),
        ("gopkg.in/yaml.v2", "v3.0.0", "invalid version: should be v2, not v3"),
        ("example.test/m", "v1.2", "invalid version: not a canonical version (should be v1.2.0)"),
        ("example.test/m", "1.0.0", "invalid version: not a semantic version"),
        # go's modfetch words (test_modules_go proves them with go):
        (
            "example.test/m",
            "v1.0.0+incompatible",
            "invalid version: +incompatible suffix not allowed: major version v1 is compatible",
        ),
        (
            "example.test/m",
            "v0.1.0+incompatible",
            "invalid version: +incompatible suffix not allowed: major version v0 is compatible",
        ),
        (
            "example.test/m/v2",
            "v2.0.0+incompatible",
            "invalid version: +incompatible suffix not allowed: major version v2 is compatible",
        ),
        (
            "example.test/m/v2",
            "v3.0.0+incompatible",
            "invalid version: module path includes a major version suffix, "
            "so major version must match",
        ),
        (
            "gopkg.in/yaml.v2",
            "v2.0.0+incompatible",
            "invalid version: +incompatible suffix not allowed: major version v2 is compatible",
        ),
    ],
)
def test_version_must_fit_the_path(path, version, message) -> None:
    with pytest.raises(InvalidVersionError) as caught:
        check_version(path, version)
    assert str(caught.value) == f"{path}@{version}: {message}"


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("example.test/m", "v3.0.0+incompatible"),
        ("gopkg.in/yaml.v2-unstable", "v2.1.0"),
        ("gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405"),
    ],
)
def test_versions_that_fit(path, version) -> None:
    check_version(path, version)


# Small entries, one past the size whose CRC-32 is checked in a second thread, and two
# that do not compress past the size from which entries are hashed two at a time (so
# both the stored and the deflated zip take that path).
H1_ENTRIES = {
    "example.test/m@v1.0.0/go.mod": b"module example.test/m\n",
    "example.test/m@v1.0.0/empty.go": b"",
    "example.test/m@v1.0.0/big.bin": bytes(range(256)) * (5 << 12),
    "example.test/m@v1.0.0/noise.bin": random.Random(7).randbytes(3 << 19),
    "example.test/m@v1.0.0/noise2.bin": random.Random(8).randbytes(5 << 18),
}


class _Unmappable(io.RawIOBase):
    """A seekable file object with no buffer to borrow: zip_h1 reads it through zipfile."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.read, self.seek, self.tell = self._inner.read, self._inner.seek, self._inner.tell

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_h1_of_every_kind_of_source_is_dirhash_of_the_entries(tmp_path, method) -> None:
    data = raw_zip(H1_ENTRIES, method)
    (tmp_path / "m.zip").write_bytes(data)
    expected = dirhash_h1(H1_ENTRIES)
    assert zip_h1(data) == expected
    assert zip_h1(tmp_path / "m.zip") == expected
    assert zip_h1(str(tmp_path / "m.zip")) == expected
    assert zip_h1(io.BytesIO(data)) == expected
    assert zip_h1(_Unmappable(data)) == expected


def _central_record(data: bytes, name: str) -> int:
    (record,) = [
        at for at in _central_offsets(data) if data[at + 46 : at + 46 + len(name)] == name.encode()
    ]
    return record


def _central_offsets(data: bytes) -> list[int]:
    offsets, at = [], data.find(b"PK\x01\x02")
    while at != -1:
        offsets.append(at)
        at = data.find(b"PK\x01\x02", at + 1)
    return offsets


# Fields of a central directory record that zipfile and go check an entry against.
CRC_FIELD, SIZE_FIELD = 16, 24


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize(
    "name",
    [
        "example.test/m@v1.0.0/go.mod",
        "example.test/m@v1.0.0/big.bin",
        "example.test/m@v1.0.0/noise.bin",
    ],
)
@pytest.mark.parametrize(
    ("field", "message"), [(CRC_FIELD, "Bad CRC-32"), (SIZE_FIELD, "Bad size")], ids=["crc", "size"]
)
def test_zip_h1_refuses_an_entry_that_disagrees_with_its_record(
    method, name, field, message
) -> None:
    data = bytearray(raw_zip(H1_ENTRIES, method))
    data[_central_record(bytes(data), name) + field] ^= 0x01
    with pytest.raises(zipfile.BadZipFile, match=re.escape(f"{message} for file {name!r}")):
        zip_h1(bytes(data))


@pytest.mark.parametrize("at", range(0, 40, 3))
def test_zip_h1_refuses_damaged_deflate_data_in_a_file(tmp_path, at) -> None:
    data = bytearray(raw_zip(H1_ENTRIES, zipfile.ZIP_DEFLATED))
    name = "example.test/m@v1.0.0/big.bin"
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name)
    data[info.header_offset + 30 + len(name) + at] ^= 0x55
    (tmp_path / "m.zip").write_bytes(data)
    # Either inflating fails or what comes out disagrees with the entry's record.
    with pytest.raises(zipfile.BadZipFile, match=r"^Bad (deflate data|CRC-32|size)"):
        zip_h1(tmp_path / "m.zip")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_h1_hashes_large_entries_two_at_a_time_to_the_same_h1(monkeypatch, method) -> None:
    data = raw_zip(H1_ENTRIES, method)
    started: list[str] = []
    real = ThreadPoolExecutor.__init__

    def spy(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> None:
        started.append(kwargs.get("thread_name_prefix", ""))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "__init__", spy)
    assert zip_h1(data) == dirhash_h1(H1_ENTRIES)
    assert "gomodnet-h1" in started
    monkeypatch.setattr(_modzip, "_PARALLEL_FROM", 1 << 40)  # one entry at a time
    started.clear()
    assert zip_h1(data) == dirhash_h1(H1_ENTRIES)
    assert "gomodnet-h1" not in started


def test_zip_h1_refuses_a_zip_cut_short() -> None:
    data = raw_zip(H1_ENTRIES, zipfile.ZIP_STORED)
    with pytest.raises(zipfile.BadZipFile, match="File is not a zip file"):
        zip_h1(data[: len(data) // 2])


def test_zip_layout_and_hashes() -> None:
    data = build_zip(
        "example.test/m", "v1.0.0", {"go.mod": b"module example.test/m\n", "a/b.go": b"x"}
    )
    assert data is not None
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["example.test/m@v1.0.0/a/b.go", "example.test/m@v1.0.0/go.mod"]
    assert zip_h1(data) == zip_h1(io.BytesIO(data))
    # dirhash Hash1 by hand: "<sha256 hex>  go.mod\n", hashed again, base64.
    line = hashlib.sha256(b"x").hexdigest().encode() + b"  go.mod\n"
    by_hand = "h1:" + base64.b64encode(hashlib.sha256(line).digest()).decode()
    assert go_sum_lines("example.test/m", "v1.0.0", "h1:Z", go_mod_h1(b"x")) == (
        "example.test/m v1.0.0 h1:Z",
        f"example.test/m v1.0.0/go.mod {by_hand}",
    )


def test_a_zip_streams_to_a_path_or_a_binary_file_with_the_same_bytes(tmp_path) -> None:
    files = {"go.mod": b"module example.test/m\n", "a.go": b"package m\n" * 1000}
    data = build_zip("example.test/m", "v1.0.0", files)
    assert build_zip("example.test/m", "v1.0.0", files, tmp_path / "m.zip") is None
    assert (tmp_path / "m.zip").read_bytes() == data
    with (tmp_path / "m2.zip").open("wb") as out:
        assert build_zip("example.test/m", "v1.0.0", files, out) is None
    assert (tmp_path / "m2.zip").read_bytes() == data
    assert zip_h1(tmp_path / "m.zip") == zip_h1(data)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a/../b.go": b""}, 'malformed file path "a/../b.go": invalid path element ".."'),
        ({"A.go": b"", "a.go": b""}, 'case-insensitive file name collision: "A.go" and "a.go"'),
        ({"sub/go.mod": b""}, "sub/go.mod: go.mod file not in module root directory"),
        ({"GO.MOD": b""}, "GO.MOD: go.mod files must have lowercase names"),
    ],
)
def test_builder_refuses_what_go_refuses(files, message) -> None:
    with pytest.raises(ZipError) as info:
        build_zip("example.test/m", "v1.0.0", files)
    assert message in str(info.value)


@pytest.mark.parametrize("name", ["go.mod", "LICENSE"])
def test_go_mod_and_license_may_be_16_mib_and_not_a_byte_more(name) -> None:
    at_limit = b"x" * (16 << 20)
    assert build_zip("example.test/m", "v1.0.0", {name: at_limit}) is not None
    with pytest.raises(ZipError) as info:
        build_zip("example.test/m", "v1.0.0", {name: at_limit + b"x"})
    assert str(info.value) == f"{name}: {name} file too large (max size is 16777216 bytes)"


def test_the_whole_module_has_a_size_limit_too(monkeypatch) -> None:
    files = {"a.go": b"x" * 60, "b.go": b"x" * 40}
    data = build_zip("example.test/m", "v1.0.0", files)
    monkeypatch.setattr(_modzip, "MAX_ZIP_FILE", 99)  # 500 MiB is too much for a unit test
    with pytest.raises(ZipError) as built:
        build_zip("example.test/m", "v1.0.0", files)
    assert str(built.value) == "module source tree too large (max size is 99 bytes)"
    with pytest.raises(ZipError) as checked:
        check_zip("example.test/m", "v1.0.0", data)
    assert str(checked.value) == (
        "total uncompressed size of module contents too large (max size is 99 bytes)"
    )


def test_check_zip_accepts_directory_entries_and_refuses_what_the_builder_refuses() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("example.test/m@v1.0.0/", b"")
        archive.writestr("example.test/m@v1.0.0/sub/", b"")
        archive.writestr("example.test/m@v1.0.0/sub/a.go", b"package sub\n")
    check_zip("example.test/m", "v1.0.0", buffer.getvalue())
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("example.test/m@v1.0.0/SUB/A.go", b"package sub\n")
    with pytest.raises(ZipError) as info:
        check_zip("example.test/m", "v1.0.0", buffer.getvalue())
    assert str(info.value) == 'case-insensitive file name collision: "sub/a.go" and "SUB/A.go"'
    with pytest.raises(InvalidVersionError, match="should be v0 or v1, not v2"):
        check_zip("example.test/m", "v2.0.0", buffer.getvalue())


@settings(max_examples=500, deadline=None, database=None)
@given(module_paths(valid=False))
def test_every_invalid_strategy_path_is_refused_with_gos_words(example) -> None:
    # The strategy's messages were checked against the real go command
    # (tests/test_strategies_go.py); the model must say the same, rule by rule.
    with pytest.raises(InvalidPathError) as info:
        check_path(example.path)
    assert str(info.value) == example.message


@settings(max_examples=500, deadline=None, database=None)
@given(module_paths())
def test_every_valid_strategy_path_is_accepted(path) -> None:
    check_path(path)


@pytest.mark.parametrize(
    ("go_line", "kept"), [("", True), ("go 1.23\n", True), ("go 1.24\n", False)]
)
def test_vendor_modules_txt_follows_the_go_directive(tmp_path, go_line, kept) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor/modules.txt").write_text("# x\n")
    (tmp_path / "go.mod").write_text(f"module example.test/m\n{go_line}")
    assert ("vendor/modules.txt" in files_from_directory(tmp_path)) is kept


# name → (left out under go < 1.24, left out from go 1.24 on), x/mod/zip's isVendoredPackage
VENDORED = {
    "vendor/x.go": (False, False),  # directly in vendor/: kept
    "vendor/example.test/x/x.go": (True, True),
    "vendor/modules.txt": (False, True),
    "pkg/vendor/foo/foo.go": (True, True),
    "pkg/vendor/vendor.go": (True, False),  # golang/go#37397, kept as it was before 1.24
    "abcdefghijk/vendor/c.go": (True, False),
    "a/vendor/c.go": (True, False),
    "a/b/c.go": (False, False),
    "notvendor/x/y.go": (False, False),
}


@pytest.mark.parametrize("name", VENDORED)
def test_vendored_files_follow_x_mod_for_each_go_version(name) -> None:
    before, since = VENDORED[name]
    assert (is_vendored(name, go_1_24=False), is_vendored(name, go_1_24=True)) == (before, since)


@pytest.mark.parametrize(("go_line", "kept"), [("", False), ("go 1.24\n", True)])
def test_a_directory_module_drops_vendored_files_by_its_go_line(tmp_path, go_line, kept) -> None:
    (tmp_path / "go.mod").write_text(f"module example.test/m\n{go_line}")
    for name in ("a/vendor/c.go", "sub/.hg_archival.txt", ".hg_archival.txt", "x/.git"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("package c\n")
    files = files_from_directory(tmp_path)
    assert ("a/vendor/c.go" in files) is kept
    # Only the root's .hg_archival.txt is dropped; a file (not a directory) named .git stays.
    assert {"sub/.hg_archival.txt", "x/.git"} <= set(files)
    assert ".hg_archival.txt" not in files
