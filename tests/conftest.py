"""Checks every test of the project's own suite: nothing may outlive it.

A resilience tool has to be more reliable than what it tests, so a test that
leaves a thread or a child process behind fails here, by name. Threads whose
name starts with ``gomodnet-session`` belong to session-scoped servers and are
expected to live on.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SESSION_THREAD_PREFIX = "gomodnet-session"
# How long a finished test's threads may take to wind down before they count as leaked.
GRACE_SECONDS = 2.0


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith(SESSION_THREAD_PREFIX)}


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        pids.update(int(pid) for pid in task.read_text().split())
    return pids


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    threads_before, children_before = _threads(), _children()
    yield
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        leaked_threads = _threads() - threads_before
        leaked_children = _children() - children_before
        if not (leaked_threads or leaked_children) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    problems = [f"thread {t.name!r} still alive" for t in leaked_threads]
    problems += [f"child process {pid} still running" for pid in leaked_children]
    if problems:
        pytest.fail(f"{request.node.nodeid} leaked: " + "; ".join(problems), pytrace=False)
