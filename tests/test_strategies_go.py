"""The real go command agrees with the strategies: what they call invalid, go rejects, and why.

Each test collects a fixed, derandomized sample and asks go about all of it in
one run (``go mod download`` reports on every argument), so a hundred paths
cost one go start-up.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from hypothesis import strategies as st

from _helpers import dirhash_h1, draws
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.strategies import (
    PATH_RULES,
    InvalidModulePath,
    module_files,
    module_paths,
    versions,
)

LOOKUP_DISABLED = "module lookup disabled by GOPROXY=off"


def _download_errors(go: GoToolchain, home: Path, targets: list[str]) -> dict[str, str]:
    """``go mod download -json`` (GOPROXY=off) for each ``path@version``: target → Error."""
    result = go.run("mod", "download", "-json", "--", *targets, home=home)
    errors = {
        f"{o.get('Path', '')}@{o['Version']}": o.get("Error", "") for o in result.json_objects()
    }
    assert len(errors) == len(set(targets)), result.story("expected one report per argument")
    return errors


def test_go_rejects_every_invalid_path_with_the_named_rules_reason(
    go: GoToolchain, tmp_path: Path
) -> None:
    broken: list[InvalidModulePath] = [
        example
        for rule in PATH_RULES
        for example in draws(module_paths(valid=False, rules=[rule]), 8)
    ]
    assert len({b.path for b in broken}) > 90
    errors = _download_errors(go, tmp_path, [f"{b.path}@v1.0.0" for b in broken])
    wrong = [
        f"{b.rule}: {b.path!r}\n   go said: {errors[b.path + '@v1.0.0']}\n   expected: {b.message}"
        for b in broken
        if errors[b.path + "@v1.0.0"] != f"{b.path}@v1.0.0: {b.message}"
    ]
    assert not wrong, "\n".join(wrong)


def test_go_accepts_every_valid_path(go: GoToolchain, tmp_path: Path) -> None:
    paths: list[str] = draws(module_paths(), 150)
    errors = _download_errors(go, tmp_path, [f"{p}@latest" for p in paths])
    # Valid paths get as far as the (disabled) network lookup, and no further.
    assert {e.split(": ", 1)[1] for e in errors.values()} == {LOOKUP_DISABLED}


def test_go_reads_every_version_as_canonical_and_fitting_its_path(
    go: GoToolchain, tmp_path: Path
) -> None:
    pinned = st.one_of(
        versions(major=0).map(lambda v: ("", v)),
        versions(major=1).map(lambda v: ("", v)),
        st.integers(2, 99).flatmap(lambda n: versions(major=n).map(lambda v: (f"/v{n}", v))),
    )
    drawn: list[tuple[str, str]] = draws(pinned, 150)
    requires = {
        f"m{i}.example.test/m{suffix if not v.endswith('+incompatible') else ''}": v
        for i, (suffix, v) in enumerate(drawn)
    }
    work = tmp_path / "work"
    work.mkdir()
    lines = "".join(f"\t{path} {version}\n" for path, version in requires.items())
    (work / "go.mod").write_text(f"module example.test/main\n\ngo 1.21\n\nrequire (\n{lines})\n")
    # go canonicalizes what it reads (v1.2 → v1.2.0, +meta dropped) and rejects
    # a major that does not fit the path, so an unchanged echo proves both.
    result = go.run("mod", "edit", "-json", home=tmp_path, cwd=work).check()
    (edited,) = result.json_objects()
    assert {r["Path"]: r["Version"] for r in edited["Require"]} == requires


def test_go_downloads_every_module_file_set_and_hashes_it_as_expected(
    go: GoToolchain, tmp_path: Path
) -> None:
    proxy = tmp_path / "proxy"
    expected: dict[str, str] = {}
    samples: list[dict[str, bytes]] = draws(module_files(max_files=12), 40)
    assert sum(len(files) > 5 for files in samples) >= 3
    for n, sample in enumerate(samples):
        module = f"m{n}.example.test/m"
        files = {**sample, "go.mod": f"module {module}\n".encode()}
        prefix = f"{module}@v1.0.0/"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in files.items():
                archive.writestr(prefix + name, content)
        versions_dir = proxy / module / "@v"
        versions_dir.mkdir(parents=True)
        (versions_dir / "v1.0.0.zip").write_bytes(buffer.getvalue())
        (versions_dir / "v1.0.0.mod").write_bytes(files["go.mod"])
        (versions_dir / "v1.0.0.info").write_text(json.dumps({"Version": "v1.0.0"}))
        expected[module] = dirhash_h1(files, prefix)
    result = go.run(
        "mod", "download", "-json", *(f"{m}@v1.0.0" for m in expected),
        home=tmp_path, env={"GOPROXY": proxy.as_uri()},
    ).check()  # fmt: skip
    assert {o["Path"]: o["Sum"] for o in result.json_objects()} == expected
