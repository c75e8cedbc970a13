"""The module model proven by the real go command over GOPROXY=file://: hashes and refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from _helpers import raw_zip
from pytest_gomodnet.errors import InvalidPathError, InvalidVersionError, ZipError
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.modules import (
    build_zip,
    check_import_path,
    check_version,
    check_zip,
    escape_path,
    escape_version,
    sort_versions,
    zip_h1,
)

MODULES = {
    "plain": ("example.test/m", "v1.0.0", {"m.go": b"package m\n"}),
    "subdir and upper case": (
        "example.test/Upper/m",
        "v1.2.3-RC",
        {"m.go": b"package m\n", "sub/dir/x.go": b"package dir\n", "LICENSE": b"MIT\n"},
    ),
    "major version v2": ("example.test/m/v2", "v2.1.0", {"m.go": b"package m\n"}),
    "+incompatible": ("example.test/old", "v3.0.0+incompatible", {"old.go": b"package old\n"}),
    "pseudo-version": (
        "gopkg.in/yaml.v2",
        "v2.0.0-20191109021931-daa7c04131f5",
        {"yaml.go": b"package yaml\n"},
    ),
    # U+1E4D0, a letter since Unicode 15: go's IsLetter (Unicode 17) says so, whatever
    # Python's unicodedata knows.
    "a letter newer than Python's Unicode": (
        "example.test/nag",
        "v1.0.0",
        {"\U0001e4d0.txt": b"o\n", "n.go": b"package nag\n"},
    ),
    "pseudo-version after a pre-release": (
        "example.test/pre",
        "v1.2.3-pre.0.20191109021931-daa7c04131f5",
        {"pre.go": b"package pre\n"},
    ),
}


def file_proxy(tmp_path: Path, store: ModuleStore) -> str:
    return "file://" + str(store.write_proxy_tree(tmp_path / "proxy"))


@pytest.mark.parametrize("case", MODULES, ids=list(MODULES))
def test_go_computes_the_same_hashes(go: GoToolchain, tmp_path, module_store, case) -> None:
    path, version, files = MODULES[case]
    go_mod = None if version.endswith("+incompatible") else f"module {path}\n".encode()
    stored = module_store.add(path, version, files=files, go_mod=go_mod)
    check_zip(path, version, stored.zip_path)  # what the model builds, it also accepts
    env = {"GOPROXY": file_proxy(tmp_path, module_store)}
    result = go.run("mod", "download", "-json", f"{path}@{version}", home=tmp_path, env=env)
    (info,) = result.check().json_objects()
    assert (info["Path"], info["Version"]) == (path, version)
    assert (info["Sum"], info["GoModSum"]) == (stored.h1, stored.go_mod_h1)
    cache = tmp_path / "gopath/pkg/mod/cache/download" / escape_path(path) / "@v"
    assert (cache / f"{escape_version(version)}.ziphash").read_text() == stored.h1


def test_go_get_writes_exactly_our_go_sum_lines(go: GoToolchain, tmp_path, module_store) -> None:
    stored = module_store.add("example.test/Upper/m", "v1.0.0", files={"m.go": b"package m\n"})
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    env = {"GOPROXY": file_proxy(tmp_path, module_store)}
    go.run("get", "example.test/Upper/m@v1.0.0", home=tmp_path, cwd=work, env=env).check()
    assert (work / "go.sum").read_text() == "".join(f"{line}\n" for line in stored.go_sum_lines)


def _serve_raw(tmp_path: Path, path: str, version: str, zip_bytes: bytes, go_mod: bytes) -> str:
    folder = tmp_path / "proxy" / escape_path(path) / "@v"
    folder.mkdir(parents=True)
    (folder / f"{version}.info").write_text(f'{{"Version":"{version}"}}')
    (folder / f"{version}.mod").write_bytes(go_mod)
    (folder / f"{version}.zip").write_bytes(zip_bytes)
    return "file://" + str(tmp_path / "proxy")


def test_go_hashes_a_zip_of_stored_entries_as_zip_h1_does(go, tmp_path) -> None:
    # Module zips are usually deflated; zip_h1 reads stored entries in place.
    entries = {
        "example.test/m@v1.0.0/go.mod": b"module example.test/m\n",
        "example.test/m@v1.0.0/big.bin": bytes(range(256)) * (5 << 12),
    }
    data = raw_zip(entries, zipfile.ZIP_STORED)
    proxy = _serve_raw(tmp_path, "example.test/m", "v1.0.0", data, b"module example.test/m\n")
    result = go.run(
        "mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path, env={"GOPROXY": proxy}
    )
    (info,) = result.check().json_objects()
    assert info["Sum"] == zip_h1(data)
    assert zip_h1(data) == zip_h1(raw_zip(entries, zipfile.ZIP_DEFLATED))


def _big_go_mod() -> bytes:
    """A go.mod 3 bytes over x/mod/zip's 16 MiB limit."""
    head = b"module example.test/m\n//"
    return head + b"x" * ((16 << 20) - len(head) + 2) + b"\n"


# case → (zip entries, the same files for the builder or None, go's words, the model's).
REFUSED = {
    "bad file name": (
        lambda: {
            "example.test/m@v1.0.0/go.mod": b"module example.test/m\n",
            "example.test/m@v1.0.0/a\x01.go": b"",
        },
        lambda: {"a\x01.go": b""},
        "example.test/m@v1.0.0/a\x01.go: malformed file path \"a\\x01.go\": invalid char '\\x01'",
        "a\x01.go: malformed file path \"a\\x01.go\": invalid char '\\x01'",
    ),
    "a symbol in a file name": (
        lambda: {
            "example.test/m@v1.0.0/go.mod": b"module example.test/m\n",
            "example.test/m@v1.0.0/\u2603.txt": b"",
        },
        lambda: {"\u2603.txt": b""},
        "example.test/m@v1.0.0/\u2603.txt: "
        "malformed file path \"\u2603.txt\": invalid char '\u2603'",
        "\u2603.txt: malformed file path \"\u2603.txt\": invalid char '\u2603'",
    ),
    "wrong prefix": (
        lambda: {"example.test/other@v1.0.0/go.mod": b"module example.test/m\n"},
        None,  # the builder writes the prefix itself: only a zip made elsewhere has it wrong
        "zip for example.test/m@v1.0.0 has unexpected file example.test/other@v1.0.0/go.mod",
        "zip for example.test/m@v1.0.0 has unexpected file example.test/other@v1.0.0/go.mod",
    ),
    "go.mod over 16 MiB": (
        lambda: {"example.test/m@v1.0.0/go.mod": _big_go_mod()},
        lambda: {"go.mod": _big_go_mod()},
        "example.test/m@v1.0.0/go.mod: go.mod file too large (max size is 16777216 bytes)",
        "go.mod: go.mod file too large (max size is 16777216 bytes)",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_go_refuses_bad_zips_and_so_does_the_model(go, tmp_path, case) -> None:
    entries, builder_files, go_words, model_words = REFUSED[case]
    zip_bytes = raw_zip(entries())
    proxy = _serve_raw(tmp_path, "example.test/m", "v1.0.0", zip_bytes, b"module example.test/m\n")
    result = go.run(
        "mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path, env={"GOPROXY": proxy}
    )
    (info,) = result.json_objects()
    assert result.returncode == 1
    assert info["Error"].endswith(go_words), info["Error"]
    # The model refuses the same zip, and the builder the same files, before go sees them.
    with pytest.raises(ZipError) as checked:
        check_zip("example.test/m", "v1.0.0", zip_bytes)
    assert str(checked.value) == model_words
    if builder_files is not None:
        with pytest.raises(ZipError) as built:
            build_zip("example.test/m", "v1.0.0", builder_files())
        assert str(built.value) == model_words


def test_go_refuses_a_go_mod_whose_module_line_disagrees(go, tmp_path, module_store) -> None:
    go_mod = b"module example.test/other\n"
    with pytest.raises(ZipError, match=r"go\.mod declares its path as 'example\.test/other'"):
        module_store.add("example.test/m", "v1.0.0", go_mod=go_mod)
    zip_bytes = raw_zip({"example.test/m@v1.0.0/go.mod": go_mod})
    proxy = _serve_raw(tmp_path, "example.test/m", "v1.0.0", zip_bytes, go_mod)
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    result = go.run("get", "example.test/m@v1.0.0", home=tmp_path, cwd=work, env={"GOPROXY": proxy})
    assert result.returncode == 1
    assert result.stderr.endswith(
        "go: example.test/m@v1.0.0 requires example.test/m@v1.0.0: parsing go.mod:\n"
        "\tmodule declares its path as: example.test/other\n"
        "\t        but was required as: example.test/m\n"
    )


def test_a_module_from_a_directory_omits_what_x_mod_omits(go, tmp_path, module_store) -> None:
    root = tmp_path / "src"
    for name, text in {
        "go.mod": "module example.test/dir\n",
        "a.go": "package dir\n",
        "pkg/b.go": "package pkg\n",
        ".git/config": "[core]\n",
        "nested/go.mod": "module example.test/dir/nested\n",
        "nested/c.go": "package nested\n",
        "vendor/modules.txt": "# vendored\n",
        "vendor/example.test/x/x.go": "package x\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "link.go").symlink_to(root / "a.go")
    stored = module_store.add("example.test/dir", "v1.0.0", directory=root)
    names = sorted(zipfile.ZipFile(stored.zip_path).namelist())
    assert names == [
        "example.test/dir@v1.0.0/a.go",
        "example.test/dir@v1.0.0/go.mod",
        "example.test/dir@v1.0.0/pkg/b.go",
        "example.test/dir@v1.0.0/vendor/modules.txt",
    ]
    env = {"GOPROXY": file_proxy(tmp_path, module_store)}
    result = go.run("mod", "download", "-json", "example.test/dir@v1.0.0", home=tmp_path, env=env)
    (info,) = result.check().json_objects()
    assert (info["Sum"], info["GoModSum"]) == (stored.h1, stored.go_mod_h1)


def test_versions_sort_as_go_list_m_versions_sorts_them(go, tmp_path, module_store) -> None:
    versions = [
        "v1.10.0", "v1.2.0", "v1.2.0-rc.1", "v1.2.0-rc.10", "v1.2.0-rc.2", "v1.2.0-beta",
        "v0.9.0", "v1.0.0", "v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta",
        "v1.0.0-beta.11", "v1.0.0-beta.2", "v1.0.0-rc.1", "v1.0.0-0.3", "v1.0.0-x-y",
    ]  # fmt: skip
    for version in versions:
        module_store.add("example.test/m", version)
    tree = module_store.write_proxy_tree(tmp_path / "proxy")
    # The list in the order given, not ours: go must do the sorting itself.
    (tree / "example.test/m/@v/list").write_text("".join(f"{v}\n" for v in versions))
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/user\n\ngo 1.27\n")
    env = {"GOPROXY": f"file://{tree}"}
    result = go.run("list", "-m", "-versions", "example.test/m", home=tmp_path, cwd=work, env=env)
    listed = result.check().stdout.split()
    assert listed[0] == "example.test/m"
    assert listed[1:] == sort_versions(versions)
    assert sort_versions(versions) != versions  # the test would notice a no-op sort


# --- import paths: go list's words, the model's -------------------------------------------

# Paths `go list` keeps as given (it cleans away //, ./, trailing slashes and backslashes).
IMPORT_PATHS = [
    "example.test/a b",
    "example.test/a\vb",
    "example.test/a\x01b",
    "example.test/a\x7fb",
    "example.test/a\u200bb",
    "example.test/é",
    'example.test/a"b',
    "example.test/a'b",
    "example.test/a:b",
    "example.test/a./b",
    "example.test/CON",
    "example.test/nul.x/y",
    "example.test/Lpt1",
    "example.test/a~1",
    "example.test/a~1b",
    "example.test/.a",
    "example.test/a+b",
    "example.test/a~b",
    os.fsdecode(b"example.test/\xff"),
]


def test_check_import_path_says_what_go_list_says(go: GoToolchain, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text("module example.test/m\n\ngo 1.27\n")
    result = go.run("list", "-e", "-json=ImportPath,Error", *IMPORT_PATHS, home=tmp_path, cwd=work)
    errors = [package["Error"]["Err"] for package in result.check().json_objects()]
    assert len(errors) == len(IMPORT_PATHS)
    for path, go_error in zip(IMPORT_PATHS, errors, strict=True):
        if go_error.startswith("malformed import path"):
            with pytest.raises(InvalidPathError) as model:
                check_import_path(path)
            assert str(model.value) == go_error
        else:  # valid: go went on to look for the package
            assert go_error.startswith("no required module provides package"), (path, go_error)
            check_import_path(path)
    refused = [e for e in errors if e.startswith("malformed import path")]
    assert len(refused) == 15


# --- +incompatible: go's modfetch words, the model's -------------------------------------

GIT = shutil.which("git")


def _git_repo(root: Path, files: dict[str, str], tags: list[str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.test"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "v"], *(["tag", t] for t in tags)):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=60)
    return root


INCOMPATIBLE = {
    # repository → module path, version, go's words after "<path>@<version>: invalid version: "
    "v1 path, v1": ("example.test/a.git", "v1.0.0+incompatible",
                    "+incompatible suffix not allowed: major version v1 is compatible"),
    "v1 path, v0": ("example.test/a.git", "v0.1.0+incompatible",
                    "+incompatible suffix not allowed: major version v0 is compatible"),
    "/v2 path, v2": ("example.test/b.git/v2", "v2.0.0+incompatible",
                     "+incompatible suffix not allowed: major version v2 is compatible"),
    "/v2 path, v3": ("example.test/b.git/v2", "v3.0.0+incompatible",
                     "module path includes a major version suffix, so major version must match"),
}  # fmt: skip


@pytest.mark.skipif(GIT is None and not os.environ.get("CI"), reason="git is not installed")
def test_incompatible_versions_are_refused_in_gos_words(go: GoToolchain, tmp_path: Path) -> None:
    """go fetches each from a git repository (GOPROXY=direct; git's insteadOf maps the
    https URL go asks for to a local repository), so no network is involved."""
    repos = tmp_path / "repos"
    plain = _git_repo(repos / "a", {"a.go": "package a\n"}, ["v0.1.0", "v1.0.0"])
    v2 = _git_repo(
        repos / "b", {"go.mod": "module example.test/b.git/v2\n", "b.go": "package b\n"},
        ["v2.0.0", "v3.0.0"],
    )  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        f'[url "{plain.as_uri()}"]\n\tinsteadOf = https://example.test/a\n'
        f'[url "{v2.as_uri()}"]\n\tinsteadOf = https://example.test/b\n'
    )
    for case, (path, version, words) in INCOMPATIBLE.items():
        result = go.run(
            "mod", "download", "-json", f"{path}@{version}",
            home=home, env={"GOPROXY": "direct", "GOFLAGS": "-modcacherw"},
        )  # fmt: skip
        (info,) = result.json_objects()
        expected = f"{path}@{version}: invalid version: {words}"
        assert info.get("Error") == expected, case
        with pytest.raises(InvalidVersionError) as model:
            check_version(path, version)
        assert str(model.value) == expected, case


GOPKG_IN = {
    "gopkg.in .v2, v2": ("v2.0.0+incompatible",
                         "+incompatible suffix not allowed: major version v2 is compatible"),
    "gopkg.in .v2, v3": (
        "v3.0.0+incompatible",
        "module path includes a major version suffix, so major version must match",
    ),
}  # fmt: skip


@pytest.mark.skipif(GIT is None and not os.environ.get("CI"), reason="git is not installed")
def test_incompatible_on_gopkg_in_is_refused_in_gos_words(go, tmp_path, gomodnet) -> None:
    """gopkg.in needs discovery: the private network's go-import host answers it."""
    repo = _git_repo(tmp_path / "yaml", {"yaml.go": "package yaml\n"}, ["v2.0.0", "v3.0.0"])
    gomodnet.add_goimport("gopkg.in").add(
        "gopkg.in/yaml.v2", vcs="git", repo="https://gopkg.in/yaml.v2"
    )
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".gitconfig"
    config.write_text(f'[url "{repo.as_uri()}"]\n\tinsteadOf = https://gopkg.in/yaml.v2\n')
    for case, (version, words) in GOPKG_IN.items():
        # go_env() keeps global git config out; this test names its own on purpose.
        env = gomodnet.go_env(GOPROXY="direct", GIT_CONFIG_GLOBAL=str(config))
        asked = f"gopkg.in/yaml.v2@{version}"
        result = go.run("mod", "download", "-json", asked, home=home, env=env)
        (info,) = result.json_objects()
        expected = f"gopkg.in/yaml.v2@{version}: invalid version: {words}"
        assert info.get("Error") == expected, case
        with pytest.raises(InvalidVersionError) as model:
            check_version("gopkg.in/yaml.v2", version)
        assert str(model.value) == expected, case
    asked = {(c.host, x.path) for c in gomodnet.log for x in c.exchanges}
    assert asked == {("gopkg.in", "/yaml.v2?go-get=1")}


# module.CheckPathMajor, as go reads a go.mod's require lines: path, version, go's words.
PATH_MAJOR = [
    ("example.test/a", "v2.0.0", "should be v0 or v1, not v2"),
    ("example.test/a/v2", "v1.0.0", "should be v2, not v1"),
    ("example.test/a/v2", "v3.0.0", "should be v2, not v3"),
    ("example.test/a/v2", "v3.0.0+incompatible", "should be v2, not v3"),
    ("gopkg.in/yaml.v2", "v3.0.0", "should be v2, not v3"),
    ("gopkg.in/yaml.v2-unstable", "v3.0.0", "should be v2, not v3"),
]


@pytest.mark.parametrize(("path", "version", "words"), PATH_MAJOR)
def test_a_version_that_does_not_fit_its_path_in_gos_words(
    go: GoToolchain, tmp_path: Path, path: str, version: str, words: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "go.mod").write_text(f"module example.test/m\n\ngo 1.27\n\nrequire {path} {version}\n")
    result = go.run("list", "-m", "all", home=tmp_path, cwd=work)
    assert result.returncode == 1
    assert result.stderr == (
        "go: errors parsing go.mod:\n"
        f'go.mod:5: require {path}: version "{version}" invalid: {words}\n'
    )
    if version.endswith("+incompatible"):  # go's module fetcher has its own words for these
        words = "module path includes a major version suffix, so major version must match"
    with pytest.raises(InvalidVersionError) as model:
        check_version(path, version)
    assert str(model.value) == f"{path}@{version}: invalid version: {words}"
