"""The conformance suite's wall time: every proxy case against the careful example mirror,
as a vendor's CI runs it (``pytest --gomodnet --gomodnet-proxy-cmd ...``), start to end."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from . import _best
from . import _table as table
from ._subprocess import TAIL, output_of

#: The budget for the whole run, in seconds.
BUDGET = 10.0
CAREFUL = (
    "{python} -m pytest_gomodnet.mirrors.careful_mirror --upstream {upstream} --port {port} "
    "--ca-bundle {ca_bundle} --proxy {router}"
)


def _suite_seconds() -> tuple[float, int]:
    """One run of the suite in a fresh directory: its wall time and the cases it passed."""
    with tempfile.TemporaryDirectory(prefix="gomodnet-bench-") as directory:
        command = [sys.executable, "-m", "pytest", "--gomodnet", "-q", "-p", "no:cacheprovider"]
        started = time.perf_counter()
        printed = output_of(
            [*command, "--gomodnet-proxy-cmd", CAREFUL], timeout=300, cwd=Path(directory)
        )
        seconds = time.perf_counter() - started
    passed = re.search(r"(\d+) passed", printed)
    if passed is None:
        raise RuntimeError(f"the conformance suite passed no case:\n{printed[-TAIL:]}")
    return seconds, int(passed[1])


def run(quick: bool) -> list[table.Row]:
    cases: list[int] = []

    def measure() -> float:
        seconds, passed = _suite_seconds()
        cases.append(passed)
        return seconds

    seconds = _best.best_times(1 if quick else 3, {"suite": measure})["suite"]
    print(f"  (conformance: {cases[-1]} proxy cases passed)", file=sys.stderr)
    return [
        table.Row("conformance suite vs careful mirror, wall s", seconds, BUDGET, "s",
                  "<= 10 s", seconds <= BUDGET),
    ]  # fmt: skip
