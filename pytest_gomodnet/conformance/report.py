"""The fault matrix: each conformance case against each target, as a table.

Results are read from test reports' ``user_properties`` (``gomodnet_case``,
``gomodnet_level``, ``gomodnet_target``), which pytest-xdist carries back
from its workers, so the matrix is whole however the run was split. The same
properties land in JUnit XML, for CI dashboards. A failure's story (its whole text,
the network's connection log, the target's output) comes from the report's sections,
which travel the same way.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PASS", "Matrix", "RunFacts", "Verdict", "report_paths"]

PASS, FAIL, SHOULD_FAIL, SKIP, ERROR = "pass", "FAIL", "SHOULD-fail", "skip", "error"
# When phases disagree, the worst one names the cell (but see Verdict.merge).
_RANK = {PASS: 0, SKIP: 1, SHOULD_FAIL: 2, FAIL: 3, ERROR: 4}
#: The first line of a failure, cut to this length, is the cell's detail.
_DETAIL = 200
#: A failure's whole text, its connection log and its target's output are cut to this
#: many characters each in the report (the terminal still has them whole).
_KEPT = 20_000
#: The target of cases that ran against none (no proxy or client target was named).
NO_TARGET = "none"
#: The report sections that hold a failure's story: the network's and the target's.
LOG_SECTION, OUTPUT_SECTION = "gomodnet", "gomodnet target output"
#: How the suite runs again when nothing more is known of the run.
RERUN = ("pytest", "--gomodnet")
#: What ``pytest -k`` takes as one name (pytest's own expression grammar).
_K_NAME = re.compile(r"[\w:+\-.\[\]\\/]+")


@dataclass(frozen=True)
class RunFacts:
    """What a report must say to be reproduced: versions, seed, targets, when."""

    plugin: str
    go: str
    seed: int
    date: str
    targets: dict[str, str]
    """Each target's id in the matrix → its command line (or what the built-in one is)."""
    rerun: list[str] = field(default_factory=lambda: list(RERUN))
    """The command line that runs the suite again against the same targets and seed."""

    def summary(self) -> str:
        """One line for the terminal, under the matrix."""
        return f"pytest-gomodnet {self.plugin}, go: {self.go}, seed {self.seed}, {self.date}"

    def markdown(self) -> list[str]:
        lines = ["| run | |", "|---|---|"]
        lines += [f"| plugin | pytest-gomodnet {self.plugin} |", f"| go | {self.go} |"]
        lines += [f"| seed | {self.seed} (replay with `--gomodnet-seed {self.seed}`) |"]
        lines += [f"| date | {self.date} |", f"| run again | `{_cell(shlex.join(self.rerun))}` |"]
        lines += [f"| target `{name}` | `{_cell(text)}` |" for name, text in self.targets.items()]
        return lines


@dataclass(frozen=True)
class Story:
    """What a failing case leaves to read: its whole failure, the network's connection
    log (with the faults and the seed), the target's output."""

    failure: str = ""
    log: str = ""
    output: str = ""

    @classmethod
    def of(cls, report: pytest.TestReport) -> Story:
        if report.passed:
            return cls()
        sections = dict(report.sections)
        return cls(
            _kept(report.longreprtext),
            _kept(sections.get(LOG_SECTION, "")),
            _kept(sections.get(OUTPUT_SECTION, "")),
        )


@dataclass
class Verdict:
    """One case against one target."""

    case: str
    level: str
    target: str
    outcome: str = PASS
    detail: str = ""
    test: str = ""
    """The test's name in pytest (``test_fault[my-proxy-zip-cut]``): what ``-k`` selects."""
    story: Story = field(default_factory=Story)

    def merge(
        self, outcome: str, detail: str, when: str = "call", story: Story | None = None
    ) -> None:
        # A case that has failed keeps its own verdict and story: an error at its
        # teardown (a fault it already said the target never met) adds nothing to it.
        if when == "teardown" and self.outcome in (FAIL, SHOULD_FAIL):
            return
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome, self.detail = outcome, detail
            self.story = story or Story()

    def reproduce(self, rerun: Iterable[str]) -> str:
        """The shell command that runs this case again (``rerun`` plus its ``-k``)."""
        name = self.test if _K_NAME.fullmatch(self.test) else self.test.partition("[")[0]
        return shlex.join([*rerun, "-k", name])


@dataclass
class Matrix:
    """Every verdict of the run, in the order the cases first reported."""

    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    facts: RunFacts | None = None

    def record(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        case = properties.get("gomodnet_case")
        if case is None:
            return
        target = str(properties.get("gomodnet_target", "?"))
        key = (str(case), target)
        level = str(properties.get("gomodnet_level", "?"))
        test = report.nodeid.rpartition("::")[2]
        verdict = self.verdicts.setdefault(key, Verdict(str(case), level, target, test=test))
        verdict.merge(*_outcome(report), report.when, Story.of(report))

    @property
    def targets(self) -> list[str]:
        """Every target named, in the order its first verdict came (one skipped throughout
        included: its column says why, where the cases that ran against none do not)."""
        seen = {v.target: None for v in self.verdicts.values() if v.target != NO_TARGET}
        return list(seen)

    def skipped(self) -> list[Verdict]:
        """Every skipped verdict, the cases that had no target included."""
        return [v for v in self.verdicts.values() if v.outcome == SKIP]

    def rows(self) -> list[tuple[str, str, dict[str, Verdict]]]:
        rows: dict[str, tuple[str, str, dict[str, Verdict]]] = {}
        for verdict in self.verdicts.values():
            row = rows.setdefault(verdict.case, (verdict.case, verdict.level, {}))
            row[2][verdict.target] = verdict
        targets = set(self.targets)
        return [row for row in rows.values() if targets & set(row[2])]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per target: how many cases ended in each outcome."""
        counts: dict[str, dict[str, int]] = {t: {} for t in self.targets}
        for verdict in self.verdicts.values():
            if verdict.target in counts:
                cell = counts[verdict.target]
                cell[verdict.outcome] = cell.get(verdict.outcome, 0) + 1
        return counts

    # -- renderings ------------------------------------------------------------

    def text(self) -> list[str]:
        """The matrix for the terminal: one line a case, one column a target."""
        targets = self.targets
        width = max([len("case")] + [len(case) for case, _, _ in self.rows()])
        columns = [max(len(t), len(SHOULD_FAIL)) for t in targets]
        header = f"{'case':<{width}}  level   " + "  ".join(
            f"{t:<{w}}" for t, w in zip(targets, columns, strict=True)
        )
        lines = [header, "-" * len(header)]
        for case, level, cells in self.rows():
            shown = [cells[t].outcome if t in cells else "" for t in targets]
            lines.append(
                f"{case:<{width}}  {level:<6}  "
                + "  ".join(f"{s:<{w}}" for s, w in zip(shown, columns, strict=True)).rstrip()
            )
        lines.append("")
        for target, count in self.counts().items():
            summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(count.items()))
            lines.append(f"{target}: {summary}")
        return lines

    def markdown(self) -> str:
        targets = self.targets
        lines = ["# pytest-gomodnet conformance matrix", ""]
        if self.facts is not None:
            lines += [*self.facts.markdown(), ""]
        lines += [
            "| case | level | " + " | ".join(targets) + " |",
            "|---|---|" + "---|" * len(targets),
        ]
        for case, level, cells in self.rows():
            shown = [_markdown_cell(cells.get(t)) for t in targets]
            lines.append(f"| `{case}` | {level} | " + " | ".join(shown) + " |")
        lines += ["", "## Failures", ""]
        failures = [v for v in self.verdicts.values() if v.outcome in (FAIL, SHOULD_FAIL, ERROR)]
        lines += [f"- `{v.case}` on {v.target} ({v.outcome}): {v.detail}" for v in failures]
        if not failures:
            lines.append("None.")
        lines += ["", "## Skipped", ""]
        skipped = self.skipped()
        lines += [f"- `{v.case}` on {v.target}: {v.detail}" for v in skipped] or ["None."]
        return "\n".join(lines) + "\n"

    def document(self) -> dict[str, Any]:
        """The report as data: what ``PATH.json`` holds and ``PATH.html`` renders."""
        rerun = self.facts.rerun if self.facts is not None else RERUN
        return {
            "run": asdict(self.facts) if self.facts is not None else None,
            "targets": self.targets,
            "counts": self.counts(),
            "verdicts": [
                {
                    "case": v.case,
                    "level": v.level,
                    "target": v.target,
                    "outcome": v.outcome,
                    "detail": v.detail,
                    "test": v.test,
                    "reproduce": v.reproduce(rerun),
                    **asdict(v.story),
                }
                for v in self.verdicts.values()
            ],
        }

    def json(self) -> str:
        return json.dumps(self.document(), indent=2) + "\n"

    def write(self, base: Path) -> list[Path]:
        """Write ``base.md``, ``base.json`` and ``base.html``; returns the three paths."""
        from .html_report import render

        document = self.json()
        # The page renders the JSON file's text read back: it can show nothing else.
        texts = (self.markdown(), document, render(json.loads(document)))
        written = []
        for path, text in zip(report_paths(base), texts, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


def report_paths(base: Path) -> tuple[Path, ...]:
    """``report`` (or ``report.md``, ``.json``, ``.html``) → ``report.md``, ``.json``, ``.html``."""
    stem = base.with_suffix("") if base.suffix in (".md", ".json", ".html") else base
    return tuple(stem.with_name(stem.name + suffix) for suffix in (".md", ".json", ".html"))


def _kept(text: str) -> str:
    """``text``, or its first :data:`_KEPT` characters and how many more there were."""
    if len(text) <= _KEPT:
        return text
    return f"{text[:_KEPT]}\n… ({len(text) - _KEPT} more characters: see the terminal)"


def _outcome(report: pytest.TestReport) -> tuple[str, str]:
    if report.passed:
        return PASS, ""
    detail = _first_line(report.longreprtext)
    if hasattr(report, "wasxfail"):
        return SHOULD_FAIL, detail
    if report.skipped:
        return SKIP, _skip_reason(report)
    return (FAIL if report.when == "call" else ERROR), detail


def _first_line(text: str) -> str:
    lines: Iterable[str] = (line.strip() for line in text.splitlines())
    meaningful = [line for line in lines if line.startswith("E ")]
    first = meaningful[0][1:].strip() if meaningful else next(iter(text.splitlines()), "")
    return first[:_DETAIL]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")[:_DETAIL]
    return _first_line(str(longrepr))


def _markdown_cell(verdict: Verdict | None) -> str:
    if verdict is None:
        return ""
    return f"**{verdict.outcome}**" if verdict.outcome in (FAIL, ERROR) else verdict.outcome


def _cell(text: str) -> str:
    """``text`` inside a markdown table cell's code span."""
    return text.replace("|", "\\|").replace("`", "'")
