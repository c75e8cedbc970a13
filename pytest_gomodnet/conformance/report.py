"""The fault matrix: each conformance case against each target, as a table.

Results are read from test reports' ``user_properties`` (``gomodnet_case``,
``gomodnet_level``, ``gomodnet_target``), which pytest-xdist carries back
from its workers, so the matrix is whole however the run was split. The same
properties land in JUnit XML, for CI dashboards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

__all__ = ["PASS", "Matrix", "RunFacts", "Verdict", "report_paths"]

PASS, FAIL, SHOULD_FAIL, SKIP, ERROR = "pass", "FAIL", "SHOULD-fail", "skip", "error"
# When phases disagree, the worst one names the cell (but see Verdict.merge).
_RANK = {PASS: 0, SKIP: 1, SHOULD_FAIL: 2, FAIL: 3, ERROR: 4}
#: The first line of a failure, cut to this length, is the cell's detail.
_DETAIL = 200
#: The target of cases that ran against none (no proxy or client target was named).
NO_TARGET = "none"


@dataclass(frozen=True)
class RunFacts:
    """What a report must say to be reproduced: versions, seed, targets, when."""

    plugin: str
    go: str
    seed: int
    date: str
    targets: dict[str, str]
    """Each target's id in the matrix → its command line (or what the built-in one is)."""

    def summary(self) -> str:
        """One line for the terminal, under the matrix."""
        return f"pytest-gomodnet {self.plugin}, go: {self.go}, seed {self.seed}, {self.date}"

    def markdown(self) -> list[str]:
        lines = ["| run | |", "|---|---|"]
        lines += [f"| plugin | pytest-gomodnet {self.plugin} |", f"| go | {self.go} |"]
        lines += [f"| seed | {self.seed} (replay with `--gomodnet-seed {self.seed}`) |"]
        lines += [f"| date | {self.date} |"]
        lines += [f"| target `{name}` | `{_cell(text)}` |" for name, text in self.targets.items()]
        return lines


@dataclass
class Verdict:
    """One case against one target."""

    case: str
    level: str
    target: str
    outcome: str = PASS
    detail: str = ""

    def merge(self, outcome: str, detail: str, when: str = "call") -> None:
        # A case that has failed keeps its own verdict and story: an error at its
        # teardown (a fault it already said the target never met) adds nothing to it.
        if when == "teardown" and self.outcome in (FAIL, SHOULD_FAIL):
            return
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome, self.detail = outcome, detail


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
        verdict = self.verdicts.setdefault(
            key, Verdict(str(case), str(properties.get("gomodnet_level", "?")), target)
        )
        verdict.merge(*_outcome(report), report.when)

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

    def json(self) -> str:
        document = {
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
                }
                for v in self.verdicts.values()
            ],
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self, base: Path) -> list[Path]:
        """Write ``base.md`` and ``base.json``; returns the two paths."""
        written = []
        for path, text in zip(report_paths(base), (self.markdown(), self.json()), strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
        return written


def report_paths(base: Path) -> tuple[Path, Path]:
    """``report`` or ``report.md`` or ``report.json`` → (``report.md``, ``report.json``)."""
    stem = base.with_suffix("") if base.suffix in (".md", ".json") else base
    return stem.with_name(stem.name + ".md"), stem.with_name(stem.name + ".json")


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
