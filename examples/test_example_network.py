"""The main example: the real go command and an httpx downloader on a private internet.

``proxy.test`` is a GOPROXY server with its own TLS chain, reached through the
plugin's Router. Each test sets one fault and asserts what the client does.
"""

import sys
from pathlib import Path

import httpx
import pytest

from pytest_gomodnet.faults import Truncate

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from downloaders import DownloadError, careful_download, naive_download

MODULE, VERSION = "example.test/m", "v1.0.0"
ZIP_URL = f"https://proxy.test/{MODULE}/@v/{VERSION}.zip"


@pytest.fixture
def net(gomodnet, module_store):
    module_store.add(MODULE, VERSION, files={"m.go": b"package m\n\nconst Answer = 42\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    return gomodnet


def test_go_downloads_and_writes_our_go_sum(net, module_store, go, tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work/go.mod").write_text("module example.test/app\n\ngo 1.27\n")
    go.run("get", f"{MODULE}@{VERSION}", home=tmp_path, env=net.go_env()).check()
    stored = module_store.get(MODULE, VERSION)
    assert (tmp_path / "work/go.sum").read_text().splitlines() == list(stored.go_sum_lines)


def test_go_reports_a_cut_zip_and_keeps_nothing(net, go, tmp_path):
    net.fault("proxy.test", Truncate(100, where="body"), path="*.zip")
    result = go.run("mod", "download", f"{MODULE}@{VERSION}", home=tmp_path, env=net.go_env())
    assert result.stderr == f'go: {MODULE}@{VERSION}: read "{ZIP_URL}": unexpected EOF\n'
    assert not list(tmp_path.rglob("v1.0.0.zip"))


def test_naive_downloader_caches_the_cut_zip(net, tmp_path):
    net.fault("proxy.test", Truncate(100, where="body"), None, path="*.zip")
    with net.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            naive_download(client, "https://proxy.test", MODULE, VERSION, tmp_path)
        cached = naive_download(client, "https://proxy.test", MODULE, VERSION, tmp_path)
    assert cached.stat().st_size == 100  # the bug: a partial zip served from cache


def test_careful_downloader_fails_then_gets_the_whole_zip(net, module_store, tmp_path):
    net.fault("proxy.test", Truncate(100, where="body"), None, path="*.zip")
    stored = module_store.get(MODULE, VERSION)
    with net.client() as client:
        with pytest.raises((DownloadError, httpx.TransportError)):
            careful_download(client, "https://proxy.test", MODULE, VERSION, tmp_path, h1=stored.h1)
        cached = careful_download(
            client, "https://proxy.test", MODULE, VERSION, tmp_path, h1=stored.h1
        )
    assert cached.read_bytes() == stored.zip_path.read_bytes()
