"""A 200 MiB module zip through GoProxy, the Router (TLS terminated) and the fault engine.

Throughput is compared with a raw socket copy of the same file over loopback
(read + sendall in 1 MiB blocks after a two-line head; no TLS, no fault engine).
Both servers run in one subprocess (bench/_zip_server.py); the client is curl for
both, since a Python TLS client tops out near the rate being measured (it reads
one 16 KiB TLS record per call). Memory is that subprocess's peak RSS during the
Router downloads minus its RSS just before: what serving the zip costs, not
building it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

from . import _best
from . import _table as table
from ._subprocess import output_of

ROUNDS = 3
TIMEOUT = 120.0


def _curl(url: str, *options: str) -> tuple[float, int]:
    """Seconds and bytes of one download with curl (its own timing, not its start-up)."""
    written = output_of(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download}",
         "--max-time", str(TIMEOUT), *options, url],
        timeout=TIMEOUT + 10,
    )  # fmt: skip
    seconds, size = written.split()
    return float(seconds), int(size)


def _rate(url: str, size: int, *options: str) -> float:
    seconds, received = _curl(url, *options)
    assert received == size, (received, size)
    return size / seconds / 1e6


def _ask(server: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert server.stdin is not None
    server.stdin.write(command + "\n")
    server.stdin.flush()
    return _reply(server)


def _reply(server: subprocess.Popen[str]) -> dict[str, Any]:
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        raise RuntimeError("the zip server exited early (see its stderr above)")
    reply: dict[str, Any] = json.loads(line)
    return reply


def _measure(server: subprocess.Popen[str]) -> dict[str, Any]:
    info = _reply(server)
    through_router = ("--proxy", info["router"], "--cacert", info["ca"])
    before = _ask(server, "mark")
    _rate(info["url"], info["size"], *through_router)
    after = _ask(server, "peak")
    rate = _best.best_rates(ROUNDS, {
        "routed": lambda: _rate(info["url"], info["size"], *through_router),
        "copied": lambda: _rate(f"http://127.0.0.1:{info['raw']}/", info["size"]),
        "http1": lambda: _rate(info["url"], info["size"], "--http1.1", *through_router),
    })  # fmt: skip
    return {
        "routed": rate["routed"],
        "http1": rate["http1"],
        "copied": rate["copied"],
        "growth": (after["VmHWM"] - before["VmRSS"]) / 1024,
    }


def run(quick: bool) -> list[table.Row]:
    size = (4 if quick else 200) << 20
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "bench._zip_server", tmp, str(size)]
        pipe = subprocess.PIPE
        with subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True) as server:
            try:
                result = _measure(server)
            finally:
                server.communicate("quit\n", timeout=TIMEOUT)
    routed, copied, growth = result["routed"], result["copied"], result["growth"]
    mib = size >> 20
    return [
        table.Row(f"zip {mib} MiB, Router+TLS+faults, MB/s (vs raw copy)", routed, copied,
                  "MB/s", ">= 0.5x", routed / copied >= 0.5),
        table.Row(f"zip {mib} MiB, HTTP/1.1 only (vs raw copy, info)", result["http1"],
                  copied, "MB/s", "-", None),
        table.Row(f"zip {mib} MiB, serving peak RSS growth, MiB", growth, 50.0, "MiB",
                  "< 50 MiB", growth < 50.0),
    ]  # fmt: skip
