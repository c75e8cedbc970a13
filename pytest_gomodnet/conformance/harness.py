"""What a conformance case holds in its hands: the target, the upstream, the verdicts.

A proxy case gets a :class:`ProxyCase`: an upstream GOPROXY at
``https://upstream.test`` (a ModuleStore on the private network, where faults
are set), a module path no other case uses (so a target's cache from an
earlier case cannot answer for this one), and :meth:`ProxyCase.get` to ask the
target. A client case gets a :class:`ClientCase`: a GOPROXY at
``https://proxy.test`` and :meth:`ClientCase.run` to let the target download.

The verdicts raise AssertionError with a story a vendor can act on: what was
asked, what came back, and every connection the upstream saw.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import httpx

from pytest_gomodnet.faults import DataBeforeHeaders, EndStreamEarly, GoAway, StreamReset
from pytest_gomodnet.modules import escape_path, escape_version, zip_h1
from pytest_gomodnet.tls import ShapeName

from .evidence import CONTROL_FAILED, Witness

if TYPE_CHECKING:
    from pytest_gomodnet.faults import FaultPlan
    from pytest_gomodnet.goproxy import ModuleStore, StoredVersion
    from pytest_gomodnet.network import Network

    from .targets import ClientResult, ClientTarget, ProxyTarget

__all__ = ["Answer", "ClientCase", "ClientRun", "ProxyCase"]

#: The host the proxy targets fetch from, and its GOPROXY URL.
UPSTREAM_HOST = "upstream.test"
UPSTREAM_URL = f"https://{UPSTREAM_HOST}"
#: The GOPROXY host client cases download from.
PROXY_HOST = "proxy.test"
#: The GOPROXY list client cases use unless they say otherwise.
DEFAULT_GOPROXY = f"https://{PROXY_HOST}"
#: Seconds a target has to answer one request (after any fault has run its course).
ANSWER_TIMEOUT = 20.0
#: The chain shapes no verifier accepts: every one but ``complete`` and ``wrong-order``
#: (go, Python and OpenSSL all put a chain served out of order back in order).
BROKEN_CHAINS: dict[str, ShapeName] = {
    shape: shape for shape in get_args(ShapeName) if shape not in ("complete", "wrong-order")
}
#: The HTTP/2 faults real services sent partway through a zip (FAILURES 2, 3): each after
#: 200 bytes of the zip's DATA, but DATA before HEADERS (docs/faults.md, HTTP/2).
H2_STREAM_FAULTS: dict[str, FaultPlan] = {
    "rst-stream-internal-error": StreamReset(200, code="INTERNAL_ERROR"),
    "goaway-abrupt": GoAway(200, code="INTERNAL_ERROR"),
    "goaway-graceful": GoAway(200),
    "data-before-headers": DataBeforeHeaders(),
    "end-stream-early": EndStreamEarly(200),
}
#: The last element of the sibling module a positive control downloads (see evidence.py).
CONTROL = "control"
#: The targets whose requests the Router's log must show (see evidence.py).
PROXY_WITNESS = Witness("the proxy", "the proxy never fetched from the upstream")
CLIENT_WITNESS = Witness("the client", "the client made no request")
#: Files every case's module version holds: big enough that a cut at byte 200 is mid-body.
FILES = {
    "m.go": b"package m\n\n// Answer is what the conformance suite serves.\nconst Answer = 42\n"
}


@dataclass(frozen=True)
class Answer:
    """What a target answered to one GET: a status and body, or a transport error."""

    url: str
    status: int | None
    body: bytes = b""
    content_type: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    def describe(self) -> str:
        took = f" after {self.seconds:.2f} s"
        if self.error is not None:
            return f"GET {self.url}: transport error{took}: {self.error}"
        return (
            f"GET {self.url}: {self.status}{took}, {len(self.body):,} bytes "
            f"({self.content_type or 'no Content-Type'}): {self.body[:120]!r}"
        )


def zip_h1_or_problem(data: bytes) -> str:
    """The zip's ``h1:``, or why ``data`` is no zip (a cut one, an HTML page)."""
    try:
        return zip_h1(data)
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError) as exc:
        return f"not a zip ({exc})"


@dataclass
class ProxyCase:
    """One proxy case: the target under test and the upstream behind it."""

    target: ProxyTarget
    network: Network
    store: ModuleStore
    module: str
    client: httpx.Client

    def add(
        self, version: str = "v1.0.0", *, module: str | None = None, go_mod_tail: bytes = b""
    ) -> StoredVersion:
        """Put ``module@version`` (this case's module by default) in the upstream; its go.mod
        is the module line, then ``go_mod_tail``."""
        path = module or self.module
        go_mod = f"module {path}\n".encode() + go_mod_tail
        return self.store.add(path, version, files=FILES, go_mod=go_mod)

    def fault(
        self, *plans: FaultPlan | None, path: str | None = None, must_fire: bool | int = True
    ) -> None:
        """Queue faults on the upstream's exchanges for this case's module (``path`` a glob
        such as ``*.zip`` within it; one that starts with ``/`` is taken as it is)."""
        if path is not None and not path.startswith("/"):
            path = self.upstream_glob(path)
        self.network.fault(UPSTREAM_HOST, *plans, path=path, must_fire=must_fire)

    def url(self, endpoint: str, *, module: str | None = None) -> str:
        return f"{self.target.url}/{escape_path(module or self.module)}/{endpoint}"

    def zip_url(self, version: str = "v1.0.0", *, module: str | None = None) -> str:
        return self.url(f"@v/{escape_version(version)}.zip", module=module)

    def get(self, url: str, *, follow_redirects: bool = False) -> Answer:
        """Ask the target for ``url``; a transport failure is an Answer too."""
        started = time.monotonic()
        try:
            response = self.client.get(url, follow_redirects=follow_redirects)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Answer(url, None, error=error, seconds=time.monotonic() - started)
        return Answer(
            url,
            response.status_code,
            response.content,
            response.headers.get("content-type", ""),
            seconds=time.monotonic() - started,
        )

    def raw_status(self, target: str) -> int | None:
        """The status line's code for a request target sent byte for byte (None: closed)."""
        host_port = self.target.url.split("://", 1)[1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        request = f"GET {target} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n"
        with socket.create_connection((host, int(port)), timeout=ANSWER_TIMEOUT) as raw:
            raw.sendall(request.encode("latin-1"))
            head = b""
            while b"\r\n" not in head:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                head += chunk
        match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        return int(match.group(1)) if match else None

    def upstream_requests(self, glob: str = "*") -> list[str]:
        """Paths of every request the upstream got that match ``glob``."""
        return [
            exchange.path
            for connection in self.network.log
            if connection.host == UPSTREAM_HOST
            for exchange in connection.exchanges
            if fnmatchcase(exchange.path, glob)
        ]

    def await_upstream_bytes(
        self, glob: str, at_least: int, timeout: float, *, unless: Callable[[], bool]
    ) -> bool:
        """Wait until the upstream has sent ``at_least`` bytes for a request matching ``glob``
        (or until ``unless()``: no point waiting once the target has answered without it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not unless():
            for connection in self.network.log:
                for exchange in connection.exchanges:
                    if (
                        connection.host == UPSTREAM_HOST
                        and fnmatchcase(exchange.path, glob)
                        and exchange.bytes_down >= at_least
                    ):
                        return True
            time.sleep(0.005)
        return False

    # -- verdicts ------------------------------------------------------------------

    def story(self, headline: str, *answers: Answer) -> str:
        lines = [headline, *(f"  {a.describe()}" for a in answers)]
        lines += [f"  target: {self.target.name} at {self.target.url}", "  upstream connections:"]
        log = self.network.format_log() or "(none)"
        lines += [f"    {line}" for line in log.splitlines()]
        return "\n".join(lines)

    def expect_zip(self, answer: Answer, stored: StoredVersion, what: str = "the zip") -> None:
        """200 with a zip whose h1 is the upstream's."""
        if not answer.ok:
            raise AssertionError(self.story(f"{what}: expected 200 with the zip", answer))
        actual = zip_h1_or_problem(answer.body)
        if actual != stored.h1:
            size = stored.zip_path.stat().st_size
            raise AssertionError(
                self.story(
                    f"{what}: served 200 with the wrong zip: {actual}, want {stored.h1} "
                    f"({len(answer.body):,} of {size:,} bytes)",
                    answer,
                )
            )

    def expect_no_partial_success(
        self, answer: Answer, stored: StoredVersion, when: str = ""
    ) -> None:
        """An error (any non-200, or a broken transfer), or the whole right zip; ``when``
        (e.g. ``"after StreamReset(…): "``) starts the failure's first line."""
        if answer.ok and zip_h1_or_problem(answer.body) != stored.h1:
            size = stored.zip_path.stat().st_size
            raise AssertionError(
                self.story(
                    f"{when}passed a bad artifact on as success: 200 with "
                    f"{len(answer.body):,} bytes that are not the upstream's zip "
                    f"({size:,} bytes, {stored.h1})",
                    answer,
                )
            )

    def expect_recovery(
        self,
        plan: FaultPlan,
        stored: StoredVersion,
        healed: str,
        *,
        not_found_for: float = 0.0,
        poll: float = 1.0,
    ) -> None:
        """The zip's first download meets ``plan``: an error or the whole zip, never a bad
        one; the next download, with the upstream healthy again, gets the whole zip.

        ``not_found_for`` allows a negative cache: for that many seconds a 404 or 410 may
        still come back (asked again every ``poll`` seconds); any other answer is judged.
        """
        self.fault(plan, None, path="*.zip")
        answer = self.get(self.zip_url())
        self.expect_fault_met(self.upstream_glob("@v/*.zip"), answer)
        self.expect_no_partial_success(answer, stored)
        deadline = time.monotonic() + not_found_for
        again = self.get(self.zip_url())
        while again.status in (404, 410) and again.error is None and time.monotonic() < deadline:
            time.sleep(poll)
            again = self.get(self.zip_url())
        self.expect_zip(again, stored, healed)

    def expect_not_found(self, answer: Answer) -> None:
        """404 or 410: the only "not found" the go command falls through on."""
        if answer.error is not None or answer.status not in (404, 410):
            raise AssertionError(self.story("expected 404 or 410 (not found)", answer))

    def expect_error(self, answer: Answer, why: str) -> None:
        if answer.ok:
            raise AssertionError(self.story(f"expected an error: {why}", answer))

    # -- evidence (evidence.py): the fault met the target, and the target works -------

    def upstream_glob(self, endpoint: str = "*", *, module: str | None = None) -> str:
        """A glob for the upstream's paths of ``endpoint`` (e.g. ``@v/*.zip``) of a module."""
        return f"/{escape_path(module or self.module)}/{endpoint}"

    def expect_fault_met(
        self, glob: str, *answers: Answer, faulted: bool = True, host: str = UPSTREAM_HOST
    ) -> None:
        """The upstream (or ``host``) got a request matching ``glob``, and (``faulted``) a
        fault applied."""
        failure = PROXY_WITNESS.fault(self.network.log, host, glob, faulted=faulted)
        self._expect_evidence(failure, answers)

    def expect_upstream_connection(self, *answers: Answer) -> None:
        """The proxy connected to the upstream (where a broken chain meets it)."""
        failure = PROXY_WITNESS.connection(self.network.log, UPSTREAM_HOST)
        self._expect_evidence(failure, answers)

    def _expect_evidence(self, failure: str | None, answers: tuple[Answer, ...]) -> None:
        if failure is not None:
            raise AssertionError(self.story(failure, *answers))

    def repair_upstream(self) -> None:
        """Serve the upstream again as the fixture did: a complete chain, 404 for missing."""
        self.network.add_goproxy(UPSTREAM_HOST, self.store, replace=True)

    def expect_control(self) -> None:
        """The positive control: a sibling module nothing is wrong with comes through whole.

        A sibling, not this case's module: whether a target may remember this
        module's failure is the business of other cases (gone-is-not-forever).
        """
        module = f"{self.module}/{CONTROL}"
        stored = self.add(module=module)
        answer = self.get(self.zip_url(module=module))
        self.expect_zip(answer, stored, f"{CONTROL_FAILED}: the zip of {module}")


# --- client cases -------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRun:
    """One client download: what the client said, and every zip it left in ``dest``."""

    result: ClientResult
    zips: dict[Path, str] = field(default_factory=dict)

    def describe(self) -> str:
        said = "succeeded" if self.result.ok else "failed"
        lines = [f"the client {said} after {self.result.seconds:.2f} s"]
        lines += [f"  left {path}: {h1}" for path, h1 in self.zips.items()] or ["  left no zip"]
        output = self.result.output.strip().splitlines()[-12:]
        lines += ["  its output:", *(f"    {line}" for line in output)]
        return "\n".join(lines)


@dataclass
class ClientCase:
    """One client case: the client under test and the private network it downloads from."""

    target: ClientTarget
    network: Network
    store: ModuleStore
    directory: Path
    module: str = "example.test/m"
    version: str = "v1.0.0"
    runs: int = 0

    def add(self, module: str | None = None, *, go_mod_tail: bytes = b"") -> StoredVersion:
        """Put the module (this case's, or ``module``) in the store; its go.mod is the
        module line, then ``go_mod_tail``."""
        path = module or self.module
        go_mod = f"module {path}\n".encode() + go_mod_tail
        return self.store.add(path, self.version, files=FILES, go_mod=go_mod)

    def fault(
        self,
        host: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
    ) -> None:
        self.network.fault(host, *plans, path=path, must_fire=must_fire)

    def run(
        self, goproxy: str = DEFAULT_GOPROXY, *, module: str | None = None, gosumdb: str = "off"
    ) -> ClientRun:
        """Let the client download this case's module (or ``module``) into a fresh directory.

        ``gosumdb`` reaches the target only when it is not ``off``, so a target
        written before there were checksum-database cases still runs every other case.
        """
        self.runs += 1
        dest = self.directory / f"dest-{self.runs}"
        dest.mkdir(parents=True)
        result = self.target.download(
            module or self.module,
            self.version,
            goproxy,
            dest,
            router=self.network.router_url,
            ca_bundle=self.network.ca_bundle,
            **({"gosumdb": gosumdb} if gosumdb != "off" else {}),
        )
        zips = {
            path: zip_h1_or_problem(path.read_bytes())
            for path in sorted(dest.rglob("*.zip"))
            if path.is_file()
        }
        return ClientRun(result, zips)

    def story(self, headline: str, run: ClientRun) -> str:
        lines = [headline, f"  client: {self.target.name}", f"  {run.describe()}"]
        lines.append("  connections:")
        log = self.network.format_log() or "(none)"
        lines += [f"    {line}" for line in log.splitlines()]
        return "\n".join(lines)

    def _wrong_zips(self, run: ClientRun, stored: StoredVersion) -> list[str]:
        return [f"{os.fspath(p)} ({h1})" for p, h1 in run.zips.items() if h1 != stored.h1]

    def expect_success(self, run: ClientRun, stored: StoredVersion) -> None:
        """The client said it succeeded and left exactly the right zip."""
        if not run.result.ok:
            raise AssertionError(self.story("expected the download to succeed", run))
        if not run.zips:
            raise AssertionError(self.story("succeeded but left no zip in dest", run))
        wrong = self._wrong_zips(run, stored)
        if wrong:
            raise AssertionError(
                self.story(f"succeeded with a wrong zip (want {stored.h1}): {wrong}", run)
            )

    def expect_failure(self, run: ClientRun, stored: StoredVersion, why: str) -> None:
        """The client said it failed, and kept no partial or wrong zip."""
        self.expect_nothing_wrong_kept(run, stored)
        if run.result.ok:
            raise AssertionError(self.story(f"expected the download to fail: {why}", run))

    def expect_nothing_wrong_kept(
        self, run: ClientRun, stored: StoredVersion, when: str = ""
    ) -> None:
        """No zip in ``dest`` but the right one; ``when`` starts the failure's first line."""
        wrong = self._wrong_zips(run, stored)
        if wrong:
            raise AssertionError(
                self.story(f"{when}kept a partial or wrong zip (want {stored.h1}): {wrong}", run)
            )

    # -- evidence (evidence.py): the fault met the client, and the client works -------

    def expect_fault_met(
        self, run: ClientRun, host: str = PROXY_HOST, glob: str = "*", *, faulted: bool = True
    ) -> None:
        """The client asked ``host`` for ``glob``, and (``faulted``) a fault applied."""
        failure = CLIENT_WITNESS.fault(self.network.log, host, glob, faulted=faulted)
        if failure is not None:
            raise AssertionError(self.story(failure, run))

    def expect_connection(self, run: ClientRun, host: str = PROXY_HOST) -> None:
        """The client connected to ``host`` (where a broken chain meets it)."""
        failure = CLIENT_WITNESS.connection(self.network.log, host)
        if failure is not None:
            raise AssertionError(self.story(failure, run))

    def repair_proxy(self) -> None:
        """Serve proxy.test again as the fixture did, with a complete chain."""
        self.network.add_goproxy(PROXY_HOST, self.store, replace=True)

    def clear_faults(self, host: str, path: str | None = None) -> None:
        """Drop what is still queued for ``host`` (and ``path``): the network is healthy."""
        self.network.fault(host, path=path)

    def expect_control(
        self, stored: StoredVersion, goproxy: str = DEFAULT_GOPROXY, *, gosumdb: str = "off"
    ) -> None:
        """The positive control: with nothing wrong any more, the client downloads ``stored``."""
        self.expect_control_run(self.run(goproxy, module=stored.path, gosumdb=gosumdb), stored)

    def expect_control_run(self, run: ClientRun, stored: StoredVersion) -> None:
        """``run``, a download of ``stored`` with nothing wrong, succeeded: the control."""
        try:
            self.expect_success(run, stored)
        except AssertionError as exc:
            raise AssertionError(f"{CONTROL_FAILED}: {exc}") from None


def client_verify(ca_bundle: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.fspath(ca_bundle))
