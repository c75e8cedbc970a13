"""The two example mirrors against the private internet: the naive one keeps what a cut
upstream left it, the careful one keeps nothing it has not verified.

Each mirror runs as its own process (as ``pytest --gomodnet`` runs it) in front of
``upstream.test``, a GOPROXY served from a ModuleStore through the Router. Faults
hit the upstream; the tests read the mirror's answers and the Router's log.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    Throttle,
    Truncate,
)
from pytest_gomodnet.goproxy import ModuleStore, StoredVersion
from pytest_gomodnet.modules import build_zip
from pytest_gomodnet.network import Network

HERE = Path(__file__).parent
UPSTREAM = "upstream.test"
MODULE, VERSION = "example.test/m", "v1.0.0"
ZIP = f"/{MODULE}/@v/{VERSION}.zip"
FILES = {f"f{i}.go": b"package m\n\n// filler %d\n" % i * 40 for i in range(8)}
# Seconds a mirror may take to say it is listening, and to exit after SIGTERM; generous
# because the machine is shared: the interface promises 1 s for the exit.
START_DEADLINE, EXIT_DEADLINE = 20.0, 5.0
MIRRORS = ["naive", "careful"]


@dataclass
class Mirror:
    kind: str
    url: str
    cache: Path
    process: subprocess.Popen[bytes]
    stderr: Path

    def get(self, path: str) -> httpx.Response:
        with httpx.Client(timeout=30.0) as client:
            return client.get(self.url + path)


@pytest.fixture
def store(module_store: ModuleStore) -> ModuleStore:
    module_store.add(MODULE, VERSION, files=FILES)
    return module_store


@pytest.fixture
def net(gomodnet: Network, store: ModuleStore) -> Network:
    # The upstream proxies a checksum database, as proxy.golang.org does sum.golang.org.
    gomodnet.add_goproxy(UPSTREAM, store).proxy_sumdb(gomodnet.add_sumdb("sum.golang.org"))
    return gomodnet


@pytest.fixture
def stored(store: ModuleStore) -> StoredVersion:
    version = store.get(MODULE, VERSION)
    assert version is not None
    return version


@pytest.fixture
def start_mirror(net: Network, tmp_path: Path) -> Iterator[Callable[..., Mirror]]:
    """Start a mirror process in front of upstream.test; stop and reap it at teardown."""
    started: list[Mirror] = []

    def start(kind: str, *extra: str) -> Mirror:
        cache, stderr = tmp_path / f"{kind}-cache", tmp_path / f"{kind}-{len(started)}.stderr"
        command = [
            sys.executable,
            str(HERE / f"{kind}_mirror.py"),
            *("--upstream", f"https://{UPSTREAM}", "--port", "0"),
            *("--proxy", net.router_url, "--ca-bundle", str(net.ca_bundle)),
            *("--cache", str(cache), *extra),
        ]
        with stderr.open("wb") as err:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
        mirror = Mirror(kind, "", cache, process, stderr)
        started.append(mirror)
        mirror.url = _listening_url(mirror)
        return mirror

    yield start
    stopped = [(mirror, *_stop(mirror.process)) for mirror in started]  # every one, then check
    for mirror, code, more_output in stopped:
        assert code == 0, f"{mirror.kind} exited with {code}: {mirror.stderr.read_text()}"
        assert more_output == b"", "stdout holds more than the one 'listening on' line"


def _listening_url(mirror: Mirror) -> str:
    """The URL from the mirror's one ``listening on`` line, read within START_DEADLINE."""
    assert mirror.process.stdout is not None
    fd, line = mirror.process.stdout.fileno(), b""
    deadline = time.monotonic() + START_DEADLINE
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 1024) if ready else b""
        if not chunk:
            pytest.fail(
                f"{mirror.kind} never said it was listening: {line!r} {mirror.stderr.read_text()}"
            )
        line += chunk
    prefix = "listening on http://127.0.0.1:"
    text = line.decode()
    assert text.startswith(prefix), text
    assert text.count("\n") == 1, text
    return text.removeprefix("listening on ").strip()


def _stop(
    process: subprocess.Popen[bytes], signum: signal.Signals = signal.SIGTERM
) -> tuple[int | None, bytes]:
    """Signal the mirror and reap it: its exit status (None: killed after EXIT_DEADLINE)
    and what it printed after its first line."""
    assert process.stdout is not None
    if process.stdout.closed:  # stopped already, by the test itself
        return process.returncode, b""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        code: int | None = process.wait(timeout=EXIT_DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    with process.stdout:
        return code, process.stdout.read()


def upstream_paths(net: Network, suffix: str = ".zip") -> list[str]:
    """The paths the mirror asked upstream.test for, ending in ``suffix``, in order."""
    return [
        exchange.path
        for connection in net.log
        if connection.host == UPSTREAM
        for exchange in connection.exchanges
        if exchange.path.endswith(suffix)
    ]


def cached_files(mirror: Mirror) -> list[str]:
    """Every file in the mirror's cache, temporary ones included, relative to it."""
    return sorted(str(p.relative_to(mirror.cache)) for p in mirror.cache.rglob("*") if p.is_file())


# --- both mirrors ------------------------------------------------------------


@pytest.mark.parametrize("kind", MIRRORS)
def test_clean_zip_is_the_store_zip_and_is_fetched_once(start_mirror, net, stored, kind):
    mirror = start_mirror(kind)
    first, second = mirror.get(ZIP), mirror.get(ZIP)
    expected = stored.zip_path.read_bytes()
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-length"] == str(len(expected))
        assert response.content == expected
    assert upstream_paths(net) == [ZIP]  # the second came from the cache


@pytest.mark.parametrize("kind", MIRRORS)
@pytest.mark.parametrize(
    "path",
    [
        f"/{MODULE}/@v/list",
        f"/{MODULE}/@v/{VERSION}.info",
        f"/{MODULE}/@v/{VERSION}.mod",
        f"/{MODULE}/@latest",
        "/sumdb/sum.golang.org/supported",
        "/sumdb/sum.golang.org/latest",
        "/sumdb/sum.golang.org/lookup/example.test/m@v1.0.0",
        "/sumdb/sum.golang.org/tile/8/0/000.p/1",
        "/example.test/missing/@v/v1.0.0.info",
        "/example.test/missing/@v/v1.0.0.zip",
        f"/{MODULE}/@v/v9.9.9.zip",
    ],
)
def test_metadata_and_misses_pass_through_uncached(start_mirror, net, kind, path):
    mirror = start_mirror(kind)
    with net.client() as client:
        direct = client.get(f"https://{UPSTREAM}{path}")
    first, second = mirror.get(path), mirror.get(path)
    for response in (first, second):
        assert (response.status_code, response.headers.get("content-type"), response.content) == (
            direct.status_code,
            direct.headers.get("content-type"),
            direct.content,
        )
    if kind == "careful" and path.endswith(".mod"):
        # It fetches the zip once, to compare the .mod with the zip's go.mod, and keeps it.
        assert upstream_paths(net, suffix="") == [path, path, ZIP, path]
        assert cached_files(mirror) == [ZIP.lstrip("/"), ZIP.lstrip("/")[:-4] + ".ziphash"]
        return
    assert upstream_paths(net, suffix="") == [path] * 3  # direct + two through the mirror
    assert cached_files(mirror) == []


@pytest.mark.parametrize("kind", MIRRORS)
def test_410_passes_through(start_mirror, net, kind):
    net.fault(UPSTREAM, Status(410, b"gone: retracted\n"), path="*.zip")
    mirror = start_mirror(kind)
    response = mirror.get(ZIP)
    assert (response.status_code, response.content) == (410, b"gone: retracted\n")
    assert response.headers["content-type"].startswith("text/plain")
    assert cached_files(mirror) == []


@pytest.mark.parametrize("kind", MIRRORS)
@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        f"/{MODULE}/@v/../../../x.zip",
        f"/{MODULE}/@v/%2e%2e/x.zip",
        f"/{MODULE}/@v/%2E%2E%2Fx.zip",
        "/example.test%2fm/@v/list",
        "/example.test/m/@v/..%5c..%5cx.zip",
        "/example.test/m/@v/",
        "/example.test/m/@v/v1.0.0.tar",
        "/example.test/M/@v/list",
        "/",
        "/favicon.ico",
    ],
)
def test_traversal_and_non_endpoints_are_404_without_upstream(start_mirror, net, kind, path):
    mirror = start_mirror(kind)
    # http.client sends the target as given; httpx would resolve the dots first.
    connection = http.client.HTTPConnection(*mirror.url.removeprefix("http://").split(":"))
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        status, content_type, body = (
            response.status,
            response.getheader("content-type"),
            response.read(),
        )
    finally:
        connection.close()
    assert status == 404
    assert content_type == "text/plain; charset=utf-8"
    assert body == f"not found: {path} is not a GOPROXY endpoint\n".encode()
    assert net.log == []


@pytest.mark.parametrize("kind", MIRRORS)
def test_upstream_cut_in_metadata_is_a_one_line_502(start_mirror, net, stored, kind):
    net.fault(UPSTREAM, Truncate(5, where="body"), path="*.mod")
    mirror = start_mirror(kind)
    response = mirror.get(f"/{MODULE}/@v/{VERSION}.mod")
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (
        f"upstream error: GET https://{UPSTREAM}/{MODULE}/@v/{VERSION}.mod: RemoteProtocolError: "
        "peer closed connection without sending complete message body "
        f"(received 5 bytes, expected {len(stored.go_mod)})\n"
    )


CLOSE_DELIMITED_CUTS = {
    "info": (
        ".info",
        Truncate(-1, where="body-end"),
        "the .info is not JSON: Expecting ',' delimiter: line 1 column 50 (char 49)",
    ),
    "mod": (".mod", Truncate(10, where="body"), "the .mod declares 'exa', not 'example.test/m'"),
    "mod-at-line": (
        ".mod",
        Truncate(-len(b"\ngo 1.21\n"), where="body-end"),
        "the .mod (22 bytes) is not the go.mod in the zip (31 bytes)",
    ),
}


@pytest.mark.parametrize("cut", CLOSE_DELIMITED_CUTS)
def test_careful_refuses_metadata_cut_where_http_cannot_see_it(start_mirror, net, store, cut):
    """The upstream's answers are close-delimited: a cut looks whole to httpx, so only the
    careful mirror's checks of the bytes stand between it and the client. The naive
    mirror passes them on (the conformance suite's close-delimited cases show it)."""
    store.add("example.test/m", "v1.0.1", files=FILES, go_mod=b"module example.test/m\n\ngo 1.21\n")
    net.frame(UPSTREAM, "close")
    suffix, plan, problem = CLOSE_DELIMITED_CUTS[cut]
    net.fault(UPSTREAM, plan, path=f"*{suffix}")
    mirror = start_mirror("careful")
    path = f"/{MODULE}/@v/v1.0.1{suffix}"
    response = mirror.get(path)
    assert (response.status_code, response.text) == (
        502,
        f"refused GET https://{UPSTREAM}{path}: {problem}\n",
    )


@pytest.mark.parametrize("kind", MIRRORS)
def test_percent_encoded_paths_reach_upstream_as_sent(start_mirror, net, store, kind):
    upper = store.add("example.test/Upper", VERSION, files={"u.go": b"package upper\n"})
    mirror = start_mirror(kind)
    path = f"/example.test/%21upper/@v/{VERSION}.zip"
    response = mirror.get(path)
    assert (response.status_code, response.content) == (200, upper.zip_path.read_bytes())
    assert upstream_paths(net) == [path]


@pytest.mark.parametrize("kind", MIRRORS)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_exits_cleanly_on_signal(start_mirror, kind, signum):
    mirror = start_mirror(kind)
    assert _stop(mirror.process, signum) == (0, b"")


@pytest.mark.parametrize("kind", MIRRORS)
def test_exits_cleanly_with_a_download_in_flight(start_mirror, net, kind):
    net.fault(UPSTREAM, Stall(100, seconds=30.0, where="body"), path="*.zip")
    mirror = start_mirror(kind)
    outcome: list[object] = []
    client = threading.Thread(target=lambda: outcome.append(_get_or_error(mirror, ZIP)))
    client.start()
    try:
        while not upstream_paths(net):  # the mirror is now waiting on the stalled upstream
            assert client.is_alive(), outcome
            time.sleep(0.02)
        assert _stop(mirror.process) == (0, b"")
    finally:
        client.join(timeout=30.0)
    (error,) = outcome
    assert isinstance(error, httpx.RemoteProtocolError), error


def _get_or_error(mirror: Mirror, path: str) -> object:
    try:
        return mirror.get(path)
    except httpx.HTTPError as error:
        return error


def test_cache_defaults_to_a_temporary_directory_removed_on_exit(net, stored, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [
        sys.executable,
        str(HERE / "careful_mirror.py"),
        *("--upstream", f"https://{UPSTREAM}", "--port", "0"),
        *("--proxy", net.router_url, "--ca-bundle", str(net.ca_bundle)),
    ]
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as err:
        env = {**os.environ, "TMPDIR": str(temporary)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env)
    mirror = Mirror("careful", "", tmp_path, process, stderr)
    try:
        mirror.url = _listening_url(mirror)
        assert mirror.get(ZIP).content == stored.zip_path.read_bytes()
        (created,) = temporary.iterdir()
        assert (created / ZIP.lstrip("/")).read_bytes() == stored.zip_path.read_bytes()
    finally:
        assert _stop(process) == (0, b"")
    assert not created.exists()


# --- the naive mirror's bug ----------------------------------------------------


def test_naive_serves_a_cut_zip_forever(start_mirror, net, stored):
    expected = stored.zip_path.read_bytes()
    net.fault(UPSTREAM, Truncate(200, where="body"), None, path="*.zip")
    mirror = start_mirror("naive")
    with pytest.raises(httpx.RemoteProtocolError):  # the first client sees the cut
        mirror.get(ZIP)
    poisoned = mirror.get(ZIP)  # the upstream has healed, but nobody asks it
    assert poisoned.status_code == 200
    assert poisoned.headers["content-length"] == "200"
    assert poisoned.content == expected[:200]
    assert upstream_paths(net) == [ZIP]
    assert (mirror.cache / ZIP.lstrip("/")).read_bytes() == expected[:200]


def test_naive_caches_an_html_login_page_as_the_zip(start_mirror, net):
    net.fault(UPSTREAM, HtmlLogin(), None, path="*.zip")
    mirror = start_mirror("naive")
    login, again = mirror.get(ZIP), mirror.get(ZIP)
    assert login.status_code == 200
    assert login.headers["content-type"].startswith("text/html")
    assert b"<html" in login.content.lower()
    assert (again.status_code, again.content) == (200, login.content)
    assert again.headers["content-type"] == "application/zip"
    assert upstream_paths(net) == [ZIP]


# --- the careful mirror ------------------------------------------------------------


def _exactly(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


CUT = f"upstream error: GET https://{UPSTREAM}{ZIP}: RemoteProtocolError: peer closed connection "
# The 502 body each fault gets (without its newline); {size} is the zip's length.
CAREFUL_REFUSALS = {
    "cut mid-body": (
        Truncate(200, where="body"),
        CUT + "without sending complete message body (received 200 bytes, expected {size})",
    ),
    "cut at the last byte": (
        Truncate(-1, where="body-end"),
        CUT + "without sending complete message body (received {size_1} bytes, expected {size})",
    ),
    "lying Content-Length": (
        LieContentLength(100),
        CUT + "without sending complete message body (received {size} bytes, expected {size_100})",
    ),
    "chunked and cut": (
        ChunkedCut(100),
        CUT + "without sending complete message body (incomplete chunked read)",
    ),
    # The kernel may drop bytes not yet read when a reset arrives: the error's kind varies.
    "reset mid-body": (
        Reset(200, where="body"),
        re.compile(re.escape(f"upstream error: GET https://{UPSTREAM}{ZIP}: ") + r"\w+Error: .+"),
    ),
    "one flipped byte in the data": (
        Corrupt(67, where="body"),  # inside f0.go's deflated bytes
        "not a valid zip: Error -3 while decompressing data: invalid distance too far back",
    ),
    "one flipped byte in a name": (
        Corrupt(300, where="body"),  # inside f3.go's name in its local header
        re.compile(
            re.escape("not a valid zip: File name in directory 'example.test/m@v1.0.0/f3.go' ")
            + r"and header b'example\.test/m@v1\.0\.0/f3\.go.{200,}…"
        ),
    ),
    "HTML login page": (HtmlLogin(), "not a valid zip: File is not a zip file"),
    "500": (Status(500, b"boom\n"), f"upstream answered 500 to GET https://{UPSTREAM}{ZIP}"),
}


@pytest.mark.parametrize(("fault", "reason"), CAREFUL_REFUSALS.values(), ids=list(CAREFUL_REFUSALS))
def test_careful_refuses_then_serves_the_whole_zip(start_mirror, net, stored, fault, reason):
    expected = stored.zip_path.read_bytes()
    net.fault(UPSTREAM, fault, None, path="*.zip")
    mirror = start_mirror("careful")
    refused = mirror.get(ZIP)
    assert refused.status_code == 502, refused.text
    assert refused.headers["content-type"] == "text/plain; charset=utf-8"
    if isinstance(reason, str):
        sizes = {
            "size": len(expected),
            "size_1": len(expected) - 1,
            "size_100": len(expected) + 100,
        }
        reason = _exactly(reason.format(**sizes))
    assert reason.fullmatch(refused.text.removesuffix("\n")), refused.text
    assert refused.text.count("\n") == 1
    assert refused.text.endswith("\n")
    assert cached_files(mirror) == []  # nothing kept, not even the temporary file
    healed, cached = mirror.get(ZIP), mirror.get(ZIP)
    for response in (healed, cached):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(expected))
        assert response.content == expected
    assert upstream_paths(net) == [ZIP, ZIP]
    zip_file = mirror.cache / ZIP.lstrip("/")
    ziphash = zip_file.with_suffix(".ziphash")
    assert cached_files(mirror) == [str(p.relative_to(mirror.cache)) for p in (zip_file, ziphash)]
    assert ziphash.read_text() == f"{stored.h1}\n"


def test_careful_gives_up_on_a_stalled_upstream(start_mirror, net, stored):
    net.fault(UPSTREAM, Stall(100, seconds=5.0, where="body"), None, path="*.zip")
    mirror = start_mirror("careful", "--upstream-timeout", "0.5")
    refused = mirror.get(ZIP)
    assert refused.status_code == 502
    timed_out = "ReadTimeout: The read operation timed out"
    assert refused.text == f"upstream error: GET https://{UPSTREAM}{ZIP}: {timed_out}\n"
    assert cached_files(mirror) == []
    assert mirror.get(ZIP).content == stored.zip_path.read_bytes()


def test_careful_refuses_a_zip_of_another_module(start_mirror, net, store, stored):
    other = build_zip("example.test/other", VERSION, {"go.mod": b"module example.test/other\n"})
    assert other is not None
    zip_entry = "example.test/other@v1.0.0/go.mod"

    def wrong_zip(request):
        from werkzeug import Response

        return Response(other, content_type="application/zip")

    net.add_handler(UPSTREAM, wrong_zip, replace=True)
    mirror = start_mirror("careful")
    refused = mirror.get(ZIP)
    assert refused.status_code == 502
    assert refused.text == (
        f"not a module zip: entry {zip_entry!r} is outside 'example.test/m@v1.0.0/'\n"
    )
    assert cached_files(mirror) == []


def test_careful_checks_the_cached_zip_before_serving_it(start_mirror, net, stored):
    expected = stored.zip_path.read_bytes()
    mirror = start_mirror("careful")
    assert mirror.get(ZIP).content == expected
    zip_file = mirror.cache / ZIP.lstrip("/")
    zip_file.write_bytes(expected[:200])  # the disk lost the end of it
    assert mirror.get(ZIP).content == expected  # refetched, not served
    assert upstream_paths(net) == [ZIP, ZIP]
    assert zip_file.read_bytes() == expected


def test_careful_downloads_a_zip_once_for_twenty_concurrent_requests(start_mirror, net, stored):
    expected = stored.zip_path.read_bytes()
    # About two seconds for the one download, so that all twenty arrive while it runs.
    net.fault(UPSTREAM, Throttle(len(expected) // 2), path="*.zip")
    mirror = start_mirror("careful")
    start, responses = threading.Barrier(20), [None] * 20

    def fetch(index: int) -> None:
        start.wait(timeout=30.0)
        responses[index] = mirror.get(ZIP)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60.0)
    assert [r.status_code for r in responses] == [200] * 20
    assert all(r.content == expected for r in responses)
    assert upstream_paths(net) == [ZIP]


@pytest.mark.slow
def test_go_downloads_through_the_careful_mirror(go, start_mirror, net, stored, tmp_path):
    mirror = start_mirror("careful")
    result = go.run(
        "mod",
        "download",
        "-json",
        f"{MODULE}@{VERSION}",
        home=tmp_path / "home",
        env=net.go_env(GOPROXY=mirror.url),
    )
    (info,) = result.json_objects()
    assert result.returncode == 0, result.story("go mod download through the mirror")
    assert (info["Sum"], info["GoModSum"]) == (stored.h1, stored.go_mod_h1)
    assert upstream_paths(net) == [ZIP]
