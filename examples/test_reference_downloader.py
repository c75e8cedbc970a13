"""The faults the go command meets (docs/go-behaviour.md), met by a careful httpx client.

For every fault below (cut bodies, lying lengths, resets, stalls, corrupt bytes,
login pages, error statuses, broken chains, go-import pages), a well-behaved Python client
(the plugin's reference client, ``pytest_gomodnet.conformance.reference``: read
it next to these tests) must fail loudly and cache nothing, then succeed once
the network heals. Where go's behaviour is worth copying (a ``GOPROXY`` list,
go-import discovery) it does what go does; where go gives up at once (a cut)
it tries again, ``ATTEMPTS`` times in all; where go waits forever (a stall), it
gives up by its own deadline.
"""

import json
from pathlib import Path

import httpx
import pytest

from pytest_gomodnet.checks import assert_failed_within, assert_no_partial_success
from pytest_gomodnet.conformance.reference import (
    ATTEMPTS,
    ChecksumMismatchError,
    DownloadError,
    NotFoundError,
    discover,
    download,
    fetch_zip,
    list_versions,
)
from pytest_gomodnet.errors import GoImportError
from pytest_gomodnet.faults import (
    ChunkedCut,
    Corrupt,
    Drip,
    HtmlLogin,
    LieContentLength,
    Reset,
    SlowFirstByte,
    Stall,
    Status,
    Truncate,
)
from pytest_gomodnet.goimport import VARIANTS, MetaImport, resolve_go_import

MODULE, VERSION = "example.test/m", "v1.0.0"
BASE = "https://proxy.test"
FILES = {"m.go": b"package m\n" * 50}


@pytest.fixture
def stored(module_store):
    return module_store.add(MODULE, VERSION, files=FILES)


@pytest.fixture
def net(gomodnet, module_store, stored):
    gomodnet.add_goproxy("proxy.test", module_store)
    return gomodnet


def _zips(cache: Path) -> list[Path]:
    return list(cache.rglob("*.zip"))


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
    stored = module_store.add(MODULE, VERSION, files=FILES)
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", fault, None, path="*.zip")
    url, cached = f"{BASE}/{MODULE}/@v/{VERSION}.zip", tmp_path / f"{VERSION}.zip"
    with gomodnet.client() as client:
        with pytest.raises((DownloadError, httpx.HTTPError)):  # one attempt: no retry here
            fetch_zip(client, url, MODULE, VERSION, cached, h1=stored.h1)
        assert not list(tmp_path.rglob("*.zip*"))  # nothing cached, no partial file left
        fetch_zip(client, url, MODULE, VERSION, cached, h1=stored.h1)
    assert cached.read_bytes() == stored.zip_path.read_bytes()


def test_clean_download_is_the_stored_module(net, stored, tmp_path):
    with net.client() as client:
        got = download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1)
    assert (got.proxy, got.info, got.go_mod) == (BASE, json.loads(stored.info), stored.go_mod)
    assert_no_partial_success(got.zip_path, stored.h1)
    assert got.zip_path.read_bytes() == stored.zip_path.read_bytes()


def _asked(net, host: str = "proxy.test") -> list[str]:
    """The paths the client asked ``host`` for, in order."""
    return [x.path for c in net.log if c.host == host for x in c.exchanges]


def test_a_cut_zip_is_asked_again_within_the_same_call(net, stored, tmp_path):
    net.fault("proxy.test", *[Truncate(200, where="body")] * (ATTEMPTS - 1), None, path="*.zip")
    with net.client() as client:
        got = download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1)
    assert got.zip_path.read_bytes() == stored.zip_path.read_bytes()
    assert got.h1 == stored.h1
    assert got.zip_path.with_suffix(".ziphash").read_text() == stored.h1 + "\n"
    zip_path = f"/{MODULE}/@v/{VERSION}.zip"
    assert [p for p in _asked(net) if p.endswith(".zip")] == [zip_path] * ATTEMPTS


def test_a_zip_not_matching_the_expected_h1_is_refused_at_once(net, stored, tmp_path):
    wrong = "h1:" + "A" * 43 + "="
    with net.client() as client, pytest.raises(ChecksumMismatchError) as raised:
        download(MODULE, VERSION, BASE, tmp_path, client=client, h1=wrong)
    zip_path = f"/{MODULE}/@v/{VERSION}.zip"
    assert str(raised.value) == (
        f"{MODULE}@{VERSION}: {BASE}{zip_path}: checksum mismatch: "
        f"downloaded {stored.h1}, expected {wrong}"
    )
    assert [p for p in _asked(net) if p.endswith(".zip")] == [zip_path]
    assert not list(tmp_path.rglob("*.zip*"))  # neither the zip nor a .ziphash, nor a .partial


# --- the other endpoints cut or replaced ------------------------------------------------

# (where, the fault, how many answers it spoils: every attempt if transient, else one, says)
OTHER_ENDPOINTS = {
    "info cut mid-body": ("*.info", Truncate(5, where="body"), ATTEMPTS, "RemoteProtocolError"),
    "info cut in the headers": ("*.info", Truncate(20), ATTEMPTS, "RemoteProtocolError"),
    "mod cut mid-body": ("*.mod", Truncate(5, where="body"), ATTEMPTS, "RemoteProtocolError"),
    "HTML login page instead of info": ("*.info", HtmlLogin(), 1, "invalid response from proxy"),
    "HTML login page instead of mod": ("*.mod", HtmlLogin(), 1, "does not declare it"),
}


@pytest.mark.parametrize("case", OTHER_ENDPOINTS, ids=list(OTHER_ENDPOINTS))
def test_a_broken_info_or_mod_fails_before_the_zip(net, stored, tmp_path, case):
    path, fault, spoils, says = OTHER_ENDPOINTS[case]
    net.fault("proxy.test", *[fault] * spoils, None, path=path)
    with net.client() as client:
        with pytest.raises(DownloadError, match=says):
            download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1)
        assert not _zips(tmp_path)
        asked = [x.path for c in net.log for x in c.exchanges]
        assert not [p for p in asked if p.endswith(".zip")]
        assert len([p for p in asked if p.endswith(path[1:])]) == spoils
        healed = download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1)
    assert healed.zip_path.read_bytes() == stored.zip_path.read_bytes()


@pytest.mark.parametrize(
    "fault", [Truncate(3, where="body"), Truncate(20)], ids=["body", "headers"]
)
def test_a_cut_list_fails_then_heals(net, fault):
    net.fault("proxy.test", *[fault] * ATTEMPTS, None, path="*/list")
    with net.client() as client:
        with pytest.raises(DownloadError, match="RemoteProtocolError"):
            list_versions(MODULE, BASE, client=client)
        assert _asked(net) == [f"/{MODULE}/@v/list"] * ATTEMPTS
        assert list_versions(MODULE, BASE, client=client) == [VERSION]


# --- stalls: unlike go, the client has deadlines ---------------------------------------

STALLS = {
    "zip stalled mid-body": ("*.zip", Stall(100, seconds=30, where="body")),
    "info with a slow first byte": ("*.info", SlowFirstByte(30)),
}


@pytest.mark.parametrize("case", STALLS, ids=list(STALLS))
def test_a_stall_fails_by_the_clients_own_deadline(net, stored, tmp_path, case):
    path, fault = STALLS[case]
    net.fault("proxy.test", *[fault] * ATTEMPTS, path=path)  # a timeout is retried
    with net.client(timeout=httpx.Timeout(5.0, read=0.5)) as client:
        raised = assert_failed_within(
            10.0,
            lambda: download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1),
            fault=fault,
            log=net.log,
        )
    assert isinstance(raised, DownloadError)
    assert "ReadTimeout" in str(raised)
    assert not _zips(tmp_path)


def test_a_drip_fails_by_the_whole_calls_deadline(net, stored, tmp_path):
    """10 bytes every 0.2 s never trips a read timeout; ``deadline=`` bounds the call."""
    fault = Drip(10, 0.2)
    net.fault("proxy.test", fault, path="*.zip")
    with net.client(timeout=httpx.Timeout(5.0, read=0.5)) as client:
        raised = assert_failed_within(
            10.0,
            lambda: download(
                MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1, deadline=1.0
            ),
            fault=fault,
            log=net.log,
        )
    assert isinstance(raised, DownloadError)
    zip_url = f"{BASE}/{MODULE}/@v/{VERSION}.zip"
    assert str(raised) == f'{MODULE}@{VERSION}: read "{zip_url}": gave up after the 1 s deadline'
    assert [p for p in _asked(net) if p.endswith(".zip")] == [f"/{MODULE}/@v/{VERSION}.zip"]
    assert not _zips(tmp_path)


# --- GOPROXY lists -------------------------------------------------------------------------


@pytest.mark.parametrize("code", [404, 410])
def test_a_proxy_without_the_module_falls_through_a_comma(
    gomodnet, module_store, stored, tmp_path, code
):
    gomodnet.add_goproxy("proxy.test", module_store)
    with type(module_store)() as empty:
        gomodnet.add_goproxy("first.test", empty, missing_status=code)
        with gomodnet.client() as client:
            got = download(
                MODULE, VERSION, f"https://first.test,{BASE}", tmp_path, client=client, h1=stored.h1
            )
            assert list_versions(MODULE, f"https://first.test,{BASE}", client=client) == [VERSION]
    assert got.proxy == BASE
    first = [
        (x.path, x.status) for c in gomodnet.log if c.host == "first.test" for x in c.exchanges
    ]
    assert first == [(f"/{MODULE}/@v/{VERSION}.info", code), (f"/{MODULE}/@v/list", code)]


@pytest.mark.parametrize(("separator", "succeeds"), [(",", False), ("|", True)])
def test_a_server_error_moves_on_only_after_a_pipe(
    gomodnet, module_store, stored, tmp_path, separator, succeeds
):
    gomodnet.add_goproxy("first.test", module_store)
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("first.test", *[Status(500, b"boom\n")] * ATTEMPTS)  # a 5xx is retried
    goproxy = f"https://first.test{separator}{BASE}"
    with gomodnet.client() as client:
        if succeeds:
            got = download(MODULE, VERSION, goproxy, tmp_path, client=client, h1=stored.h1)
            assert got.proxy == BASE
        else:
            with pytest.raises(DownloadError, match="500 Internal Server Error"):
                download(MODULE, VERSION, goproxy, tmp_path, client=client, h1=stored.h1)
    assert _asked(gomodnet, "first.test") == [f"/{MODULE}/@v/{VERSION}.info"] * ATTEMPTS


def test_no_proxy_has_it(net, stored, tmp_path):
    with net.client() as client, pytest.raises(NotFoundError, match="no proxy in"):
        download("example.test/other", VERSION, BASE, tmp_path, client=client, h1=stored.h1)


# --- TLS shapes on the proxy host -----------------------------------------------------------

TLS_FAILS = {
    "missing-intermediate": "unable to get local issuer certificate",
    "untrusted-root": "unable to get local issuer certificate",
    "self-signed": "self-signed certificate",
    "expired-leaf": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid",
    "expired-intermediate": "certificate has expired",
    "wrong-host": "Hostname mismatch",
}


@pytest.mark.parametrize("shape", TLS_FAILS)
def test_a_bad_chain_is_refused(gomodnet, module_store, stored, tmp_path, shape):
    gomodnet.add_goproxy("proxy.test", module_store, shape=shape)
    with gomodnet.client() as client, pytest.raises(DownloadError) as raised:
        download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1)
    assert "ConnectError" in str(raised.value)
    assert TLS_FAILS[shape] in str(raised.value)
    assert len([c for c in gomodnet.log if c.host == "proxy.test"]) == 1  # not retried


@pytest.mark.parametrize("shape", ["complete", "wrong-order"])
def test_chains_go_accepts_are_accepted(gomodnet, module_store, stored, tmp_path, shape):
    gomodnet.add_goproxy("proxy.test", module_store, shape=shape)
    with gomodnet.client() as client:
        assert download(MODULE, VERSION, BASE, tmp_path, client=client, h1=stored.h1).proxy == BASE


# --- go-import discovery over https: the verdict the reader gives the page ----------
# --- (tests/test_goimport_go.py holds the reader to go), page by page -----------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_discovery_over_https_agrees_with_the_reader_on_the_page(
    gomodnet, module_store, stored, tmp_path, variant
):
    gomodnet.add_goproxy("proxy.test", module_store)
    host = gomodnet.add_goimport("example.test")
    host.add(MODULE, vcs="mod", repo=BASE, variant=variant)
    try:
        expected: MetaImport | str = resolve_go_import(MODULE, host.fetch)
    except GoImportError as exc:
        expected = str(exc)
    with gomodnet.client() as client:
        try:
            found: MetaImport | str = discover(MODULE, client=client)
        except GoImportError as exc:
            found = str(exc)
        assert found == expected
        if isinstance(found, MetaImport):
            got = download(MODULE, VERSION, found.repo_root, tmp_path, client=client, h1=stored.h1)
            assert got.zip_path.read_bytes() == stored.zip_path.read_bytes()
