"""Checks every test of the project's own suite: nothing may outlive it.

A resilience tool has to be more reliable than what it tests, so a test that
leaves a thread, a socket or a child process behind fails here, by name.
Threads whose name starts with ``gomodnet-session`` belong to session-scoped
servers and are expected to live on; so are the sockets those servers (and
module-scoped fixtures) opened before the test began, since the check compares
the sockets open after the test with those open before it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SESSION_THREAD_PREFIX = "gomodnet-session"
# How long a finished test's threads and sockets may take to wind down before they
# count as leaked.
GRACE_SECONDS = 2.0


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith(SESSION_THREAD_PREFIX)}


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids.update(int(pid) for pid in task.read_text().split())
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return pids


def _sockets() -> set[str]:
    """Open sockets of this process, as ``fd → socket:[inode]`` (a reused fd is a new entry)."""
    found: set[str] = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while listing
            continue
        if target.startswith("socket:"):
            found.add(f"fd {fd.name} → {target}")
    return found


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    threads_before, children_before, sockets_before = _threads(), _children(), _sockets()
    yield
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        leaked_threads = _threads() - threads_before
        leaked_children = _children() - children_before
        leaked_sockets = _sockets() - sockets_before
        if not (leaked_threads or leaked_children or leaked_sockets):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    problems = [f"thread {t.name!r} still alive" for t in leaked_threads]
    problems += [f"child process {pid} still running" for pid in leaked_children]
    problems += [f"socket {s} still open" for s in sorted(leaked_sockets)]
    if problems:
        pytest.fail(f"{request.node.nodeid} leaked: " + "; ".join(problems), pytrace=False)
