"""Run the naive downloader's fuzz tests for real and read hypothesis's verdict."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_fuzz_downloaders import BODY_START, RESPONSE, ZIP
from test_fuzz_recipe import FILES, MODULE, PROXY, VERSION, ZIP_URL

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


def _run_the_recipe_on_the_naive_downloader(pytester: pytest.Pytester) -> list[str]:
    """The naive case of the recipe, from a fresh directory (no hypothesis database): the
    failing examples' lines, from the first drawn cut to the end of the gomodnet section."""
    result = pytester.runpytest_subprocess(
        str(HERE / "test_fuzz_recipe.py"), "--runxfail", "-p", "no:cacheprovider",
        "-k", "naive", "--gomodnet-seed", "20261203",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "Draw 1 (cut): " in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("=" * 10) and i > start)
    return lines[start:end]


def _draw(framing: str, at: int) -> str:
    plan = f"Truncate(at={at}, close='fin', where=None)"
    return f"Draw 1 (cut): AimedFault(url={ZIP_URL!r}, framing={framing!r}, plan={plan})"


def test_the_recipe_finds_the_naive_bug_shows_one_example_and_replays_by_seed(
    pytester: pytest.Pytester, gomodnet, module_store
) -> None:
    module_store.add(MODULE, VERSION, files=FILES)
    gomodnet.add_goproxy("proxy.test", module_store)
    # Shrunk, in each framing where it fails differently, to the first cut that leaves
    # a file: the headers whole, no body byte.
    body_starts = {
        framing: gomodnet.response_bytes(ZIP_URL, framing=framing).index(b"\r\n\r\n") + 4
        for framing in ("content-length", "close")
    }
    first = _run_the_recipe_on_the_naive_downloader(pytester)
    draws = {line.strip(" |E") for line in first if "Draw 1 (cut): " in line}
    # One failing example per distinct failure hypothesis found (one or both framings).
    assert draws
    assert draws <= {_draw(framing, at) for framing, at in body_starts.items()}
    # The gomodnet section shows one example, the last run, with the calls it made.
    section = first[first.index("-" * 35 + " gomodnet " + "-" * 35) :]
    [framed] = [line for line in section if "gomodnet.frame(" in line]
    framing = framed.split("'")[3]
    at = body_starts[framing]
    cut = f"Truncate(at={at}, close='fin', where=None)"
    zip_path = ZIP_URL.removeprefix(PROXY)
    assert [line for line in section if "gomodnet.f" in line] == [
        f"  gomodnet.frame('proxy.test', {framing!r}, path={zip_path!r})",
        f"  gomodnet.fault('proxy.test', {cut}, path={zip_path!r})",
    ]
    assert [line for line in section if line.lstrip().startswith("GET ")] == [
        f"  GET {zip_path} → 200; 166 B up, {at} B down; fin fault={cut} framing={framing}"
    ]
    shutil.rmtree(pytester.path / ".hypothesis")  # so the replay is the seed's doing
    again = _run_the_recipe_on_the_naive_downloader(pytester)
    assert _without_times(again) == _without_times(first)


def _without_times(lines: list[str]) -> list[str]:
    """The report without what differs from run to run: times, temporary paths, addresses,
    and hypothesis's Explanation (the library lines only the failing examples ran, which
    follow how the cut bytes happened to arrive: one read or two)."""
    kept: list[str] = []
    explaining = False
    for line in lines:
        if "Explanation:" in line:
            explaining = True
        elif "You can reproduce this test case" in line:
            explaining = False
        if not explaining:
            kept.append(re.sub(r"after [\d.]+ s|/tmp/\S+|0x[0-9a-f]+", "…", line))
    return kept


def test_the_docs_recipe_is_this_directorys_recipe_word_for_word() -> None:
    docs = (HERE.parent.parent / "docs" / "fuzzing.md").read_text()
    recipe = docs.split("## The recipe\n", 1)[1].split("```python\n", 1)[1].split("```\n", 1)[0]
    assert recipe == (HERE / "test_fuzz_recipe.py").read_text()
