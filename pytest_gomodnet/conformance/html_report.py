"""The report as one HTML page: the matrix coloured by verdict, filterable, each failure
with its story and the command that reruns it.

The page renders the JSON report's document and nothing else, so the two never
disagree; ``python -m pytest_gomodnet.conformance.html_report PATH.json`` renders a
saved one again. It is self-contained (inline CSS and script, and a
Content-Security-Policy that forbids loading anything), so it can be published as
one file, and every text in it is escaped: a target's output is shown, never run.

The filters live in the URL's fragment (``#verdict=FAIL&case=zip&target=my-proxy``),
so a link can point at the failures of one target.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from .report import ERROR, FAIL, PASS, SHOULD_FAIL, SKIP

__all__ = ["VERDICTS", "main", "render", "verdict_class"]

#: Every verdict, in the order the filter offers them.
VERDICTS = (PASS, FAIL, SHOULD_FAIL, SKIP, ERROR)
#: The verdicts that get a section of their own, with their story.
_FAILED = (FAIL, SHOULD_FAIL, ERROR)
#: Nothing may be fetched: styles and the script are inline, images only data: URLs.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.95em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
#filters { position: sticky; top: 0; background: #fff; padding: 0.5em 0;
  border-bottom: 1px solid #ccc; }
#filters label { margin-right: 1em; }
.v-pass { background: #d3f2db; }
.v-fail { background: #f7c6c6; font-weight: bold; }
.v-should-fail { background: #fde3b0; }
.v-skip { background: #ececec; color: #555; }
.v-error { background: #e3cff5; font-weight: bold; }
td.cell a { color: inherit; }
section.failure { border-left: 6px solid #ccc; padding-left: 0.8em; margin: 1.2em 0; }
section.failure.v-fail, section.failure.v-error, section.failure.v-should-fail {
  background: none; font-weight: normal; }
section.failure.v-fail { border-color: #d33; }
section.failure.v-should-fail { border-color: #e9a100; }
section.failure.v-error { border-color: #8a3fd1; }
.badge { padding: 0 0.4em; border-radius: 3px; }
"""

# Reads the filters from the fragment, hides what they leave out, writes them back.
_SCRIPT = """
(function () {
  "use strict";
  var controls = ["verdict", "case", "target"].map(function (name) {
    return document.getElementById("filter-" + name);
  });
  function read() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) { return; }  // a jump to a failure, not a filter
    var params = new URLSearchParams(hash);
    controls.forEach(function (control) { control.value = params.get(control.name) || ""; });
  }
  function write() {
    var params = new URLSearchParams();
    controls.forEach(function (control) {
      if (control.value) { params.set(control.name, control.value); }
    });
    var hash = params.toString();
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname); }
    catch (error) { location.hash = hash; }
  }
  function apply() {
    var verdict = controls[0].value, text = controls[1].value.toLowerCase();
    var target = controls[2].value, shown = 0, rows = document.querySelectorAll("tr.case");
    document.querySelectorAll("[data-column]").forEach(function (cell) {
      cell.hidden = Boolean(target) && cell.dataset.column !== target;
    });
    rows.forEach(function (row) {
      var cells = Array.prototype.filter.call(row.querySelectorAll("td.cell"), function (cell) {
        return !cell.hidden && (!verdict || cell.dataset.verdict === verdict);
      });
      row.hidden = row.dataset.case.toLowerCase().indexOf(text) < 0 || cells.length === 0;
      if (!row.hidden) { shown += 1; }
    });
    document.querySelectorAll("[data-verdict][data-target]").forEach(function (item) {
      item.hidden = item.dataset.case.toLowerCase().indexOf(text) < 0 ||
        (verdict && item.dataset.verdict !== verdict) || (target && item.dataset.target !== target);
    });
    document.getElementById("shown").textContent = shown + " of " + rows.length + " cases shown";
  }
  controls.forEach(function (control) {
    control.addEventListener("input", function () { write(); apply(); });
  });
  window.addEventListener("hashchange", function () { read(); apply(); });
  read();
  apply();
})();
"""


def verdict_class(outcome: str) -> str:
    """The CSS class of a verdict: ``FAIL`` → ``v-fail``, ``SHOULD-fail`` → ``v-should-fail``."""
    return "v-" + outcome.lower()


def render(document: Mapping[str, Any]) -> str:
    """The page for a report ``document`` (what :meth:`Matrix.document` returns)."""
    verdicts: list[dict[str, Any]] = list(document["verdicts"])
    targets: list[str] = list(document["targets"])
    failed = [v for v in verdicts if v["outcome"] in _FAILED]
    skipped = [v for v in verdicts if v["outcome"] == SKIP]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>pytest-gomodnet conformance report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>pytest-gomodnet conformance report</h1>",
        *_run(document.get("run")),
        *_counts(document["counts"]),
        *_filters(targets),
        "<h2>Matrix</h2>",
        *_matrix(verdicts, targets, {id(v): n for n, v in enumerate(failed)}),
        f"<h2>Failures ({len(failed)})</h2>",
        *([_failure(n, v) for n, v in enumerate(failed)] or ["<p>None.</p>"]),
        f"<h2>Skipped ({len(skipped)})</h2>",
        *_skipped(skipped),
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _run(run: Mapping[str, Any] | None) -> list[str]:
    """The run's facts: versions, seed, date, how to run it again, every target."""
    if run is None:
        return ["<p>No run facts were recorded.</p>"]
    rows = [
        ("plugin", escape(f"pytest-gomodnet {run['plugin']}")),
        ("go", escape(run["go"])),
        ("seed", escape(str(run["seed"]))),
        ("date", escape(run["date"])),
        ("run again", f"<code>{escape(shlex.join(run.get('rerun', [])))}</code>"),
    ]
    rows += [
        (f"target <code>{escape(name)}</code>", f"<code>{escape(command)}</code>")
        for name, command in run["targets"].items()
    ]
    cells = [f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows]
    return ['<table class="run">', *cells, "</table>"]


def _counts(counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    lines = ['<ul class="counts">']
    for target, count in counts.items():
        shown = [_badge(o, f"{count[o]} {o}") for o in VERDICTS if o in count]
        lines.append(f"<li><code>{escape(target)}</code>: {', '.join(shown)}</li>")
    return [*lines, "</ul>"]


def _badge(outcome: str, text: str) -> str:
    return f'<span class="badge {verdict_class(outcome)}">{escape(text)}</span>'


def _filters(targets: Sequence[str]) -> list[str]:
    return [
        '<form id="filters" onsubmit="return false">',
        '<label>verdict <select id="filter-verdict" name="verdict">',
        *_options(VERDICTS, "every verdict"),
        "</select></label>",
        '<label>case <input id="filter-case" name="case" type="search" '
        'placeholder="part of a case name"></label>',
        '<label>target <select id="filter-target" name="target">',
        *_options(targets, "every target"),
        "</select></label>",
        '<span id="shown"></span>',
        "</form>",
    ]


def _options(values: Iterable[str], everything: str) -> list[str]:
    options = [f'<option value="">{everything}</option>']
    return options + [f'<option value="{escape(v)}">{escape(v)}</option>' for v in values]


def _matrix(
    verdicts: Sequence[Mapping[str, Any]], targets: Sequence[str], failures: Mapping[int, int]
) -> list[str]:
    """One row a case, one column a target; a failed cell links to its story."""
    rows: dict[str, tuple[str, dict[str, Mapping[str, Any]]]] = {}
    for verdict in verdicts:
        rows.setdefault(verdict["case"], (verdict["level"], {}))[1][verdict["target"]] = verdict
    head = "".join(f'<th data-column="{escape(t)}"><code>{escape(t)}</code></th>' for t in targets)
    lines = ['<table id="matrix">', f"<thead><tr><th>case</th><th>level</th>{head}</tr></thead>"]
    lines.append("<tbody>")
    for case, (level, cells) in rows.items():
        if not set(targets) & set(cells):
            continue  # ran against no target: listed with the skips
        shown = "".join(_cell(t, cells.get(t), failures) for t in targets)
        lines.append(
            f'<tr class="case" data-case="{escape(case)}"><td><code>{escape(case)}</code></td>'
            f"<td>{escape(level)}</td>{shown}</tr>"
        )
    return [*lines, "</tbody></table>"]


def _cell(target: str, verdict: Mapping[str, Any] | None, failures: Mapping[int, int]) -> str:
    column = escape(target)
    if verdict is None:
        return f'<td class="cell" data-column="{column}" data-verdict=""></td>'
    outcome, title = verdict["outcome"], escape(verdict["detail"])
    number = failures.get(id(verdict))
    text = (
        escape(outcome) if number is None else f'<a href="#failure-{number}">{escape(outcome)}</a>'
    )
    return (
        f'<td class="cell {verdict_class(outcome)}" data-column="{column}" '
        f'data-verdict="{escape(outcome)}" title="{title}">{text}</td>'
    )


def _failure(number: int, verdict: Mapping[str, Any]) -> str:
    """One failed case: its first line, the command that reruns it, then its story."""
    outcome = verdict["outcome"]
    stories = [
        ("Connection log", "log", verdict.get("log"), True),
        ("Failure", "failure-text", verdict.get("failure"), False),
        ("Target output", "output", verdict.get("output"), False),
    ]
    return "\n".join(
        [
            f'<section class="failure {verdict_class(outcome)}" id="failure-{number}" '
            f"{_data(verdict)}>",
            f"<h3><code>{escape(verdict['case'])}</code> on <code>{escape(verdict['target'])}"
            f"</code>: {_badge(outcome, outcome)} "
            f"({escape(verdict['level'])})</h3>",
            f'<p class="detail">{escape(verdict["detail"])}</p>',
            f'<p>Reproduce:</p><pre class="reproduce">{escape(verdict.get("reproduce", ""))}</pre>',
            *(
                f"<details{' open' if opened else ''}><summary>{title}</summary>"
                f'<pre class="{kind}">{escape(text or "(none recorded)")}</pre></details>'
                for title, kind, text, opened in stories
            ),
            "</section>",
        ]
    )


def _skipped(skipped: Sequence[Mapping[str, Any]]) -> list[str]:
    if not skipped:
        return ["<p>None.</p>"]
    items = [
        f'<li class="skipped" {_data(v)}><code>{escape(v["case"])}</code> on '
        f"<code>{escape(v['target'])}</code>: {escape(v['detail'])}</li>"
        for v in skipped
    ]
    return ["<ul>", *items, "</ul>"]


def _data(verdict: Mapping[str, Any]) -> str:
    """The attributes the filters read."""
    return (
        f'data-case="{escape(verdict["case"])}" data-target="{escape(verdict["target"])}" '
        f'data-verdict="{escape(verdict["outcome"])}"'
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_gomodnet.conformance.html_report PATH.json``: write ``PATH.html``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].endswith(".json"):
        print(
            "usage: python -m pytest_gomodnet.conformance.html_report REPORT.json", file=sys.stderr
        )
        return 2
    source = Path(args[0])
    try:
        page = render(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        print(f"cannot read the report {source}: {exc}", file=sys.stderr)
        return 1
    except (KeyError, TypeError) as exc:
        print(
            f"{source} is not a pytest-gomodnet report (no {exc}): give the PATH.json "
            "that --gomodnet-report wrote",
            file=sys.stderr,
        )
        return 1
    target = source.with_suffix(".html")
    target.write_text(page, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
