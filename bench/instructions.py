"""``python -m bench.instructions [TREE ...]``: instructions per Router connection, counted.

Wall-clock ratios on a shared machine swing by a fifth between runs; the number of
instructions a connection costs moves by less than half a percent. Each TREE is a
directory holding a ``pytest_gomodnet`` package (a checkout's root, or its ``src``
before the package moved), so two commits can be held side by side: ``git worktree add
/tmp/old REV`` and pass both. The workload (``bench/_workload.py``) runs under
valgrind's callgrind twice, with few and with many connections; the difference, over
the difference in connections, is one connection's cost: client and Router together,
the start-up cancelled out. Needs valgrind (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import sys
from pathlib import Path

from ._subprocess import TAIL, HelperFailed, finished

WORKLOAD = Path(__file__).with_name("_workload.py")
MODES = ("plain", "tls")
#: Connections in the short and the long run; their difference is what is divided.
FEW = {"plain": (20, 220), "tls": (20, 120)}


def tree_environment(tree: Path, *, fixed_hash: bool = True) -> dict[str, str]:
    """The environment a helper runs in to load ``tree``'s package. The hash seed is fixed
    for a count (one run is then the same as the next); a wall-clock A/B leaves it
    random, so that each process's layout luck averages out over many."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    if fixed_hash:
        environment["PYTHONHASHSEED"] = "0"
    return environment


def check_tree(tree: Path) -> None:
    """HelperFailed unless ``import pytest_gomodnet`` with ``tree`` first on the path loads
    the tree's own package (an installed one would be counted in its place)."""
    wanted = Path(tree, "pytest_gomodnet").resolve()
    # -P: no current directory on the path, as the workload (a script) has none.
    printed = finished(
        [sys.executable, "-P", "-c", "import pytest_gomodnet; print(pytest_gomodnet.__file__)"],
        env=tree_environment(tree), timeout=60,
    ).stdout  # fmt: skip
    loaded = Path(printed.strip()).resolve().parent
    if loaded != wanted:
        raise HelperFailed(
            f"{tree} would not be measured: importing pytest_gomodnet with it first on the "
            f"path loaded {loaded} (wanted {wanted})"
        )


def ready_tree(tree: Path) -> None:
    """Check that ``tree``'s package is the one loaded, and compile it first: a run that
    compiled it would measure the compiler too."""
    check_tree(tree)
    compileall.compile_dir(tree / "pytest_gomodnet", quiet=1)


def count(tree: Path, mode: str, connections: int) -> int:
    """Instructions the whole workload took under callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, str(WORKLOAD), mode, str(connections)]  # fmt: skip
    report = finished(command, env=tree_environment(tree), timeout=1800).stderr
    collected = re.search(r"Collected : (\d+)", report)
    if collected is None:
        raise HelperFailed(f"callgrind printed no count for {tree}:\n{report[-TAIL:]}")
    return int(collected[1])


def per_connection(tree: Path, mode: str, counts: tuple[int, int] | None = None) -> float:
    """One connection's instructions: the runs of ``counts`` (few, many) connections,
    their difference divided."""
    few, many = counts or FEW[mode]
    ready_tree(tree)
    return (count(tree, mode, many) - count(tree, mode, few)) / (many - few)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("trees", nargs="*", type=Path, default=[Path(__file__).parent.parent])
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    first: dict[str, float] = {}
    print(f"{'tree':<40} {'mode':<6} {'instructions/conn':>18} {'vs first':>9}")
    for tree in args.trees:
        for mode in MODES:
            each = per_connection(tree, mode)
            first.setdefault(mode, each)
            print(f"{tree!s:<40} {mode:<6} {each:>18,.0f} {each / first[mode]:>8.3f}x", flush=True)


if __name__ == "__main__":
    main()
