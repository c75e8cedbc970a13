"""``python -m bench [--quick]``: every speed and memory goal, measured in one run, one table.

Each row compares the plugin's path with a baseline measured in the same run on the
same machine, so the ratio means something even on a slow or busy box.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import bench_fuzz, bench_git, bench_go, bench_hash, bench_network, bench_router, bench_zip


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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args()
    suites: list[Callable[[bool], list[Row]]] = [
        bench_router.run,
        bench_fuzz.run,
        bench_hash.run,
        bench_network.run,
        bench_go.run,
        bench_git.run,
        bench_zip.run,
    ]
    rows: list[Row] = []
    for suite in suites:
        started = time.monotonic()
        rows += suite(args.quick)
        print(f"  ({suite.__module__} took {time.monotonic() - started:.1f} s)", file=sys.stderr)
    print(f"machine: {machine()}")
    header = f"{'benchmark':<52} {'measured':>14} {'baseline':>14} {'ratio':>7}  {'goal':<12} met"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.name:<52} {row.measured:>10.1f} {row.unit:<3} {row.baseline:>10.1f} "
            f"{row.unit:<3} {row.ratio:>6.2f}x  {row.goal:<12} {_verdict(row.met)}"
        )


if __name__ == "__main__":
    main()
