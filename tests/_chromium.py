"""Headless Chromium, to see what a report page renders: the DOM after its script ran,
and a screenshot kept as an artefact.

Chromium only ever loads a local file here: every host name but 127.0.0.1 resolves to
nothing, and every request goes through a forward proxy on 127.0.0.1 that answers 502
to everything and records it; each run asserts that it recorded nothing, so a page
(or Chromium itself) that tried to fetch anything fails the test, and nothing leaves
the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

#: Debian's package (.ci/run installs it in CI).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Skip only where chromium is missing and this is not CI; in CI a missing chromium
# makes the tests fail instead.
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (Debian: apt-get install -y chromium)",
)
#: A port on 127.0.0.1 where nothing listens (tcpmux, which no test machine serves).
CLOSED = "http://127.0.0.1:1"
#: Flags that keep Chromium on the one file: no DNS, no request but to the recording
#: proxy, no background traffic of its own (updates, sync, metrics, safe browsing).
OFFLINE = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    # What Chromium still asks for on its own despite the flags above: the network time,
    # its component updates and Google accounts (each pointed at a closed local port).
    "--disable-features=NetworkTimeServiceQuerying",
    f"--component-updater=url-source={CLOSED}",
    f"--gaia-url={CLOSED}",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-bypass-list=<-loopback>",
    "--virtual-time-budget=5000",
)
#: How long one page may take to load and render.
DEADLINE = 90


def artifacts(tmp_path: Path) -> Path:
    """Where a test keeps its screenshots: a directory of its own under
    ``$GOMODNET_ARTIFACTS`` (CI), else under its tmp_path."""
    given = os.environ.get("GOMODNET_ARTIFACTS")
    directory = Path(given) / tmp_path.name if given else tmp_path / "artifacts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class _Refuse(BaseHTTPRequestHandler):
    """Answers 502 to every request, a CONNECT included, and records its request line."""

    server: _Recorder

    def _refuse(self) -> None:
        self.server.requests.append(self.requestline)
        self.send_error(502, "gomodnet tests: Chromium must not fetch anything")

    do_GET = do_HEAD = do_POST = do_PUT = do_OPTIONS = do_CONNECT = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass  # recorded, not printed


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]


@contextmanager
def recording_proxy() -> Iterator[_Recorder]:
    """A forward proxy on 127.0.0.1 that refuses and records every request Chromium makes."""
    server = _Recorder(("127.0.0.1", 0), _Refuse)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, name="chromium-proxy")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium(url: str, profile: Path, *extra: str) -> tuple[str, list[str]]:
    """Run Chromium on ``url`` (a file:// URL): its stdout, and every request it tried."""
    if CHROMIUM is None:
        pytest.fail(
            "CI is set and chromium is missing: .ci/run installs it (apt-get install -y chromium)"
        )
    assert url.startswith("file:///"), url
    with recording_proxy() as proxy:
        port = proxy.server_address[1]
        flags = [*OFFLINE, f"--proxy-server=http://127.0.0.1:{port}", f"--user-data-dir={profile}"]
        done = subprocess.run(
            [CHROMIUM, *flags, *extra, url],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
    assert done.returncode == 0, f"chromium exited with {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout, proxy.requests


def _chromium(page: Path, fragment: str, profile: Path, *extra: str) -> str:
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    output, requests = chromium(url, profile, *extra)
    assert requests == [], f"chromium tried to fetch, loading {url}: {requests}"
    return output


def dump_dom(page: Path, fragment: str = "", *, profile: Path) -> str:
    """The page's DOM as Chromium serialises it once its script has run."""
    dom = _chromium(page, fragment, profile, "--dump-dom")
    assert dom.startswith("<!DOCTYPE html>\n<html"), dom[:500]
    return dom


def screenshot(page: Path, fragment: str, *, profile: Path, into: Path) -> Path:
    """A PNG of the page as Chromium draws it, under ``into`` (printed, for CI to keep)."""
    shot = into / f"{page.stem}{'-' + fragment.replace('=', '-') if fragment else ''}.png"
    _chromium(
        page,
        fragment,
        profile,
        "--hide-scrollbars",
        "--window-size=1280,1600",
        f"--screenshot={shot}",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    print(f"screenshot: {shot}")
    return shot


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of each ``<pre>``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.pres: list[str] = []
        self._in_pre = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "pre":
            self._in_pre = True
            self.pres.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pres[-1] += data

    def having(self, tag: str, css_class: str) -> list[dict[str, str | None]]:
        """The attributes of each ``tag`` whose class list has ``css_class``."""
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and css_class in (attrs.get("class") or "").split()
        ]

    def shown_rows(self) -> list[str]:
        """The case of each matrix row that is not hidden."""
        return [str(row["data-case"]) for row in self.having("tr", "case") if "hidden" not in row]
