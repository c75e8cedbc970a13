"""The plugin as users see it, through pytester."""

from __future__ import annotations

import pytest


def test_help_lists_the_gomodnet_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "network-resilience tests of Go module fetching:",
            "*--gomodnet *add the bundled conformance suite to the run*",
            "*--gomodnet-seed=N*",
            "*--gomodnet-go=PATH*",
            "*--gomodnet-require-go*",
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
