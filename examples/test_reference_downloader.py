"""The go command's fault matrix, run with a careful httpx downloader instead.

For every fault in tests/test_e2e_go.py's matrix, a well-behaved Python client
must fail loudly and cache nothing, then succeed once the network heals.
"""

import sys
from pathlib import Path

import httpx
import pytest

from pytest_gomodnet.faults import (
    ChunkedCut,
    Corrupt,
    HtmlLogin,
    LieContentLength,
    Reset,
    Stall,
    Status,
    Truncate,
)

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from downloaders import DownloadError, careful_download

MODULE, VERSION = "example.test/m", "v1.0.0"
FAULTS = {
    "cut mid-body": Truncate(200, where="body"),
    "cut at the last byte": Truncate(-1, where="body-end"),
    "cut in the headers": Truncate(20),
    "lying Content-Length": LieContentLength(100),
    "chunked and cut": ChunkedCut(100),
    "reset mid-body": Reset(200, where="body"),
    "stalled then closed": Stall(100, seconds=0.3, where="body"),
    "one flipped byte": Corrupt(300, where="body"),
    "HTML login page": HtmlLogin(),
    "500": Status(500, b"boom\n"),
    "410": Status(410, b"gone\n"),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=list(FAULTS))
def test_careful_client_fails_then_heals(gomodnet, module_store, tmp_path, fault):
    stored = module_store.add(MODULE, VERSION, files={"m.go": b"package m\n" * 50})
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", fault, None, path="*.zip")
    with gomodnet.client() as client:
        with pytest.raises((DownloadError, httpx.HTTPError)):
            careful_download(client, "https://proxy.test", MODULE, VERSION, tmp_path, h1=stored.h1)
        assert not list(tmp_path.rglob("*.zip"))  # nothing cached after the failure
        cached = careful_download(
            client, "https://proxy.test", MODULE, VERSION, tmp_path, h1=stored.h1
        )
    assert cached.read_bytes() == stored.zip_path.read_bytes()
