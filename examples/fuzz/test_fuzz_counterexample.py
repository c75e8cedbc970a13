"""Run the naive downloader's fuzz test for real and read hypothesis's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fuzz_downloaders import BODY_START, RESPONSE, ZIP

HERE = Path(__file__).parent


def test_hypothesis_finds_the_naive_bug_and_shrinks_it_to_the_end_of_the_headers(
    pytester: pytest.Pytester,
) -> None:
    # --runxfail shows the failure the xfail mark otherwise hides; default
    # settings, so this also proves the bug is found within the default budget.
    result = pytester.runpytest_subprocess(
        str(HERE / "test_fuzz_downloaders.py"), "--runxfail", "-p", "no:cacheprovider",
        "-k", "naive", "-q",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*partial success: the client returned an artifact that is not the right one (in *",
            f"*so: they are the first 0 of {len(ZIP):,} bytes: a cut response returned as if*",
            f"*fault: 'first response cut after {BODY_START} bytes'*",
            "*Failing test case: test_a_clean_retry_returns_the_whole_zip(*",
            "*download=naive,*",
            f"*at={BODY_START},*",
        ]
    )
    assert RESPONSE[BODY_START - 4 : BODY_START] == b"\r\n\r\n"
