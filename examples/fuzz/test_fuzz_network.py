"""Fuzzing a downloader on the private network: hypothesis picks where the zip response ends.

The per-example work is explicit and cheap: the fixtures (network, store,
client) are made once per test; each example sets its own fault with
``gomodnet.fault(...)`` and uses a fresh cache directory.
"""

import contextlib
import tempfile
from pathlib import Path

import pytest
from downloaders import careful_download, naive_download
from hypothesis import HealthCheck, given, settings

from pytest_gomodnet.checks import assert_no_partial_success
from pytest_gomodnet.faults import Truncate
from pytest_gomodnet.strategies import truncation_points

MODULE, VERSION = "example.test/m", "v1.0.0"
NAIVE_BUG = pytest.mark.xfail(reason="caches a cut zip", strict=True)
PROXY = "https://proxy.test"
FILES = {f"f{i}.go": b"package m\n// " + bytes([65 + i % 26]) * 300 + b"\n" for i in range(8)}


@pytest.fixture
def world(gomodnet, module_store):
    stored = module_store.add(MODULE, VERSION, files=FILES)
    gomodnet.add_goproxy("proxy.test", module_store)
    response = gomodnet.response_bytes(f"{PROXY}/{MODULE}/@v/{VERSION}.zip")
    with gomodnet.client() as client:
        yield gomodnet, client, stored, response


@pytest.mark.parametrize(
    "download",
    [
        pytest.param(naive_download, marks=NAIVE_BUG),
        careful_download,
    ],
    ids=["naive", "careful"],
)
def test_a_cut_is_never_remembered(world, download):
    net, client, stored, response = world
    zip_bytes = stored.zip_path.read_bytes()
    assert response.endswith(zip_bytes)
    options = {"h1": stored.h1} if download is careful_download else {}

    @settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(at=truncation_points(response))
    def check(at):
        with tempfile.TemporaryDirectory() as cache:  # fresh per example
            net.fault("proxy.test", Truncate(at), None, path="*.zip")  # the fault, per example
            with contextlib.suppress(Exception):
                download(client, PROXY, MODULE, VERSION, Path(cache), **options)
            again = download(client, PROXY, MODULE, VERSION, Path(cache), **options)
            assert_no_partial_success(again, zip_bytes, fault=Truncate(at), log=net.log[-3:])

    check()
