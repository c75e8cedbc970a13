"""The conformance report's HTML page: rendered from the JSON document, escaped,
self-contained, and, in a real browser (headless Chromium), coloured and filterable.

The matrix here is built from hand-made test reports, so every verdict the suite has
is on it; tests/test_conformance.py runs the suite itself and opens its page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _chromium import Elements, artifacts, chromium, dump_dom, requires_chromium, screenshot
from pytest_gomodnet.conformance.html_report import main, render
from pytest_gomodnet.conformance.report import Matrix, RunFacts, Verdict

#: What a target may print or answer: it must be shown, never run.
PAYLOAD = (
    "<script>document.body.dataset.pwned = 'script'</script>"
    "<img src=x onerror=\"document.body.dataset.pwned = 'img'\">"
)
ESCAPED = (
    "&lt;script&gt;document.body.dataset.pwned = &#x27;script&#x27;&lt;/script&gt;"
    "&lt;img src=x onerror=&quot;document.body.dataset.pwned = &#x27;img&#x27;&quot;&gt;"
)
RERUN = ["pytest", "--gomodnet", "--gomodnet-proxy-cmd", "alpha {port}", "--gomodnet-seed", "7"]
FACTS = RunFacts(
    plugin="1.2.3",
    go="go1.27.3 (/opt/go/bin/go)",
    seed=7,
    date="2026-12-03T09:00:00+00:00",
    targets={"alpha": "alpha {port}", "beta": "beta <b>{port}</b>"},
    rerun=RERUN,
)
LOG = "seed: 7 (replay with --gomodnet-seed 7)\nconnections:\n  upstream.test " + PAYLOAD
#: Each case's verdict per target, in the order the run reported them.
EXPECTED = {
    "proxy.zip": {"alpha": "pass", "beta": "FAIL"},
    "proxy.list": {"alpha": "pass", "beta": "pass"},
    "proxy.single-flight": {"alpha": "SHOULD-fail", "beta": "pass"},
    "proxy.upstream-tls-broken[expired-leaf]": {"alpha": "skip", "beta": "error"},
}


def _report(
    case: str, target: str, when: str, outcome: str, longrepr: object = None, **extra: object
) -> pytest.TestReport:
    level = "SHOULD" if case == "proxy.single-flight" else "MUST"
    name = case.removeprefix("proxy.").partition("[")[0].replace("-", "_")
    properties = [("gomodnet_case", case), ("gomodnet_level", level), ("gomodnet_target", target)]
    report = pytest.TestReport(
        f"proxy_cases.py::test_{name}[{target}]",
        ("proxy_cases.py", 0, name),
        {},
        outcome,  # type: ignore[arg-type]
        longrepr,  # type: ignore[arg-type]
        when,  # type: ignore[arg-type]
        user_properties=properties,
        **extra,  # type: ignore[arg-type]
    )
    return report


def _matrix() -> Matrix:
    matrix = Matrix(facts=FACTS)
    for case, row in EXPECTED.items():
        for target, outcome in row.items():
            for report in _reports(case, target, outcome):
                matrix.record(report)
    matrix.record(
        _report(
            "proxy.sumdb-supported",
            "none",
            "setup",
            "skipped",
            ("x", 1, "Skipped: no proxy target"),
        )
    )
    return matrix


def _reports(case: str, target: str, outcome: str) -> list[pytest.TestReport]:
    """The reports pytest gives a case that ends in ``outcome``."""
    setup = _report(case, target, "setup", "passed")
    if outcome == "skip":
        return [_report(case, target, "setup", "skipped", ("x", 1, "Skipped: not plain HTTP"))]
    if outcome == "error":
        teardown = _report(
            case, target, "teardown", "failed", "E   ServerError: a fault never fired"
        )
        return [setup, _report(case, target, "call", "passed"), teardown]
    if outcome == "pass":
        return [setup, _report(case, target, "call", "passed")]
    sections = [("gomodnet", LOG), ("gomodnet target output", f"listening\n{PAYLOAD}")]
    failure = f"def test():\n>       assert False\nE       AssertionError: {PAYLOAD}"
    call = _report(case, target, "call", "failed", failure, sections=sections)
    if outcome == "SHOULD-fail":
        call.outcome, call.wasxfail = "skipped", "SHOULD-fail: single flight"  # type: ignore[attr-defined]
    return [setup, call]


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Path]:
    paths = _matrix().write(tmp_path / "report" / "gomodnet")
    return {path.suffix: path for path in paths}


def test_the_report_is_three_files_and_the_page_renders_the_json(written: dict[str, Path]) -> None:
    assert [path.name for path in written.values()] == [
        "gomodnet.md",
        "gomodnet.json",
        "gomodnet.html",
    ]
    document = json.loads(written[".json"].read_text())
    assert written[".html"].read_text() == render(document)


def test_the_json_holds_each_failures_story_and_how_to_rerun_it(written: dict[str, Path]) -> None:
    document = json.loads(written[".json"].read_text())
    assert document["run"]["rerun"] == RERUN
    failed = {(v["case"], v["target"]): v for v in document["verdicts"] if v["outcome"] == "FAIL"}
    assert list(failed) == [("proxy.zip", "beta")]
    verdict = failed["proxy.zip", "beta"]
    assert verdict["test"] == "test_zip[beta]"
    assert verdict["reproduce"] == (
        "pytest --gomodnet --gomodnet-proxy-cmd 'alpha {port}' --gomodnet-seed 7 "
        "-k 'test_zip[beta]'"
    )
    assert verdict["detail"] == f"AssertionError: {PAYLOAD}"[:200]
    assert verdict["log"] == LOG
    assert verdict["output"] == f"listening\n{PAYLOAD}"
    assert verdict["failure"].endswith(f"E       AssertionError: {PAYLOAD}")
    passed = next(v for v in document["verdicts"] if v["outcome"] == "pass")
    assert (passed["failure"], passed["log"], passed["output"]) == ("", "", "")


def test_a_name_k_cannot_take_reruns_the_test_function() -> None:
    verdict = Verdict("proxy.zip", "MUST", "my proxy", test="test_zip[my proxy]")
    assert verdict.reproduce(["pytest", "--gomodnet"]) == "pytest --gomodnet -k test_zip"


def test_every_text_on_the_page_is_escaped(written: dict[str, Path]) -> None:
    page = written[".html"].read_text()
    elements = Elements(page)
    assert [tag for tag, _ in elements.tags].count("script") == 1  # the page's own
    assert not [attrs for tag, attrs in elements.tags if tag in ("img", "b")]
    assert f'<p class="detail">AssertionError: {ESCAPED}</p>' in page
    assert "<code>beta &lt;b&gt;{port}&lt;/b&gt;</code>" in page
    assert PAYLOAD not in page
    # The escaped texts read back whole: the story of the failure, as the JSON has it.
    assert LOG in elements.pres
    assert f"listening\n{PAYLOAD}" in elements.pres


def test_the_page_loads_nothing(written: dict[str, Path]) -> None:
    page = written[".html"].read_text()
    elements = Elements(page)
    assert [attrs for _, attrs in elements.tags if "src" in attrs] == []
    hrefs = [str(attrs["href"]) for _, attrs in elements.tags if "href" in attrs]
    assert hrefs == ["#failure-0", "#failure-1", "#failure-2"]  # failed cells → their story
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ) in page


def test_the_page_has_the_matrix_the_failures_and_the_run(written: dict[str, Path]) -> None:
    elements = Elements(written[".html"].read_text())
    rows = elements.having("tr", "case")
    assert [row["data-case"] for row in rows] == list(EXPECTED)
    cells = [
        (c["data-column"], c["data-verdict"], c["class"]) for c in elements.having("td", "cell")
    ]
    assert cells == [
        (target, outcome, f"cell v-{outcome.lower()}")
        for row in EXPECTED.values()
        for target, outcome in row.items()
    ]
    failures = [
        (f["id"], f["data-case"], f["data-target"], f["data-verdict"])
        for f in elements.having("section", "failure")
    ]
    assert failures == [
        ("failure-0", "proxy.zip", "beta", "FAIL"),
        ("failure-1", "proxy.single-flight", "alpha", "SHOULD-fail"),
        ("failure-2", "proxy.upstream-tls-broken[expired-leaf]", "beta", "error"),
    ]
    skipped = [(s["data-case"], s["data-target"]) for s in elements.having("li", "skipped")]
    assert skipped == [
        ("proxy.upstream-tls-broken[expired-leaf]", "alpha"),
        ("proxy.sumdb-supported", "none"),
    ]
    reproduce = "pytest --gomodnet --gomodnet-proxy-cmd 'alpha {port}' --gomodnet-seed 7 -k"
    assert elements.pres[:2] == [f"{reproduce} 'test_zip[beta]'", LOG]


@requires_chromium
def test_chromium_shows_the_matrix_coloured_by_verdict(
    written: dict[str, Path], tmp_path: Path
) -> None:
    dom = dump_dom(written[".html"], profile=tmp_path / "profile")
    elements = Elements(dom)
    assert elements.shown_rows() == list(EXPECTED)
    shown = [
        (c["data-column"], c["class"]) for c in elements.having("td", "cell") if "hidden" not in c
    ]
    assert shown == [
        (target, f"cell v-{outcome.lower()}")
        for row in EXPECTED.values()
        for target, outcome in row.items()
    ]
    assert '<span id="shown">4 of 4 cases shown</span>' in dom
    # What a target printed stayed text: neither its script nor its image ran.
    assert "data-pwned" not in dom
    as_text = PAYLOAD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<p class="detail">AssertionError: {as_text}</p>' in dom
    screenshot(written[".html"], "", profile=tmp_path / "profile", into=artifacts(tmp_path))


@requires_chromium
def test_chromium_as_started_here_fetches_nothing_but_the_proxy_would_see_it(
    tmp_path: Path, written: dict[str, Path]
) -> None:
    """Every run asserts that the recording proxy saw no request; this is its control."""
    asking = tmp_path / "asking.html"
    asking.write_text('<img src="http://example.test/x.png">\n')
    _, requests = chromium(asking.as_uri(), tmp_path / "profile", "--dump-dom")
    assert requests == ["GET http://example.test/x.png HTTP/1.1"]
    _, requests = chromium(written[".html"].as_uri(), tmp_path / "profile", "--dump-dom")
    assert requests == []


@requires_chromium
@pytest.mark.parametrize(
    ("fragment", "rows", "failures"),
    [
        ("verdict=FAIL", ["proxy.zip"], ["proxy.zip"]),
        ("verdict=pass&target=alpha", ["proxy.zip", "proxy.list"], []),
        ("target=alpha", list(EXPECTED), ["proxy.single-flight"]),
        (
            "case=TLS",
            ["proxy.upstream-tls-broken[expired-leaf]"],
            ["proxy.upstream-tls-broken[expired-leaf]"],
        ),
        ("verdict=error&case=zip", [], []),
    ],
)
def test_chromium_filters_by_the_fragment(
    written: dict[str, Path], tmp_path: Path, fragment: str, rows: list[str], failures: list[str]
) -> None:
    dom = dump_dom(written[".html"], fragment, profile=tmp_path / "profile")
    elements = Elements(dom)
    assert elements.shown_rows() == rows
    sections = elements.having("section", "failure")
    assert [s["data-case"] for s in sections if "hidden" not in s] == failures
    assert f'<span id="shown">{len(rows)} of 4 cases shown</span>' in dom
    columns = {str(c["data-column"]) for c in elements.having("td", "cell") if "hidden" not in c}
    assert columns == ({"alpha"} if "target=alpha" in fragment else {"alpha", "beta"})


def test_the_page_renders_again_from_a_saved_json(
    written: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    page = written[".html"].read_text()
    written[".html"].unlink()
    assert main([str(written[".json"])]) == 0
    assert capsys.readouterr().out == f"wrote {written['.html']}\n"
    assert written[".html"].read_text() == page


def test_a_file_that_is_no_report_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"verdicts": []}')
    assert main([str(other)]) == 1
    assert capsys.readouterr().err == (
        f"{other} is not a pytest-gomodnet report (no 'targets'): give the PATH.json "
        "that --gomodnet-report wrote\n"
    )
    assert main([str(tmp_path / "missing.json")]) == 1
    assert "cannot read the report" in capsys.readouterr().err
    assert main(["report.md"]) == 2
    assert capsys.readouterr().err == (
        "usage: python -m pytest_gomodnet.conformance.html_report REPORT.json\n"
    )


def test_a_long_story_is_cut_saying_how_much_the_terminal_has() -> None:
    failure = "E   AssertionError: too long\n" + "y" * 30_000
    matrix = Matrix()
    matrix.record(
        _report("proxy.zip", "beta", "call", "failed", failure, sections=[("gomodnet", LOG)])
    )
    [verdict] = matrix.document()["verdicts"]
    cut = len(failure) - 20_000
    assert verdict["failure"] == f"{failure[:20_000]}\n… ({cut} more characters: see the terminal)"
    assert verdict["log"] == LOG  # short: whole
    assert verdict["detail"] == "AssertionError: too long"
