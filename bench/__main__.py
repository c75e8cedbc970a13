"""``python -m bench [--quick]``: every speed and memory goal, measured in one run, one table.

Each row compares the plugin's path with a baseline measured in the same run on the
same machine, so the ratio means something even on a slow or busy box.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from . import (
    bench_conformance,
    bench_fuzz,
    bench_git,
    bench_go,
    bench_hash,
    bench_network,
    bench_router,
    bench_soak,
    bench_stalled,
    bench_zip,
)
from ._table import Row, print_table


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
        bench_soak.run,
        bench_stalled.run,
        bench_conformance.run,
    ]
    rows: list[Row] = []
    for suite in suites:
        started = time.monotonic()
        rows += suite(args.quick)
        print(f"  ({suite.__module__} took {time.monotonic() - started:.1f} s)", file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
