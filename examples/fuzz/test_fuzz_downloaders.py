"""Fuzz two downloaders with truncated responses: hypothesis finds the naive one's bug.

The property: whatever happened to the first download, a second, clean
download returns exactly the right zip. The naive downloader breaks it (it
caches whatever arrived before the cut); hypothesis finds that within its
default budget and shrinks the cut to the first byte after the headers. Run
``pytest examples/fuzz --runxfail`` to see the counterexample.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from pathlib import Path

import httpx
import pytest
from cutserver import CutServer
from downloaders import careful_download, naive_download
from hypothesis import HealthCheck, given, settings

from pytest_gomodnet.checks import assert_no_partial_success
from pytest_gomodnet.modules import zip_h1
from pytest_gomodnet.strategies import truncation_points

MODULE, VERSION = "example.test/m", "v1.0.0"


def _module_zip() -> bytes:
    buffer = io.BytesIO()
    files = {"go.mod": f"module {MODULE}\n\ngo 1.21\n"}
    files.update({f"f{n}.go": f"package m\n\nconst F{n} = {n}\n" * 20 for n in range(8)})
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            # A fixed timestamp keeps the zip (and the offsets below) the same on every run.
            entry = zipfile.ZipInfo(f"{MODULE}@{VERSION}/{name}", date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(entry, text, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


ZIP = _module_zip()
H1 = zip_h1(ZIP)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ZIP)
) + ZIP
BODY_START = RESPONSE.index(b"\r\n\r\n") + 4


def naive(client: httpx.Client, proxy: str, cache: Path) -> Path:
    return naive_download(client, proxy, MODULE, VERSION, cache)


def careful(client: httpx.Client, proxy: str, cache: Path) -> Path:
    return careful_download(client, proxy, MODULE, VERSION, cache, h1=H1)


# Hypothesis runs the test body once per example but the fixtures once per
# test: the server and client are shared, and everything an example needs
# fresh (the cut, the cache directory) is set up inside the body.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=truncation_points(RESPONSE))
@pytest.mark.parametrize(
    "download",
    [
        pytest.param(naive, marks=pytest.mark.xfail(strict=True, reason="caches a cut zip")),
        careful,
    ],
)
def test_a_clean_retry_returns_the_whole_zip(
    cut_server: CutServer, client: httpx.Client, download, at: int
) -> None:
    cut_server.response = RESPONSE
    with tempfile.TemporaryDirectory() as cache:
        cut_server.cut = at
        # Failing on a cut response is right; what matters is what it left behind.
        with contextlib.suppress(Exception):
            download(client, cut_server.url, Path(cache))
        cut_server.cut = None
        again = download(client, cut_server.url, Path(cache))
        assert_no_partial_success(again, ZIP, fault=f"first response cut after {at} bytes")
