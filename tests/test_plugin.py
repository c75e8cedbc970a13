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


def test_go_fixture_skips_with_reason_when_absent(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_go(go): pass")
    result = pytester.runpytest("--gomodnet-go", "/nonexistent/go", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*--gomodnet-go='/nonexistent/go' is not an executable file*"])


def test_go_fixture_fails_when_required(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_go(go): pass")
    result = pytester.runpytest("--gomodnet-go", "/nonexistent/go", "--gomodnet-require-go")
    result.assert_outcomes(errors=1)


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
