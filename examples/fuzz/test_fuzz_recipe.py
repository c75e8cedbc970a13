"""The fuzzing recipe of docs/fuzzing.md, exactly: copy it, then put your downloader in.

A downloader under test meets a zip response cut where hypothesis chooses, framed
with Content-Length, chunked or close-delimited (where a cut looks complete). The
property, in three checks: the cut download fails, and fast (bounded failure);
it leaves nothing, or the whole zip, where it caches (no partial artifact);
once the fault clears, the next download returns exactly the right zip
(recovery). The naive downloader breaks the second; the careful one passes.
"""

import tempfile
from pathlib import Path

import pytest
from downloaders import careful_download, naive_download
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_gomodnet.checks import assert_failed_within, assert_no_partial_success
from pytest_gomodnet.faults import Truncate

MODULE, VERSION = "example.test/m", "v1.0.0"
PROXY = "https://proxy.test"
ZIP_URL = f"{PROXY}/{MODULE}/@v/{VERSION}.zip"
FILES = {f"f{i}.go": b"package m\n// " + bytes([65 + i]) * 300 + b"\n" for i in range(8)}
# Seconds a cut download may take to fail: the client's own timeouts must end it.
FAIL_WITHIN = 5.0


@pytest.fixture
def stored(gomodnet, module_store):
    """The module upstream; ``.h1`` and ``.zip_path`` are what a download must match."""
    gomodnet.add_goproxy("proxy.test", module_store)
    return module_store.add(MODULE, VERSION, files=FILES)


@pytest.fixture
def cuts(gomodnet, stored):
    """Where to cut: a framing, and an offset into the exact bytes a client receives
    for the zip in that framing."""
    return gomodnet.aimed_faults(ZIP_URL, kinds=[Truncate])


def naive(client, cache, stored):
    return naive_download(client, PROXY, MODULE, VERSION, cache)


def careful(client, cache, stored):
    return careful_download(client, PROXY, MODULE, VERSION, cache, h1=stored.h1)


@pytest.mark.parametrize(
    "download", [pytest.param(naive, marks=pytest.mark.xfail(strict=True)), careful]
)
# Fixtures are made once per test, not per example (hence the health check);
# gomodnet.example() gives every example its own faults and log instead.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_cut_download_fails_fast_leaves_nothing_and_recovers(
    gomodnet, stored, cuts, download, data
):
    cut = data.draw(cuts, label="cut")
    with (
        gomodnet.example() as example,
        tempfile.TemporaryDirectory() as cache,
        gomodnet.client() as client,
    ):
        cut.arm()  # frames the zip as drawn; the cut is for the next zip request only

        def fetch():
            return download(client, Path(cache), stored)

        assert_failed_within(FAIL_WITHIN, fetch, fault=cut.plan, log=example)
        cached = Path(cache, MODULE, "@v", f"{VERSION}.zip")
        left = cached if cached.exists() else None
        assert_no_partial_success(left, stored.h1, fault=cut.plan, log=example)
        assert_no_partial_success(fetch(), stored.h1, fault=cut.plan, log=example)
