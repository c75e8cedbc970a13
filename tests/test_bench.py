"""The benchmark command runs and prints its table (a smoke test: no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import require_program

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_bench_quick_prints_every_row(go) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert result.returncode == 0, (
        f"python -m bench --quick exited {result.returncode}:\n{result.stderr[-4000:]}"
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("machine: ")
    assert lines[1].split() == ["benchmark", "measured", "baseline", "ratio", "goal", "met"]
    names = [line[:52].strip() for line in lines[3:]]
    assert names == [
        "Router conns/s, plain HTTP (vs bare asyncio)",
        "Router conns/s, plain, handler in a worker (info)",
        "Router conns/s, TLS terminated (vs bare TLS)",
        "Router c/s, TLS terminated (vs bare tunnel, info)",
        "Router conns/s, TLS relayed (vs bare TLS)",
        "fuzz e/s, Router+TLS (vs httpserver per example)",
        "fuzz e/s, Router+TLS (vs bare asyncio TLS)",
        "fuzz e/s, Router+TLS (vs bare tunnel, info)",
        "fuzz e/s, default aimed_faults (vs bare asyncio TLS)",
        "fuzz e/s, Router+TLS over HTTP/2 (vs over HTTP/1.1)",
        "h1 of a zip, MB/s (vs hashlib.sha256)",
        "3-host TLS network set-up + teardown, ms (median)",
        "adding a checksum database (key, host), ms (median)",
        "go mod download 3 modules, ms (vs file://)",
        "go mod download, HTTP/1.1 only (vs file://, info)",
        "go mod download, Go net/http server, plain (info)",
        "go mod download 3 modules (vs Go net/http server)",
        "go mod download 3 modules, GOSUMDB on (vs off)",
        "GitHost, 3-version repo ready, ms (vs git init)",
        "go mod download via git, ms (vs GoProxy)",
        "go mod download via git, server share, % (info)",
        "zip 4 MiB, Router+TLS+faults, MB/s (vs raw copy)",
        "zip 4 MiB, HTTP/1.1 only (vs raw copy, info)",
        "zip 4 MiB, serving peak RSS growth, MiB",
        "soak 500 conns: Router c/s (vs bare asyncio, info)",
        "soak 500 conns: RSS growth after reset, MiB",
        "soak 500 conns: RSS growth with its log, MiB (info)",
        "soak 500 conns: file descriptors left open",
        "2x5 stalled 16 MiB zips, RSS held, MiB",
        "2x5 stalled, RSS untrimmed, MiB (info)",
        "conformance suite vs careful mirror, wall s",
    ]


def _python(script: str) -> subprocess.CompletedProcess[str]:
    """``python -c script`` from the checkout, where ``bench`` imports."""
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_a_failing_bench_helper_shows_its_exit_status_and_output() -> None:
    helper = "import sys; print('half a table'); sys.exit('the zip server broke')"
    script = (
        "import sys\n"
        "from bench._subprocess import output_of\n"
        f"output_of([sys.executable, '-c', {helper!r}], timeout=60)\n"
    )
    result = _python(script)
    assert result.returncode == 1
    assert "exited 1\n--- its stdout (tail) ---\nhalf a table\n" in result.stderr
    assert "--- its stderr (tail) ---\nthe zip server broke\n" in result.stderr
    assert "bench._subprocess.HelperFailed" in result.stderr


@pytest.mark.slow
def test_instructions_counts_a_connection_of_the_tree_it_is_given() -> None:
    require_program("valgrind")
    script = (
        "from pathlib import Path\n"
        "from bench.instructions import per_connection\n"
        "print(round(per_connection(Path('.'), 'plain', (1, 3))))\n"
    )
    done = _python(script)
    assert done.returncode == 0, done.stderr[-3000:]
    # A plain connection through the Router costs several hundred thousand instructions
    # (about 860,000 on 2026-12-03); an empty or broken workload would count near zero.
    assert 100_000 < int(done.stdout) < 10_000_000, done.stdout


def test_instructions_refuse_a_tree_whose_package_would_not_be_the_one_loaded(tmp_path) -> None:
    (tmp_path / "pytest_gomodnet").mkdir()  # a tree with no real package: the venv's loads
    script = (
        "from pathlib import Path\n"
        "from bench.instructions import check_tree\n"
        f"check_tree(Path({str(tmp_path)!r}))\n"
    )
    done = _python(script)
    assert done.returncode == 1
    wanted = (tmp_path / "pytest_gomodnet").resolve()
    assert (
        f"bench._subprocess.HelperFailed: {tmp_path} would not be measured: importing "
        f"pytest_gomodnet with it first on the path loaded {ROOT.resolve() / 'pytest_gomodnet'} "
        f"(wanted {wanted})"
    ) in done.stderr


def test_instructions_accept_another_tree_even_from_this_checkout(tmp_path) -> None:
    # Run from the checkout, whose own package would shadow the tree's were the current
    # directory on the path (as it is for ``python -c``; the workload is a script).
    (tmp_path / "pytest_gomodnet").mkdir()
    (tmp_path / "pytest_gomodnet" / "__init__.py").write_text("")
    done = _python(
        "from pathlib import Path\nfrom bench.instructions import check_tree\n"
        f"check_tree(Path({str(tmp_path)!r}))\n"
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_ab_difference_is_the_mean_of_each_pairs_ratio_with_students_interval() -> None:
    done = _python(
        "from bench.ab import difference\n"
        "steady = [[100, 100], [200, 200], [50, 50]], [[110, 110], [220, 220], [55, 55]]\n"
        "for old, new in [steady, ([[100.0], [100.0]], [[110.0], [90.0]])]:\n"
        "    d = difference(old, new)\n"
        "    print(round(d.mean, 9), round(d.half_width, 9), d.faster, d.pairs)\n"
        "difference([[1.0]], [[1.0]])\n"
    )
    # Each pair +10 %: no spread. Then +10 % and -10 %: mean 0, stdev 0.1414, t(1) 12.706.
    assert done.stdout.splitlines() == ["0.1 0.0 3 3", "0.0 1.2706 1 2"]
    assert "ValueError: need two process pairs or more, got 1 and 1" in done.stderr


def _ab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.ab", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_ab_compares_each_new_tree_with_the_old_in_one_run() -> None:
    done = _ab(".", ".", str(ROOT), "--mode", "tls", "--client", "here", "--pairs", "2",
               "--rounds", "1", "--count", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    header, *rows = done.stdout.splitlines()
    assert header == (
        "mode   client     new vs old (95 %)  new faster in   router CPU/conn (95 %)  new"
    )
    assert len(rows) == 2
    spread = r"[+-]\d+\.\d\d % ± \d+\.\d\d"
    for row, tree in zip(rows, [".", str(ROOT)], strict=True):
        pattern = rf"tls +here +{spread} +[012]/2 +{spread}  " + re.escape(tree)
        assert re.fullmatch(pattern, row), row


def test_ab_runs_everything_on_the_cpu_asked_for(tmp_path) -> None:
    """Every worker runs on the CPU asked for: the driver pins itself, the workers inherit it."""
    shown = tmp_path / "affinity"
    probe = tmp_path / "sitecustomize.py"  # loaded by each worker: PYTHONPATH holds it
    probe.write_text(
        "import os, sys\n"
        "if sys.argv[1:2] == ['serve']:\n"
        f"    open({str(shown)!r}, 'a').write(f'{{sorted(os.sched_getaffinity(0))}}\\n')\n"
    )
    (tmp_path / "pytest_gomodnet").symlink_to(ROOT / "pytest_gomodnet")
    cpu = max(os.sched_getaffinity(0))
    done = _ab(str(tmp_path), str(tmp_path), "--mode", "plain", "--client", "apart",
               "--pairs", "2", "--rounds", "1", "--count", "3", "--cpu", str(cpu))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert shown.read_text().splitlines() == [f"[{cpu}]"] * 4  # two trees, two sets
    assert len(done.stdout.splitlines()) == 2


def test_ab_refuses_a_cpu_it_may_not_run_on() -> None:
    done = _ab(".", ".", "--cpu", "4096")
    allowed = sorted(os.sched_getaffinity(0))
    assert done.returncode == 2
    assert f"--cpu 4096: this process may run on CPUs {allowed} only" in done.stderr


def test_ab_names_a_tree_whose_router_never_served(tmp_path) -> None:
    package = tmp_path / "pytest_gomodnet"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "faultproxy.py").write_text("raise RuntimeError('no Router in this tree')\n")
    done = _ab(".", str(tmp_path), "--mode", "plain", "--client", "apart", "--pairs", "2",
               "--rounds", "1", "--count", "3")  # fmt: skip
    assert done.returncode == 1
    assert "bench._subprocess.HelperFailed: " in done.stderr
    assert " serve plain " in done.stderr
    assert " answered nothing:\n" in done.stderr
    assert "RuntimeError: no Router in this tree" in done.stderr
