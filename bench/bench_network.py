"""Setting up a gomodnet network of 3 TLS hosts on a warm backbone (what each test pays)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Backbone
from pytest_gomodnet.tls import GomodnetCA

from . import __main__ as table


def run(quick: bool) -> list[table.Row]:
    rounds = 10 if quick else 100
    samples = []
    with tempfile.TemporaryDirectory() as tmp, ModuleStore() as store:
        directory = Path(tmp)
        with Backbone(GomodnetCA(directory / "ca"), directory) as backbone:
            for i in range(rounds + 1):
                started = time.perf_counter()
                with backbone.network() as net:
                    net.add_goproxy("proxy.test", store)
                    net.add_goimport("example.test", shape="missing-intermediate")
                    net.add_goproxy("mirror.test", store, shape="expired-leaf")
                if i:  # the first round issues the chains: the session pays it once
                    samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    return [
        table.Row("3-host TLS network set-up + teardown, ms (median)", median, 50.0, "ms",
                  "< 50 ms", median < 50.0),
    ]  # fmt: skip
