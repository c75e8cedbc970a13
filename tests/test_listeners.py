"""A started proxy command counts as up only once it listens on its port itself: a port
another process took first (another xdist worker's server) is never mistaken for it."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from pytest_gomodnet._listeners import Listeners, listeners
from pytest_gomodnet.conformance import targets
from pytest_gomodnet.conformance.targets import (
    PORT_ATTEMPTS,
    PROXY_PLACEHOLDERS,
    CommandTemplate,
    TargetError,
    run_proxy_command,
)

#: A target that serves its working directory's listing on {port} (and exits, as most
#: servers do, when it cannot bind it).
SERVER = "{python} -m http.server --bind 127.0.0.1 {port}"


@contextmanager
def _listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _own_command() -> str:
    return Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def test_a_socket_this_session_listens_on_is_ours_and_anothers_is_named() -> None:
    with _listening() as port:
        assert listeners(port, os.getsid(0)) == Listeners(port, ours=True)
        held = listeners(port, session=os.getsid(0) + 1)
    assert held == Listeners(port, ours=False, others=(f"pid {os.getpid()} ({_own_command()})",))
    assert held.taken


def test_a_port_bound_but_not_listening_is_nobodys() -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        assert listeners(port, os.getsid(0)) == Listeners(port, ours=False)


def test_a_listening_socket_whose_holder_cannot_be_seen_is_taken(tmp_path: Path) -> None:
    """As /proc shows a socket of another user's process: in the table, held by no one."""
    (tmp_path / "net").mkdir()
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    row = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4242"
    (tmp_path / "net" / "tcp").write_text(f"{head}\n{row} 1 0 100 0 0 10 0\n")
    held = listeners(0x1F90, session=1, proc=tmp_path)
    assert held == Listeners(0x1F90, ours=False, unseen=True)
    assert held.describe_others() == "a process this user cannot see"
    assert listeners(0x1F91, session=1, proc=tmp_path) == Listeners(0x1F91, ours=False)


def _ports(monkeypatch: pytest.MonkeyPatch, *ports: int) -> list[int]:
    """Make the suite's free ports these, in order; the list of those handed out."""
    given: list[int] = []
    queue = list(ports)

    def free_port() -> int:
        given.append(queue.pop(0))
        return given[-1]

    monkeypatch.setattr(targets, "_free_port", free_port)
    return given


def test_a_command_whose_port_was_taken_starts_again_on_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "served-by-the-target").touch()
    free_then = targets._free_port()
    with _listening() as taken:
        given = _ports(monkeypatch, taken, free_then)
        with run_proxy_command(
            CommandTemplate(SERVER, PROXY_PLACEHOLDERS),
            upstream="https://upstream.test",
            router="http://127.0.0.1:1",
            ca_bundle="ca",
        ) as running:
            assert given == [taken, free_then]
            assert running.url == f"http://127.0.0.1:{free_then}"
            assert "served-by-the-target" in httpx.get(running.url, timeout=5).text


def test_a_command_whose_every_port_was_taken_names_who_holds_the_last(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with _listening() as first, _listening() as second, _listening() as third:
        given = _ports(monkeypatch, first, second, third)
        starting = run_proxy_command(
            CommandTemplate(SERVER, PROXY_PLACEHOLDERS),
            upstream="https://upstream.test",
            router="http://127.0.0.1:1",
            ca_bundle="ca",
        )
        with pytest.raises(TargetError) as excinfo, starting:
            pass
    assert given == [first, second, third][:PORT_ATTEMPTS]
    message = str(excinfo.value)
    assert message.startswith(
        f"{sys.executable} -m http.server --bind 127.0.0.1 {third} could not have port "
        f"{third}: pid {os.getpid()} ({_own_command()}) listens on it (this was attempt 3; "
        "a command must listen from its own process group's session, not a detached one); "
        "its last output:\n"
    )
