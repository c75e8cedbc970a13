"""Setting up a gomodnet network of 3 TLS hosts on a warm backbone (what each test pays),
and what adding a checksum database to it costs (a fresh Ed25519 key, one more host)."""

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
    samples, sumdb_samples = [], []
    with tempfile.TemporaryDirectory() as tmp, ModuleStore() as store:
        directory = Path(tmp)
        with Backbone(GomodnetCA(directory / "ca"), directory) as backbone:
            for i in range(rounds + 1):
                started = time.perf_counter()
                with backbone.network() as net:
                    net.add_goproxy("proxy.test", store)
                    net.add_goimport("example.test", shape="missing-intermediate")
                    net.add_goproxy("mirror.test", store, shape="expired-leaf")
                    added = time.perf_counter()
                    net.add_sumdb("sum.test")
                    sumdb_ms = (time.perf_counter() - added) * 1000
                if i:  # the first round issues the chains: the session pays it once
                    samples.append((time.perf_counter() - started) * 1000 - sumdb_ms)
                    sumdb_samples.append(sumdb_ms)
    median, sumdb_median = statistics.median(samples), statistics.median(sumdb_samples)
    return [
        table.Row("3-host TLS network set-up + teardown, ms (median)", median, 50.0, "ms",
                  "< 50 ms", median < 50.0),
        table.Row("adding a checksum database (key, host), ms (median)", sumdb_median, 20.0,
                  "ms", "< 20 ms", sumdb_median < 20.0),
    ]  # fmt: skip
