"""Run a child process with a deadline that holds for its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["ProcessTimeout", "run_bounded"]

#: Seconds to collect a killed group's last output.
_DRAIN_SECONDS = 10.0


class ProcessTimeout(Exception):
    """The process was still running at its deadline; it and its group were killed."""

    def __init__(self, timeout: float, stdout: str, stderr: str) -> None:
        super().__init__(f"killed after {timeout:g} s")
        self.timeout, self.stdout, self.stderr = timeout, stdout, stderr


def run_bounded(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None, timeout: float
) -> tuple[str, str, int]:
    """Run argv in its own process group; kill the whole group at the deadline.

    Returns (stdout, stderr, exit status); raises ProcessTimeout at the deadline.
    """
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate(timeout=_DRAIN_SECONDS)
            raise ProcessTimeout(timeout, stdout, stderr) from None
        return stdout, stderr, proc.returncode
