"""The bench table: one row a measurement, its baseline, the goal and whether it is met."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Row:
    name: str
    measured: float
    baseline: float
    unit: str
    goal: str
    met: bool | None  # None: a row for information, with no goal of its own

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("nan")


def _verdict(met: bool | None) -> str:
    return "-" if met is None else "yes" if met else "NO"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            models = (line.split(":", 1)[1] for line in info if line.startswith("model name"))
            cpu = next(models).strip()
    except (OSError, StopIteration):
        pass
    go = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "go"), "version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {go or 'no go'}"


def print_table(rows: list[Row]) -> None:
    print(f"machine: {machine()}")
    header = f"{'benchmark':<52} {'measured':>14} {'baseline':>14} {'ratio':>7}  {'goal':<12} met"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.name:<52} {row.measured:>10.1f} {row.unit:<3} {row.baseline:>10.1f} "
            f"{row.unit:<3} {row.ratio:>6.2f}x  {row.goal:<12} {_verdict(row.met)}"
        )
