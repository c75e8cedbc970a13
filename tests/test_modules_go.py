"""The module model proven by the real go command over GOPROXY=file://: hashes and refusals."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from _helpers import raw_zip
from pytest_gomodnet.errors import ZipError
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.modules import (
    build_zip,
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
