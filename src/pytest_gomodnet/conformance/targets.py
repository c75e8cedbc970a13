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
``SSL_CERT_FILE`` to the network's CA bundle, so anything that honours the
usual environment (the go command, Go's net/http, httpx, curl) reaches the
private network with no flags at all.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
}
#: What a client command may name, and what each becomes.
CLIENT_PLACEHOLDERS = {
    "module": "the module path to download (e.g. mod.test/c1/m)",
    "version": "the version to download (e.g. v1.0.0)",
    "goproxy": "the GOPROXY list to use (e.g. https://proxy.test, or direct)",
    "dest": "an empty directory to download into",
    "ca_bundle": PROXY_PLACEHOLDERS["ca_bundle"],
    "router": PROXY_PLACEHOLDERS["router"],
    "gosumdb": "the checksum database to verify against, as GOSUMDB says it, or off",
}

#: Seconds a proxy command gets to open its port.
START_TIMEOUT = 15.0
#: Seconds a stopped target gets to exit after SIGTERM, before SIGKILL.
STOP_TIMEOUT = 3.0
#: Seconds a client command gets to finish one download.
CLIENT_TIMEOUT = 60.0
#: How many lines of a target's output a failure shows.
TAIL_LINES = 30


class TargetError(GoModNetError):
    """A target command that cannot be used: bad template, failed start, no port."""


@dataclass(frozen=True)
class CommandTemplate:
    """A command line with ``{placeholders}``, checked before anything runs."""

    text: str
    allowed: Mapping[str, str] = field(compare=False, repr=False)
    what: str = field(default="command", compare=False)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise TargetError(f"the {self.what} is empty")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(self.text) if name}
            shlex.split(self.text)
        except ValueError as exc:
            raise TargetError(f"the {self.what} {self.text!r} does not parse: {exc}") from None
        unknown = sorted(names - set(self.allowed))
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in self.allowed)
            raise TargetError(
                f"the {self.what} {self.text!r} uses unknown placeholder(s) "
                f"{', '.join(f'{{{name}}}' for name in unknown)}; known: {known}"
            )

    @property
    def name(self) -> str:
        """A short id for reports: the program, or the script a Python runs."""
        words = shlex.split(self.text)
        program = Path(words[0]).name
        if program.startswith("python") and len(words) > 1:
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
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    env["SSL_CERT_FILE"] = os.fspath(ca_bundle)
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
) -> Iterator[RunningCommand]:
    """Start the proxy command on a free port, wait until it listens, stop it afterwards.

    Raises TargetError, naming the command, its exit status and the tail of
    its output, if it exits early or does not open its port in time.
    """
    port = _free_port()
    values = {
        "upstream": upstream,
        "port": str(port),
        "ca_bundle": os.fspath(ca_bundle),
        "router": router,
    }
    argv = template.argv(values)
    with tempfile.NamedTemporaryFile(prefix="gomodnet-target-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    try:
        process = _spawn(argv, target_env(router, ca_bundle), log_path)
        try:
            _await_port(process, port, argv, log_path, start_timeout)
            yield RunningCommand(template.name, f"http://127.0.0.1:{port}", argv, process, log_path)
        finally:
            _stop(process)
    finally:
        log_path.unlink(missing_ok=True)


def _free_port() -> int:
    # The target binds the port itself; the suite only picks one the kernel says is free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _await_port(
    process: subprocess.Popen[bytes], port: int, argv: list[str], log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = process.poll()
        if status is not None:
            raise TargetError(
                f"{shlex.join(argv)} exited with status {status} before it opened port {port}"
                f"; its last output:\n{_tail(log_path) or '(none)'}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TargetError(
                f"{shlex.join(argv)} did not open port {port} within {timeout:g} s"
                f"; its last output:\n{_tail(log_path) or '(none)'}"
            )
        time.sleep(0.05)


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
