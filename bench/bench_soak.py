"""10,000 connections through the Router, one after another: their rate, and what they
leave behind (open file descriptors, resident memory), which must stay flat.

Measured in a fresh process (``python -m bench.bench_soak COUNT`` prints the figures
as JSON): memory other rows freed would otherwise hide any growth."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import sys
import time
from pathlib import Path

from werkzeug import Response

from pytest_gomodnet.faultproxy import Router
from pytest_gomodnet.origin import Origin

from . import _table as table
from ._bare import BareServer
from ._subprocess import output_of
from .bench_router import BODY, _get, _plain_rate, _sample_response


def _rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+)", status)
    assert match is not None
    return int(match[1]) / 1024


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settled() -> tuple[float, int]:
    gc.collect()
    time.sleep(0.2)  # the Router's loop closes the last connections
    return _rss_mib(), _open_fds()


def measure(count: int) -> dict[str, float]:
    """The soak in this process: rates, RSS before, after and after reset, fds."""
    with contextlib.ExitStack() as stack:
        origin, router = stack.enter_context(Origin()), stack.enter_context(Router())
        origin.route("plain.test", lambda r: Response(BODY, content_type="application/zip"))
        router.add_host("plain.test", origin.url, app=origin.dispatch, inline=True)
        request = _get("plain.test")
        bare = stack.enter_context(BareServer(_sample_response(router.port, request)))
        bare_rate = _plain_rate(bare.port, request, count // 5)
        _plain_rate(router.port, request, 200)  # warm: first-use allocations are not growth
        rss_before, fds_before = _settled()
        rate = _plain_rate(router.port, request, count)
        rss_after, fds_after = _settled()
        router.reset()  # the log of `count` connections is the test's to keep, not a leak
        rss_reset, _ = _settled()
    return {
        "rate": rate,
        "bare_rate": bare_rate,
        "growth": rss_reset - rss_before,
        "with_log": rss_after - rss_before,
        "fds": fds_after - fds_before,
    }


def run(quick: bool) -> list[table.Row]:
    count = 500 if quick else 10_000
    figures = json.loads(
        output_of([sys.executable, "-m", "bench.bench_soak", str(count)], timeout=600)
    )
    rate, bare_rate, growth = figures["rate"], figures["bare_rate"], figures["growth"]
    fds = int(figures["fds"])
    name = f"soak {count:,} conns"
    return [
        table.Row(f"{name}: Router c/s (vs bare asyncio, info)", rate, bare_rate, "c/s",
                  "-", None),
        table.Row(f"{name}: RSS growth after reset, MiB", growth, 10.0, "MiB", "< 10 MiB",
                  growth < 10.0),
        table.Row(f"{name}: RSS growth with its log, MiB (info)", figures["with_log"],
                  10.0, "MiB", "-", None),
        table.Row(f"{name}: file descriptors left open", fds, 1.0, "fds", "0", fds == 0),
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
