"""Running the bench's helper processes so that a failure says what went wrong.

A benchmark that fails in CI is seen only through its own stderr, so a helper's exit
status alone (``check=True``) would lose the helper's traceback: it is kept here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

#: How much of a failed helper's output is kept in the error.
TAIL = 3000


class HelperFailed(RuntimeError):
    """A helper process exited with a failure; the message carries its output's tail."""


def finished(
    command: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end, or :class:`HelperFailed` naming its exit status and
    the tails of its stdout and stderr."""
    done = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise HelperFailed(
            f"{' '.join(command)} exited {done.returncode}\n"
            f"--- its stdout (tail) ---\n{done.stdout[-TAIL:]}\n"
            f"--- its stderr (tail) ---\n{done.stderr[-TAIL:]}"
        )
    return done


def output_of(command: Sequence[str], *, timeout: float, cwd: Path | None = None) -> str:
    """The standard output of ``command`` run by :func:`finished`."""
    return finished(command, timeout=timeout, cwd=cwd).stdout
