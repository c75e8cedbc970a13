"""``python -m bench.ab OLD NEW [NEW ...]``: is each NEW's Router faster or slower than
OLD's, and by how much, in wall clock, with a 95 % confidence interval.

A table row's ratio is a best of five rounds over a baseline measured in the same
process: two runs of one commit differ by more than the 1-2 % a change to the proxy
core makes, so that ratio cannot tell such a change apart. Here the trees serve
at once, each in a process of its own (``bench/_workload.py serve``), and take turns
of ``count`` connections, ``rounds`` turns each, the order rotating; a process
set gives one figure a NEW (its mean rate over OLD's), and ``pairs`` fresh sets give
the interval, since a process's own layout (addresses, hash seed) moves its rate by
as much as a change does. Trees to be compared with each other belong in one run:
two runs of the same trees have differed by more than their intervals (the host's
state moves between runs), the trees of one run share it. The client is either in the
Router's process, as a Python test's client is, sharing its interpreter lock
(``here``), or in this process (``apart``), as go or curl would be. Each TREE is as
for :mod:`bench.instructions`.

Beside the rate, the CPU time the Router's own thread spends a connection, compared the
same way: it leaves out the client and the waits, so it moves less. ``--cpu N`` runs
everything on CPU N. On a virtual machine, a client and a Router on two CPUs spend much
of a connection waking each other's idle CPU (on 2026-12-04, a plain connection took 380
µs so and 215 µs on one CPU), and how much depends on how much code and data each
connection brings back into a cold cache: on one CPU, that share of the noise is gone.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ._subprocess import TAIL, HelperFailed
from ._workload import connect, contexts, write_certificates
from .instructions import MODES, WORKLOAD, ready_tree, tree_environment

PLACES = ("here", "apart")
#: Connections a turn: a turn of either mode takes about a third of a second.
COUNT = {"plain": 1000, "tls": 150}
#: The table's first line: a row a NEW tree, its rate and its Router's CPU time a connection.
HEADER = (
    f"{'mode':<6} {'client':<7} {'new vs old (95 %)':>20} {'new faster in':>14}"
    f" {'router CPU/conn (95 %)':>24}  new"
)
#: The longest a worker may take to start, or to answer one turn.
WORKER_TIMEOUT = 120.0
#: Student's t at 97.5 % for 1-30 degrees of freedom; beyond, the normal's 1.96 is near.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


@dataclass(frozen=True)
class Difference:
    """NEW against OLD over process pairs: the mean relative difference of their rates,
    the half width of its 95 % interval, and in how many pairs NEW was the faster."""

    mean: float
    half_width: float
    faster: int
    pairs: int


def difference(old: list[list[float]], new: list[list[float]]) -> Difference:
    """The :class:`Difference` of the figures of each pair's turns (``old[i]``, ``new[i]``):
    its ``faster`` counts the pairs where NEW's figure was the higher."""
    if len(old) != len(new) or len(old) < 2:
        raise ValueError(f"need two process pairs or more, got {len(old)} and {len(new)}")
    each = [statistics.mean(n) / statistics.mean(o) - 1 for o, n in zip(old, new, strict=True)]
    t = _T975[len(each) - 2] if len(each) - 1 <= len(_T975) else 1.96
    half_width = t * statistics.stdev(each) / len(each) ** 0.5
    return Difference(statistics.mean(each), half_width, sum(d > 0 for d in each), len(each))


class _Worker:
    """One tree's Router in a process of its own, answering turns."""

    def __init__(self, tree: Path, mode: str, certificates: Path) -> None:
        command = [sys.executable, "-P", str(WORKLOAD), "serve", mode, str(certificates)]
        self._command = " ".join(command)
        self._process = subprocess.Popen(
            command, env=tree_environment(tree, fixed_hash=False), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.port = int(self._line())

    def turn(self, count: int) -> tuple[float, float]:
        """Make ``count`` connections from inside the worker (0: none); the seconds they
        took and the CPU seconds the Router's thread has used so far."""
        assert self._process.stdin is not None
        self._process.stdin.write(f"{count}\n")
        self._process.stdin.flush()
        seconds, router_cpu = self._line().split()
        return float(seconds), float(router_cpu)

    def _line(self) -> str:
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], WORKER_TIMEOUT)
        line = stdout.readline() if ready else ""
        if not line:
            self._process.kill()
            _, stderr = self._process.communicate(timeout=WORKER_TIMEOUT)
            why = "answered nothing" if ready else f"gave no answer in {WORKER_TIMEOUT:g} s"
            raise HelperFailed(f"{self._command} {why}:\n{stderr[-TAIL:]}")
        return line

    def close(self) -> None:
        """End the worker (its stdin closed ends its serving), killed if it lingers."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise HelperFailed(f"{self._command} did not end within {WORKER_TIMEOUT:g} s") from None


@contextmanager
def _workers(trees: list[Path], mode: str, certificates: Path) -> Iterator[list[_Worker]]:
    started: list[_Worker] = []
    try:
        for tree in trees:
            started.append(_Worker(tree, mode, certificates))
        yield started
    finally:
        for worker in started:
            worker.close()


@dataclass
class _Turns:
    """One tree's figures, a list a process set: rates, and Router CPU a connection."""

    rates: list[list[float]] = field(default_factory=list)
    router_cpu: list[list[float]] = field(default_factory=list)

    def new_set(self) -> None:
        self.rates.append([])
        self.router_cpu.append([])

    def add(self, rate: float, router_cpu: float) -> None:
        self.rates[-1].append(rate)
        self.router_cpu[-1].append(router_cpu)


def compare(
    old: Path, new: list[Path], mode: str, place: str, *, pairs: int, rounds: int, count: int
) -> list[tuple[Difference, Difference]]:
    """``pairs`` fresh process sets of OLD and each NEW taking ``rounds`` turns each: each
    NEW's difference from OLD in rate and in the Router's CPU time a connection."""
    with tempfile.TemporaryDirectory() as scratch:
        write_certificates(Path(scratch))
        _, client = contexts(Path(scratch))

        def measure(worker: _Worker) -> tuple[float, float]:
            _, cpu_before = worker.turn(0)
            if place == "here":
                seconds, cpu_after = worker.turn(count)
            else:
                started = time.perf_counter()
                connect(mode, worker.port, client, count)
                seconds = time.perf_counter() - started
                _, cpu_after = worker.turn(0)
            return count / seconds, (cpu_after - cpu_before) / count

        trees = [old, *new]
        turns = [_Turns() for _ in trees]
        for pair in range(pairs):
            with _workers(trees, mode, Path(scratch)) as workers:
                for worker in workers:  # the first turn of a process is slow
                    measure(worker)
                for kept in turns:
                    kept.new_set()
                for turn in range(rounds):
                    for step in range(len(trees)):
                        side = (step + pair + turn) % len(trees)
                        turns[side].add(*measure(workers[side]))
    return [
        (difference(turns[0].rates, each.rates), difference(turns[0].router_cpu, each.router_cpu))
        for each in turns[1:]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="+")
    parser.add_argument("--mode", choices=MODES, action="append", help="default: both")
    parser.add_argument("--client", choices=PLACES, action="append", help="default: both")
    parser.add_argument("--pairs", type=int, default=10, help="fresh process sets (default 10)")
    parser.add_argument("--rounds", type=int, default=20, help="turns a process (default 20)")
    parser.add_argument("--count", type=int, help="connections a turn (1000 plain, 150 TLS)")
    parser.add_argument("--cpu", type=int, help="run every process on this CPU alone")
    args = parser.parse_args()
    if args.pairs < 2 or args.rounds < 1 or (args.count is not None and args.count < 1):
        parser.error("--pairs needs 2 or more, --rounds and --count 1 or more")
    if args.cpu is not None:
        allowed = sorted(os.sched_getaffinity(0))
        if args.cpu not in allowed:
            parser.error(f"--cpu {args.cpu}: this process may run on CPUs {allowed} only")
        os.sched_setaffinity(0, {args.cpu})  # the workers inherit it
    for tree in (args.old, *args.new):
        ready_tree(tree)
    print(HEADER)
    for mode in args.mode or MODES:
        for place in args.client or PLACES:
            found = compare(
                args.old, args.new, mode, place, pairs=args.pairs, rounds=args.rounds,
                count=args.count or COUNT[mode],
            )  # fmt: skip
            for tree, (rate, router_cpu) in zip(args.new, found, strict=True):
                print(f"{mode:<6} {place:<7} {_spread(rate):>20} {rate.faster:>8}/{rate.pairs}"
                      f" {_spread(router_cpu):>24}  {tree}", flush=True)  # fmt: skip


def _spread(found: Difference) -> str:
    return f"{found.mean * 100:+.2f} % ± {found.half_width * 100:.2f}"


if __name__ == "__main__":
    main()
