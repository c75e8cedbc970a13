"""Who listens on a loopback port: proof that a command the suite started, and not a
process that took its port first, is what answers there.

A command is given a port the kernel said was free a moment before; under pytest-xdist
another worker's server can bind it in between, and then a connection to the port
succeeds against the wrong server (a connection to a port nobody listens on can even
succeed against itself). So the port counts as the command's only when a listening
socket on it belongs to a process of the command's session, as Linux's ``/proc`` shows.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

#: The state ``/proc/net/tcp`` gives a listening socket.
_LISTEN = "0A"


@dataclass(frozen=True)
class Listeners:
    """The listening sockets on one port: whether any is the command's, and who else holds
    one (``others``: each as ``pid N (its command line)``; ``unseen``: a socket whose
    holder this user cannot see)."""

    port: int
    ours: bool
    others: tuple[str, ...] = ()
    unseen: bool = False

    @property
    def taken(self) -> bool:
        """Someone other than the command listens on the port."""
        return bool(self.others) or self.unseen

    def describe_others(self) -> str:
        """Who else listens, for an error message."""
        return ", ".join([*self.others, *["a process this user cannot see"] * self.unseen])


def listeners(port: int, session: int, proc: Path = Path("/proc")) -> Listeners:
    """Who listens on TCP ``port`` (at any address), told apart by ``session``. Where there
    is no ``/proc/net/tcp`` to read (not Linux), whoever answers counts as the command.
    ``proc`` is where the socket tables and fd folders are read; a process's session
    comes from the kernel (``os.getsid``)."""
    inodes = _listening_inodes(port, proc)
    if inodes is None:
        return Listeners(port, ours=_answers_on(port))
    if not inodes:
        return Listeners(port, ours=False)
    pids = [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]
    # The command's own processes first: their sockets alone are read on the usual path.
    members = [pid for pid in pids if _session(pid) == session]
    if any(_socket_inodes(proc / str(pid) / "fd") & inodes for pid in members):
        return Listeners(port, ours=True)
    others, seen = [], set()
    for pid in sorted(set(pids) - set(members)):
        held = _socket_inodes(proc / str(pid) / "fd") & inodes
        if held:
            seen |= held
            others.append(f"pid {pid} ({_command(pid, proc)})")
    return Listeners(port, ours=False, others=tuple(others), unseen=bool(inodes - seen))


def _answers_on(port: int) -> bool:
    """A connection to ``port`` that is not to itself (a connect to a port nobody listens
    on may pick that very port as its own)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
            return bool(probe.getsockname()[1] != port)
    except OSError:
        return False


def _listening_inodes(port: int, proc: Path) -> set[int] | None:
    tables = [proc / "net" / "tcp", proc / "net" / "tcp6"]
    if not tables[0].exists():
        return None
    inodes = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue  # no IPv6
        for line in lines:
            fields = line.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(fds: Path) -> set[int]:
    try:
        names = os.listdir(fds)
    except OSError:
        return set()  # gone, or not this user's to see
    inodes = set()
    for name in names:
        try:
            target = os.readlink(fds / name)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _session(pid: int) -> int | None:
    """The session id of ``pid``; None once it is gone."""
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _command(pid: int, proc: Path) -> str:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "gone"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or "?"
