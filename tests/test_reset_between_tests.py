"""The reset at the end of every test, as a mirror that pools its upstream connections sees it.

A mirror keeps its connections to the upstream open between requests; the reset ends
them. A connection that speaks HTTP/2 gets a GOAWAY first (NO_ERROR, naming the last
stream taken), as from a server that shuts down, so that a mirror which sends its next
request before it has read the end sends it again on a new connection instead of
failing it: Caddy, stopped across a reset without that GOAWAY, answered 502 in 8 and 11
of 40 rounds, the likely cause of a verdict CI once saw fail (docs/conformance.md). Each
of the five real mirrors is put through that race here; the four that pool HTTP/1.1
connections get no GOAWAY, and come through as well, but for one race of Varnish's own:
when its idle-connection watcher sees the upstream's FIN just after a worker took that
connection, the worker logs it as a fresh one ("connect", on the pooled connection's own
port) and does not retry the fetch it fails: a 503, about one round in 900 here. Such a
round is excused only when Varnish's own log (varnishlog) shows exactly that.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h2.events
import httpx
import pytest

from _h2net import MODULE, BareH2Client, of_stream
from pytest_gomodnet.conformance.targets import (
    PROXY_PLACEHOLDERS,
    CommandTemplate,
    RunningCommand,
    run_proxy_command,
)
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Backbone, Network
from pytest_gomodnet.tls import GomodnetCA
from test_mirror_launchers import START_DEADLINE
from test_real_mirrors import RECIPES, require

UPSTREAM = "upstream.test"
#: The mirrors that speak HTTP/2 to the upstream (Go's client, in Caddy).
SPEAKS_H2 = {"caddy"}
#: Rounds of the race below: without the GOAWAY, about one in four went wrong on Caddy.
ROUNDS = 20
#: Seconds a request through the mirror may take.
ANSWER_TIMEOUT = 10.0
#: Seconds the next request waits in the mirror's socket while it is stopped.
WAITING = 0.05
#: Rounds that Varnish's own race may take (see the module docstring): at most this many.
VARNISH_RACES = 2


def test_a_reset_says_goaway_to_an_open_http2_connection_first(gomodnet, module_store) -> None:
    module_store.add(MODULE, "v1.0.0")
    gomodnet.add_goproxy("proxy.test", module_store)
    with BareH2Client(gomodnet) as client:
        stream = client.get(f"/{MODULE}/@v/v1.0.0.mod")
        client.until(lambda events: of_stream(events, stream, h2.events.StreamEnded))
        gomodnet.close()  # what the fixture's teardown does
        events = client.until(
            lambda events: any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
        )
    (goaway,) = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert (goaway.error_code, goaway.last_stream_id) == (0, stream)
    assert client.frames[-1] == ("GOAWAY", 0, set())


@contextlib.contextmanager
def _mirror(name: str, network: Network) -> Iterator[RunningCommand]:
    """The mirror ``name`` started by its recipe as the real-mirror suite starts it, on a
    port it listens on itself."""
    direct = {
        "upstream_direct": network.direct_url(UPSTREAM),
        "upstream_http": network.direct_url(UPSTREAM, tls=False),
        "upstream_host": UPSTREAM,
    }
    with run_proxy_command(
        CommandTemplate(RECIPES[name], PROXY_PLACEHOLDERS),
        upstream=f"https://{UPSTREAM}",
        router=network.router_url,
        ca_bundle=network.ca_bundle,
        start_timeout=START_DEADLINE,
        endpoints=direct,
    ) as mirror:
        try:
            yield mirror
        finally:
            with contextlib.suppress(ProcessLookupError):  # if a round left it stopped
                os.killpg(mirror.process.pid, signal.SIGCONT)


def _pooled(mirror: RunningCommand, round_: int) -> httpx.Response:
    """The request of ``round_`` that the mirror's pooled upstream connection serves; a
    failure names the round and shows the mirror's output."""
    try:
        return httpx.get(f"{mirror.url}/a.test/pooled{round_}/@v/list", timeout=ANSWER_TIMEOUT)
    except httpx.HTTPError as exc:
        pytest.fail(f"round {round_}: {exc!r}; the mirror's output:\n{mirror.output()}")


def _asked_while_stopped(
    process: subprocess.Popen[bytes], url: str, reset: Callable[[], None]
) -> int:
    """Stop the mirror's process group, ``reset()``, send ``url`` to it, let it go on: the
    status."""
    answers: list[httpx.Response | BaseException] = []

    def ask() -> None:
        try:
            answers.append(httpx.get(url, timeout=ANSWER_TIMEOUT))
        except httpx.HTTPError as exc:
            answers.append(exc)

    os.killpg(process.pid, signal.SIGSTOP)
    try:
        reset()
        asking = threading.Thread(target=ask)
        asking.start()
        asking.join(WAITING)  # the request now waits in the mirror's socket
    finally:
        os.killpg(process.pid, signal.SIGCONT)
    asking.join(ANSWER_TIMEOUT + 1)
    (answer,) = answers
    assert isinstance(answer, httpx.Response), answer
    return answer.status_code


@dataclass(frozen=True)
class _Attempt:
    """One connection a fetch went out on: its local port, how Varnish labelled it
    ("connect" or "reuse"), and the error it met ("" if none)."""

    local_port: str
    opened: str
    error: str = ""


@dataclass(frozen=True)
class _Fetch:
    """One fetch of Varnish's from its backend, as varnishlog shows it: each connection
    it tried, in order, and the status it ended with."""

    url: str
    attempts: tuple[_Attempt, ...]
    status: str


def _varnish_directory(group: int) -> str:
    """The working directory (``-n``) of the varnishd in process group ``group``."""
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and argv[0].endswith(b"varnishd") and b"-n" in argv:
            return argv[argv.index(b"-n") + 1].decode()
    raise AssertionError(f"no varnishd in process group {group}")


@contextlib.contextmanager
def _varnish_fetches(group: int, port: int, log: Path) -> Iterator[Callable[[], list[_Fetch]]]:
    """varnishlog's record of every backend fetch while the block runs, attached (a first
    request seen in it) before the block starts."""
    tags = "BereqURL,BackendOpen,FetchError,BerespStatus"
    directory = _varnish_directory(group)
    command = ["varnishlog", "-n", directory, "-g", "vxid", "-b", "-i", tags, "-u"]
    with log.open("wb") as output:
        logger = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        for attempt in itertools.count():  # a new path each time: Varnish caches the 404
            if b"/a.test/attached" in log.read_bytes():
                break
            assert time.monotonic() < deadline, f"varnishlog showed no fetch: {log.read_text()}"
            url = f"http://127.0.0.1:{port}/a.test/attached{attempt}/@v/list"
            httpx.get(url, timeout=ANSWER_TIMEOUT)
            time.sleep(0.1)
        yield lambda: _fetches(log.read_text())
    finally:
        logger.terminate()
        logger.wait(ANSWER_TIMEOUT)


def _fetches(text: str) -> list[_Fetch]:
    fetches = []
    for block in text.split("\n\n"):
        url, status, attempts = "", "", []
        for line in block.splitlines():
            if not line.startswith("-"):
                continue
            tag, _, value = line[1:].strip().partition(" ")
            value = value.strip()
            if tag == "BereqURL":
                url = value
            elif tag == "BerespStatus":
                status = value
            elif tag == "BackendOpen":
                fields = value.split()
                attempts.append(_Attempt(fields[5], fields[6]))
            elif tag == "FetchError" and attempts:
                attempts[-1] = _Attempt(attempts[-1].local_port, attempts[-1].opened, value)
        if url and attempts:
            fetches.append(_Fetch(url, tuple(attempts), status))
    return fetches


def _logged(fetches: Callable[[], list[_Fetch]], last_round: int) -> list[_Fetch]:
    """The fetches logged so far, once the last round's has been (a mirror other than
    Varnish logs none: then at once)."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while True:
        seen = fetches()
        if not seen or any(f.url == f"/a.test/next{last_round}/@v/list" for f in seen):
            return seen
        assert time.monotonic() < deadline, f"varnishlog did not show round {last_round}"
        time.sleep(0.05)


def _varnish_races(statuses: list[int], fetches: list[_Fetch]) -> set[int]:
    """The rounds whose 503 Varnish's log shows as its own race: the round's fetch went
    out once, on a pooled connection (a port an earlier fetch used) labelled a fresh one,
    met the FIN the reset sent, and was not retried."""
    races = set()
    for round_, status in enumerate(statuses):
        url = f"/a.test/next{round_}/@v/list"
        tries = [i for i, fetch in enumerate(fetches) if fetch.url == url]
        if status != 503 or len(tries) != 1 or len(fetches[tries[0]].attempts) != 1:
            continue
        fetch, earlier = fetches[tries[0]], fetches[: tries[0]]
        (attempt,) = fetch.attempts
        ports = {a.local_port for e in earlier for a in e.attempts}
        seen = (attempt.opened, fetch.status, attempt.error.split(" (")[0])
        if attempt.local_port in ports and seen == ("connect", "503", "HTC eof"):
            races.add(round_)
    return races


def _story(statuses: list[int], fetches: list[_Fetch]) -> str:
    """Each round's status and the fetches of its two requests, for a failure message."""
    lines = []
    for round_, status in enumerate(statuses):
        lines.append(f"round {round_}: {status}")
        for fetch in fetches:
            if fetch.url.split("/")[2] in (f"pooled{round_}", f"next{round_}"):
                lines.append(f"  {fetch.url} -> {fetch.status}: {fetch.attempts}")
    return "\n".join(lines)


def _logged_fetch(url: str, port: int, opened: str, error: str, status: int) -> str:
    return "\n".join(
        [
            "*   << BeReq    >> 32858",
            f"-   BereqURL       {url}",
            f"-   BackendOpen    20 upstream 127.0.0.1 37561 127.0.0.1 {port} {opened}",
            *([f"-   FetchError     {error}"] if error else []),
            f"-   BerespStatus   {status}",
        ]
    )


def _retried(url: str, port: int, fresh_port: int, status: int) -> str:
    """A fetch Varnish retried: its pooled connection met the end, then a fresh one."""
    return _logged_fetch(url, port, "reuse", "HTC eof (-1)", status).replace(
        "-   BerespStatus",
        f"-   BackendOpen    20 upstream 127.0.0.1 37561 127.0.0.1 {fresh_port} connect\n"
        "-   BerespStatus",
    )


#: Round 1 of a run where Varnish's race struck (ports and labels as varnishlog gave them):
#: the pooled connection (port 53166) taken again for next1, labelled "connect".
_RACE = [
    _retried("/a.test/next0/@v/list", 53160, 53166, 404),
    _logged_fetch("/a.test/pooled1/@v/list", 53166, "reuse", "", 404),
    _logged_fetch("/a.test/next1/@v/list", 53166, "connect", "HTC eof (-1)", 503),
]


@pytest.mark.parametrize(
    ("last", "excused"),
    [
        (_RACE[2], {1}),
        # A fresh connection (a port not seen before) that failed: the upstream's doing.
        (_logged_fetch("/a.test/next1/@v/list", 53170, "connect", "HTC eof (-1)", 503), set()),
        # Retried on a fresh connection that failed too: the upstream's doing.
        (_retried("/a.test/next1/@v/list", 53166, 53172, 503), set()),
        # A pooled connection that a write could not reach (a RST): no excuse either.
        (_logged_fetch("/a.test/next1/@v/list", 53166, "reuse", "backend write error", 503), set()),
    ],
    ids=["varnish-race", "fresh-connection-failed", "retried-and-failed", "reused-and-reset"],
)
def test_only_varnishs_own_race_is_excused(last: str, excused: set[int]) -> None:
    fetches = _fetches("\n\n".join([*_RACE[:2], last]) + "\n\n")
    assert [f.url for f in fetches][-1] == "/a.test/next1/@v/list"
    assert fetches[0].attempts == (
        _Attempt("53160", "reuse", "HTC eof (-1)"),
        _Attempt("53166", "connect"),
    )
    assert _varnish_races([404, 503], fetches) == excused


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECIPES))
def test_a_mirror_stopped_across_a_reset_still_gets_the_upstreams_answer(
    name: str, tmp_path: Path, module_store: ModuleStore
) -> None:
    """Each round, the mirror's pooled connection to the upstream serves one request; the
    mirror is stopped, the network reset (the end of a test), and the next request
    reaches it before it runs again: the upstream's 404 comes back, never a 502."""
    require(name)
    with Backbone(GomodnetCA(tmp_path / "ca"), tmp_path) as backbone:
        networks = [backbone.network()]
        networks[-1].add_goproxy(UPSTREAM, module_store)

        def reset() -> None:
            networks[-1].close()
            networks.append(backbone.network())
            networks[-1].add_goproxy(UPSTREAM, module_store)

        try:
            with _mirror(name, networks[-1]) as mirror, contextlib.ExitStack() as stack:
                process, port = mirror.process, int(mirror.url.rsplit(":", 1)[1])
                # Varnish's backend fetches as its log shows them; other mirrors have none.
                fetches: Callable[[], list[_Fetch]] = (
                    stack.enter_context(_varnish_fetches(process.pid, port, tmp_path / "log"))
                    if name == "varnish"
                    else list
                )
                statuses = []
                for round_ in range(ROUNDS):
                    pooled = _pooled(mirror, round_)
                    assert pooled.status_code == 404, (round_, pooled.text, mirror.output())
                    url = f"http://127.0.0.1:{port}/a.test/next{round_}/@v/list"
                    statuses.append(_asked_while_stopped(process, url, reset))
                races = _varnish_races(statuses, _logged(fetches, ROUNDS - 1))
                assert len(races) <= VARNISH_RACES, _story(statuses, fetches())
                unexcused = [(r, s) for r, s in enumerate(statuses) if s != 404 and r not in races]
                assert not unexcused, f"{unexcused}\n{_story(statuses, fetches())}"
            if races:  # excused, and said: the suite's summary lists it
                warnings.warn(f"Varnish's own race in rounds {races}", stacklevel=1)
            # The last answer came from the upstream, over the protocol the mirror speaks.
            (last,) = [c for c in networks[-1].log if c.host == UPSTREAM and c.exchanges]
            assert last.exchanges[-1].path.endswith(f"/next{ROUNDS - 1}/@v/list")
            assert last.protocol == ("h2" if name in SPEAKS_H2 else "http/1.1")
        finally:
            networks[-1].close(check_faults=False)
