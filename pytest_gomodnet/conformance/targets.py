"""What the conformance suite tests: proxy targets and client targets.

A *proxy target* serves the GOPROXY protocol at :attr:`ProxyTarget.url`,
fetching from an upstream the suite controls (``https://upstream.test``,
reachable through the Router). A *client target* downloads one module
version through a GOPROXY list into a directory and says whether it
succeeded. Both can be a command line with placeholders, filled in when the
suite starts them::

    --gomodnet-proxy-cmd "my-proxy --upstream {upstream} --listen 127.0.0.1:{port}"
    --gomodnet-client-cmd "my-fetcher {module} {version} {goproxy} {dest}"

A command runs with ``HTTPS_PROXY``/``HTTP_PROXY`` set to the Router and
``SSL_CERT_FILE`` (and git's ``GIT_SSL_CAINFO``) to the network's CA bundle, so
anything that honours the usual environment (the go command, Go's net/http,
httpx, curl, git) reaches the private network with no flags at all.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol

from pytest_gomodnet._listeners import listeners
from pytest_gomodnet._process import ProcessTimeout, run_bounded
from pytest_gomodnet.errors import GoModNetError

__all__ = [
    "CLIENT_PLACEHOLDERS",
    "PROXY_PLACEHOLDERS",
    "ClientResult",
    "ClientTarget",
    "CommandClient",
    "CommandTemplate",
    "ProxyTarget",
    "TargetError",
    "run_proxy_command",
]

#: What a proxy command may name, and what each becomes.
PROXY_PLACEHOLDERS = {
    "upstream": "the GOPROXY URL of the suite's upstream (https://upstream.test)",
    "port": "a free port on 127.0.0.1 for the target to listen on",
    "ca_bundle": "the PEM file of the root CA the upstream's chain comes from",
    "router": "the forward proxy (http://127.0.0.1:PORT) that reaches the upstream",
    "python": "the Python that runs pytest (its venv's, activated or not), for python -m",
    "upstream_host": "the upstream's host name (upstream.test), for SNI, Host and its certificate",
    "upstream_port": "a port on 127.0.0.1 that serves the upstream's TLS directly, no proxy needed",
    "upstream_direct": "https://127.0.0.1:{upstream_port}: the upstream without a forward proxy",
    "upstream_http": "http://127.0.0.1:PORT: the upstream in plain HTTP, for targets without TLS",
}

#: What a client command may name, and what each becomes.
CLIENT_PLACEHOLDERS = {
    "module": "the module path to download (e.g. mod.test/c1/m)",
    "version": "the version to download (e.g. v1.0.0)",
    "goproxy": "the GOPROXY list to use (e.g. https://proxy.test, or direct)",
    "dest": "an empty directory to download into",
    "ca_bundle": PROXY_PLACEHOLDERS["ca_bundle"],
    "router": PROXY_PLACEHOLDERS["router"],
    "python": PROXY_PLACEHOLDERS["python"],
    "gosumdb": "the checksum database to verify against, as GOSUMDB says it, or off",
}
#: Why a client command cannot name a proxy command's own placeholders.
PROXY_ONLY = {
    name: "a proxy command's placeholder: a client reaches the network through {goproxy}"
    for name in PROXY_PLACEHOLDERS.keys() - CLIENT_PLACEHOLDERS.keys()
}

#: What a target reaches without the Router (NO_PROXY).
LOOPBACK = "127.0.0.1,localhost,::1"
#: Seconds a proxy command gets to serve its first clean request.
START_TIMEOUT = 15.0
#: Seconds between two readiness probes of a proxy command that is starting.
PROBE_INTERVAL = 0.1
#: Seconds a stopped target gets to exit after SIGTERM, before SIGKILL.
STOP_TIMEOUT = 3.0
#: Seconds a client command gets to finish one download.
CLIENT_TIMEOUT = 60.0
#: How many ports a proxy command is started on before a port taken by another process
#: (each time) is an error.
PORT_ATTEMPTS = 3
#: How many lines of a target's output a failure shows.
TAIL_LINES = 30


class TargetError(GoModNetError):
    """A target command that cannot be used: bad template, failed start, never ready."""


#: Asks a starting proxy target at its URL for something it can serve, within the seconds
#: given: None when it did, or what the attempt got instead.
ReadyProbe = Callable[[str, float], "str | None"]


@dataclass(frozen=True)
class CommandTemplate:
    """A command line with ``{placeholders}``, checked before anything runs."""

    text: str
    allowed: Mapping[str, str] = field(compare=False, repr=False)
    what: str = field(default="command", compare=False)
    #: Placeholders of other kinds of command, each with why this one cannot have it.
    foreign: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise TargetError(f"the {self.what} is empty")
        try:
            names = self.names
            shlex.split(self.text)
        except ValueError as exc:
            raise TargetError(f"the {self.what} {self.text!r} does not parse: {exc}") from None
        unknown = sorted(names - set(self.allowed))
        misplaced = [name for name in unknown if name in self.foreign]
        if misplaced:
            name = misplaced[0]
            raise TargetError(
                f"the {self.what} {self.text!r} uses {{{name}}}, {self.foreign[name]}"
            )
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in self.allowed)
            raise TargetError(
                f"the {self.what} {self.text!r} uses unknown placeholder(s) "
                f"{', '.join(f'{{{name}}}' for name in unknown)}; known: {known}"
            )

    @property
    def names(self) -> set[str]:
        """The placeholders the command uses."""
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}

    @property
    def name(self) -> str:
        """A short id for reports: the program, or the script a Python runs."""
        words = shlex.split(self.text)
        program = Path(words[0]).name
        if (program.startswith("python") or program == "{python}") and len(words) > 1:
            rest = [w for w in words[1:] if not w.startswith("-")]
            if words[1] == "-m" and len(words) > 2:
                return words[2].rsplit(".", 1)[-1]
            if rest:
                return Path(rest[0]).stem
        return program

    def argv(self, values: Mapping[str, str]) -> list[str]:
        """The command's words with every placeholder filled (each word on its own)."""
        return [word.format_map(values) for word in shlex.split(self.text)]


def target_env(router: str, ca_bundle: str | os.PathLike[str]) -> dict[str, str]:
    """The caller's environment, pointed at the private network."""
    env = dict(os.environ)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        env[name] = router
    for name in ("ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    # Loopback is reached directly: the upstream's own ports ({upstream_http} …) live there,
    # and the Router routes only the network's host names.
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = LOOPBACK
    env["SSL_CERT_FILE"] = os.fspath(ca_bundle)
    # A client that runs git (direct mode) needs these: git does not read SSL_CERT_FILE,
    # and must fail on a 401 rather than wait for a user name.
    env["GIT_SSL_CAINFO"] = os.fspath(ca_bundle)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


# --- proxy targets ---------------------------------------------------------------


class ProxyTarget(Protocol):
    """What a proxy case needs of a target: where it serves, and what it said."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    def output(self) -> str:
        """The target's own output so far (shown when a case fails)."""
        ...


@dataclass
class RunningCommand:
    """A proxy command that is up: its URL, its process and its output file."""

    name: str
    url: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    upstream_tls: bool = True
    """False when the command reaches the upstream in plain HTTP only ({upstream_http})."""

    def output(self) -> str:
        return _tail(self.log_path)


@dataclass
class StaticTarget:
    """A proxy target you run yourself (e.g. from a conftest fixture): just a URL."""

    name: str
    url: str
    _output: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self._output)


@contextmanager
def run_proxy_command(
    template: CommandTemplate,
    *,
    upstream: str,
    router: str,
    ca_bundle: str | os.PathLike[str],
    start_timeout: float = START_TIMEOUT,
    endpoints: Mapping[str, str] | None = None,
    ready: ReadyProbe | None = None,
) -> Iterator[RunningCommand]:
    """Start the proxy command on a free port, wait until it serves, stop it afterwards.

    ``endpoints`` fills the direct placeholders (``upstream_host`` …) the
    command uses. The command is up when ``ready`` (given its URL) says so, or,
    without a probe, when its port opens. Raises TargetError, naming the
    command and what it last did (its exit status, the probe's last answer, the
    tail of its output), if it exits early or is not up in time.
    """
    values = {
        "upstream": upstream,
        "port": "0",  # a free one, chosen as the command starts
        "ca_bundle": os.fspath(ca_bundle),
        "router": router,
        "python": sys.executable,
        **(endpoints or {}),
    }
    missing = sorted(template.names - set(values))
    if missing:
        raise TargetError(
            f"{template.text!r} uses {', '.join(f'{{{m}}}' for m in missing)}, "
            "which this run cannot fill: pass endpoints= for the direct upstream ports"
        )
    plain = "upstream_http" in template.names and not template.names & {
        "upstream",
        "upstream_direct",
        "upstream_port",
    }
    with tempfile.NamedTemporaryFile(prefix="gomodnet-target-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    try:
        env = target_env(router, ca_bundle)
        starting, port = _start_listening(template, values, env, log_path, start_timeout)
        url = f"http://127.0.0.1:{port}"
        try:
            if ready is not None:
                starting.await_ready(url, ready)
            yield RunningCommand(
                template.name,
                url,
                starting.argv,
                starting.process,
                log_path,
                upstream_tls=not plain,
            )
        finally:
            _stop(starting.process)
    finally:
        log_path.unlink(missing_ok=True)


def _start_listening(
    template: CommandTemplate,
    values: Mapping[str, str],
    env: dict[str, str],
    log_path: Path,
    timeout: float,
) -> tuple[_Starting, int]:
    """Start the command on a port the kernel says is free, until it listens there: the
    starting command and its port. If another process binds the port first (a server of
    another xdist worker), the command cannot have it: it starts again on another."""
    deadline = time.monotonic() + timeout
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = _free_port()
        argv = template.argv({**values, "port": str(port)})
        starting = _Starting(_spawn(argv, env, log_path), argv, log_path, timeout, deadline)
        try:
            starting.await_port(port, last_attempt=attempt == PORT_ATTEMPTS)
        except _PortTaken:
            _stop(starting.process)
            continue
        except BaseException:
            _stop(starting.process)
            raise
        return starting, port
    raise AssertionError("unreachable: the last attempt fails with TargetError")


def _free_port() -> int:
    # The target binds the port itself; the suite only picks one the kernel says is free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _PortTaken(Exception):
    """Another process listens on the port a starting command was given."""


def _spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        try:
            return subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise TargetError(f"cannot start {shlex.join(argv)}: {exc}") from None


@dataclass
class _Starting:
    """A proxy command on its way up: each wait fails with its command line and output."""

    process: subprocess.Popen[bytes]
    argv: list[str]
    log_path: Path
    timeout: float
    deadline: float

    def await_port(self, port: int, *, last_attempt: bool) -> None:
        """Until the command listens on ``port``. Raises _PortTaken when another process
        listens there instead (unless ``last_attempt``: then TargetError says who)."""
        while True:
            held = listeners(port, session=self.process.pid)
            if held.ours:
                return
            if held.taken:
                if not last_attempt:
                    raise _PortTaken(port)
                self._fail(
                    f"could not have port {port}: {held.describe_others()} listens on it "
                    f"(this was attempt {PORT_ATTEMPTS}; a command must listen from its own "
                    "process group's session, not a detached one)"
                )
            self._check_alive(f"before it opened port {port}")
            if time.monotonic() > self.deadline:
                self._fail(f"did not open port {port} within {self.timeout:g} s")
            time.sleep(0.05)

    def await_ready(self, url: str, ready: ReadyProbe) -> None:
        """Probe until a clean request succeeds: an open port is not yet a serving proxy."""
        while True:
            self._check_alive("before it served a clean request")
            problem = ready(url, max(PROBE_INTERVAL, self.deadline - time.monotonic()))
            if problem is None:
                return
            if time.monotonic() > self.deadline:
                self._fail(
                    f"did not serve a clean request within {self.timeout:g} s "
                    f"(--gomodnet-start-timeout); the last attempt: {problem}"
                )
            time.sleep(PROBE_INTERVAL)

    def _check_alive(self, when: str) -> None:
        status = self.process.poll()
        if status is not None:
            self._fail(f"exited with status {status} {when}")

    def _fail(self, what: str) -> NoReturn:
        raise TargetError(
            f"{shlex.join(self.argv)} {what}; its last output:\n{_tail(self.log_path) or '(none)'}"
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the target's process group, then SIGKILL it if it lingers."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _tail(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-TAIL_LINES:])


# --- client targets ----------------------------------------------------------------


@dataclass(frozen=True)
class ClientResult:
    """What a client did: its exit status and what it printed."""

    ok: bool
    output: str
    seconds: float


class ClientTarget(Protocol):
    """Downloads ``module@version`` through ``goproxy`` into ``dest``."""

    @property
    def name(self) -> str: ...

    def download(
        self,
        module: str,
        version: str,
        goproxy: str,
        dest: Path,
        *,
        router: str,
        ca_bundle: Path,
        gosumdb: str = "off",
    ) -> ClientResult:
        """``gosumdb`` is passed only by the cases that put a checksum database on the network."""
        ...


@dataclass(frozen=True)
class CommandClient:
    """A client target run as a command: exit status 0 means it says it succeeded."""

    template: CommandTemplate
    timeout: float = CLIENT_TIMEOUT

    @property
    def name(self) -> str:
        return self.template.name

    def download(
        self,
        module: str,
        version: str,
        goproxy: str,
        dest: Path,
        *,
        router: str,
        ca_bundle: Path,
        gosumdb: str = "off",
    ) -> ClientResult:
        values = {
            "module": module,
            "version": version,
            "goproxy": goproxy,
            "dest": os.fspath(dest),
            "ca_bundle": os.fspath(ca_bundle),
            "router": router,
            "python": sys.executable,
            "gosumdb": gosumdb,
        }
        argv = self.template.argv(values)
        env = target_env(router, ca_bundle)
        if gosumdb != "off":  # a client built on the go command or x/mod reads it there
            env["GOSUMDB"] = gosumdb
        started = time.monotonic()
        try:
            stdout, stderr, status = run_bounded(argv, env, None, self.timeout)
        except ProcessTimeout as exc:
            output = f"killed after {self.timeout:g} s\n{exc.stdout}{exc.stderr}"
            return ClientResult(False, output, time.monotonic() - started)
        except OSError as exc:
            raise TargetError(f"cannot start {shlex.join(argv)}: {exc}") from None
        return ClientResult(
            status == 0, f"exit status {status}\n{stdout}{stderr}", time.monotonic() - started
        )
