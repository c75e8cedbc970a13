"""The mirror state machine: it finds the naive mirror's poisoning and passes the careful one."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from werkzeug import Response

from pytest_gomodnet.network import Network
from pytest_gomodnet.stateful import run_mirror_machine

UPSTREAM = "upstream.test"
# Seconds a mirror may take to say it is listening (the machine is shared), and to exit.
START_DEADLINE, EXIT_DEADLINE = 20.0, 5.0
# The defaults, derandomized and without the example database: the same runs every time.
QUICK = settings(
    max_examples=50,
    stateful_step_count=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def start_mirror(gomodnet: Network, module_store, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Run ``python -m pytest_gomodnet.mirrors.<kind>`` in front of upstream.test; its URL."""
    gomodnet.add_goproxy(UPSTREAM, module_store)
    processes: list[subprocess.Popen[bytes]] = []

    def start(kind: str) -> str:
        command = [
            sys.executable, "-m", f"pytest_gomodnet.mirrors.{kind}",
            "--upstream", f"https://{UPSTREAM}", "--port", "0",
            "--proxy", gomodnet.router_url, "--ca-bundle", str(gomodnet.ca_bundle),
            "--cache", str(tmp_path / f"{kind}-cache"),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        processes.append(process)
        return _listening_url(process)

    yield start
    for process in processes:
        process.terminate()
        assert process.wait(timeout=EXIT_DEADLINE) == 0
        assert process.stdout is not None
        process.stdout.close()


def _listening_url(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    fd, line = process.stdout.fileno(), b""
    deadline = time.monotonic() + START_DEADLINE
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 1024) if ready else b""
        if not chunk:
            pytest.fail(f"the mirror never said it was listening: {line!r}")
        line += chunk
    return line.decode().removeprefix("listening on ").strip()


def test_the_machine_finds_the_naive_mirrors_poisoning(start_mirror, gomodnet, module_store):
    url = start_mirror("naive_mirror")
    with pytest.raises(AssertionError) as found:
        run_mirror_machine(gomodnet, module_store, url, upstream=UPSTREAM, settings=QUICK)
    message = str(found.value)
    assert re.match(
        rf"poisoned: after the fault, a clean GET {re.escape(url)}/example\.test/run\d+/@v/"
        r"v1\.\d\.0\.zip got 200 with the wrong artifact",
        message,
    ), message
    # The steps that show it, as code: a fault upstream, a fetch the mirror kept.
    steps = "\n".join(getattr(found.value, "__notes__", []))
    arm = (
        r"state\.arm_upstream_fault\(data=data\(\.\.\.\), plan=(Truncate|Reset|Corrupt|HtmlLogin)\("
    )
    assert re.search(arm, steps), steps
    assert "state.fetch_a_faulted_version(data=data(...))" in steps, steps
    assert "Draw 1 (version): 'v1." in steps, steps


def test_the_careful_mirror_passes_the_machine(start_mirror, gomodnet, module_store):
    url = start_mirror("careful_mirror")
    run_mirror_machine(gomodnet, module_store, url, upstream=UPSTREAM, settings=QUICK)
    fired = [x.fault for c in gomodnet.log for x in c.exchanges if x.fault]
    assert len(fired) > 5  # the faults did reach it: the pass is evidence
    assert {f.split("(")[0] for f in fired} >= {"Truncate", "Corrupt", "HtmlLogin"}


def test_a_mirror_that_refuses_everything_fails_the_recovery_property(
    gomodnet, module_store, httpserver
):
    # The degenerate target: never a wrong artifact, because never one at all.
    gomodnet.add_goproxy(UPSTREAM, module_store)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(
        lambda request: Response("no\n", status=502)
    )
    with pytest.raises(AssertionError, match=r"^no recovery: the faults cleared, but ") as failed:
        run_mirror_machine(
            gomodnet, module_store, httpserver.url_for(""), upstream=UPSTREAM, settings=QUICK
        )
    assert "is not served: 502 b'no\\n'" in str(failed.value)


def test_the_upstream_must_be_a_host_of_the_network(gomodnet, module_store) -> None:
    with pytest.raises(ValueError, match=r"add it with gomodnet.add_goproxy\('up.test', store\)"):
        run_mirror_machine(gomodnet, module_store, "http://127.0.0.1:1", upstream="up.test")
