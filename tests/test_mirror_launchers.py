"""The real-mirror launchers (``python -m pytest_gomodnet.mirrors.NAME``) stay in the caller's
hands: in the foreground, on 127.0.0.1, everything in one temporary directory that is gone
once SIGTERM has stopped them, with no process left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pytest_gomodnet._listeners import listeners
from pytest_gomodnet.mirrors._launch import SERVERS, Server
from pytest_gomodnet.network import Network
from test_real_mirrors import require

#: Seconds a server may take to open its port, and the launcher to exit after SIGTERM.
START_DEADLINE, EXIT_DEADLINE = 20.0, 10.0


def test_a_server_that_is_not_installed_is_named_with_its_package() -> None:
    server = Server("x", "gomodnet-no-such-server", "gomodnet-server", "x.in", lambda *a: [])
    with pytest.raises(SystemExit) as excinfo:
        server.find()
    assert str(excinfo.value) == (
        "x: gomodnet-no-such-server is not installed (not on PATH or in /usr/sbin, /sbin, "
        "/usr/local/sbin): install it, e.g. apt-get install gomodnet-server"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _await_port(port: int, process: subprocess.Popen[bytes], session: int) -> None:
    """Until a process of ``session`` listens on ``port``; another process that took the
    port first fails the test by name (a connection to it would look like the server)."""
    deadline = time.monotonic() + START_DEADLINE
    while not (held := listeners(port, session)).ours:
        assert not held.taken, f"port {port} was taken first by {held.describe_others()}"
        assert process.poll() is None, f"exited with {process.returncode}"
        assert time.monotonic() < deadline, f"port {port} never opened"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SERVERS))
def test_a_launcher_runs_its_server_in_the_foreground_and_cleans_up(
    name: str, tmp_path: Path
) -> None:
    require(name)
    # The default temporary directory: as root, the server's workers must be able to reach
    # its run directory, and pytest's own (mode 0700 above it) they cannot.
    port, scratch = _free_port(), Path(tempfile.gettempdir())
    before = set(scratch.glob(f"gomodnet-{name}-*"))
    with Network.standalone(directory=tmp_path / "net") as net:
        upstream = net.direct_url("upstream.test", tls=name != "varnish")
        command = [sys.executable, "-m", f"pytest_gomodnet.mirrors.{name}", "--port", str(port)]
        command += ["--upstream", upstream, "--ca-bundle", str(net.ca_bundle)]
        if name == "apache":
            command += ["--router", net.router_url]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _await_port(port, process, session=process.pid)
            (run,) = set(scratch.glob(f"gomodnet-{name}-*")) - before  # config, cache, pid
            assert (run / SERVERS[name].template.removesuffix(".in")).is_file()
            process.send_signal(signal.SIGTERM)
            assert process.wait(EXIT_DEADLINE) == 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert not run.exists()
    with pytest.raises(ProcessLookupError):  # not one worker of it left
        os.killpg(process.pid, 0)


def _session_members(session: int) -> list[str]:
    """The live processes (zombies aside) of ``session``, as ``pid name``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while listing
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        state, sid = fields[0], int(fields[3])
        if sid == session and state != "Z":
            members.append(f"{stat.parent.name} {name}")
    return members


@pytest.mark.slow
def test_a_launcher_whose_caller_is_killed_stops_its_server(tmp_path: Path) -> None:
    """pytest killed with SIGKILL: the launcher sees its parent gone and stops nginx."""
    require("nginx")
    port = _free_port()
    with Network.standalone(directory=tmp_path / "net") as net:
        launcher = [sys.executable, "-m", "pytest_gomodnet.mirrors.nginx", "--port", str(port)]
        launcher += ["--upstream", net.direct_url("upstream.test")]
        launcher += ["--ca-bundle", str(net.ca_bundle)]
        caller_code = (
            "import subprocess, sys, time\n"
            f"child = subprocess.Popen({launcher!r}, start_new_session=True,\n"
            "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n"
        )
        caller = subprocess.Popen([sys.executable, "-c", caller_code], stdout=subprocess.PIPE)
        assert caller.stdout is not None
        session = int(caller.stdout.readline())
        try:
            _await_port(port, caller, session)
            assert any(member.endswith(" nginx") for member in _session_members(session))
            caller.kill()
            caller.wait()
            deadline = time.monotonic() + EXIT_DEADLINE
            while (left := _session_members(session)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert left == []
        finally:
            if caller.poll() is None:
                caller.kill()
                caller.wait()
            caller.stdout.close()
            if _session_members(session):
                os.killpg(session, signal.SIGKILL)
