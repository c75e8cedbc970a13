"""``python -m pytest_gomodnet replay FILE``: a failing test's network, up again outside pytest."""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _helpers import require_program
from pytest_gomodnet._replay_file import Call, load
from pytest_gomodnet.faults import Truncate
from pytest_gomodnet.replay import main
from test_per_example import FUZZ

INNER = """
from pathlib import Path
from pytest_gomodnet.faults import Status, Truncate

def test_cut(gomodnet, module_store):
    stored = module_store.add("example.test/m", "v1.0.0", files={"a.go": b"package m\\n" * 200})
    Path("zip.bin").write_bytes(stored.zip_path.read_bytes())
    gomodnet.add_goproxy("proxy.test", module_store)
    goimport = gomodnet.add_goimport("example.test")
    goimport.add("example.test/m", vcs="mod", repo="https://proxy.test")
    gomodnet.fault("proxy.test", Truncate(300, where="body"), path="*.zip")
    gomodnet.fault("example.test", Status(503, b"busy"))
    gomodnet.client().get("https://proxy.test/example.test/m/@v/v1.0.0.zip")
"""
#: Seconds the replay gets to come up, and to stop after SIGINT.
START_DEADLINE = 30.0
STOP_DEADLINE = 10.0


@pytest.fixture
def replay_file(pytester: pytest.Pytester) -> Path:
    """The replay file a failing test left, found where its report says."""
    pytester.makepyfile(test_cut=INNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    prefix = "replay this network by hand (Ctrl-C stops it): python -m pytest_gomodnet replay "
    lines = [line for line in result.outlines if line.startswith(prefix)]
    assert len(lines) == 1, result.stdout.str()
    file = Path(lines[0].removeprefix(prefix))
    assert file.name == "test_cut.py-test_cut.replay.json"
    assert file.parent.name == "gomodnet-replay"
    return file


@pytest.fixture
def replaying(replay_file: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], str]]:
    """The replay running: its process, the exports it printed, and its curl line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_gomodnet", "replay", str(replay_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until(process, "serving until Ctrl-C")
        assignments = [shlex.split(line)[1] for line in lines if line.startswith("export ")]
        exports = dict(assignment.split("=", 1) for assignment in assignments)
        curl = next(line for line in lines if line.startswith("curl "))
        yield process, exports, curl
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=STOP_DEADLINE)


def _read_until(process: subprocess.Popen[str], last: str) -> list[str]:
    """Lines of the replay's stdout up to ``last``, read straight from the pipe (a buffered
    reader would hold lines that select() no longer sees)."""
    assert process.stdout is not None
    said = b""
    deadline = time.monotonic() + START_DEADLINE
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while f"\n{last}\n".encode() not in said:
            left = deadline - time.monotonic()
            ready = left > 0 and selector.select(left)
            assert ready, f"no {last!r} within {START_DEADLINE} s: {said.decode()}"
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"the replay ended: {said.decode()}"
            said += chunk
    return said.decode().splitlines()


# No httpx here: a module first imported while pytester runs is dropped from sys.modules
# after, and httpx's lazily built map of httpcore errors would then outlive its classes.
def test_a_replayed_network_answers_the_printed_curl_line_with_the_same_cut(
    replaying: tuple[subprocess.Popen[str], dict[str, str], str], pytester: pytest.Pytester
) -> None:
    process, exports, curl = replaying
    router, ca = exports["HTTPS_PROXY"], exports["SSL_CERT_FILE"]
    assert exports["GOPROXY"] == "https://proxy.test"
    assert exports["GOSUMDB"] == "off"
    assert shlex.split(curl) == [
        "curl", "--silent", "--show-error", "--proxy", router, "--cacert", ca,
        "--output", "response.bin", "https://proxy.test/example.test/m/@v/v1.0.0.zip",
    ]  # fmt: skip
    zip_bytes = (pytester.path / "zip.bin").read_bytes()

    require_program("curl")
    done = subprocess.run(
        shlex.split(curl), cwd=pytester.path, capture_output=True, text=True, timeout=30
    )
    # The same fault: 300 body bytes of the zip, then the end (curl: error 18, partial
    # file). proxy.test offers HTTP/2, and curl takes it: the cut ends its stream 1.
    assert done.returncode == 18, done.stderr
    assert done.stderr == (
        "curl: (18) HTTP/2 stream 1 was not closed cleanly before end of the underlying stream\n"
    )
    assert (pytester.path / "response.bin").read_bytes() == zip_bytes[:300]

    # The queue had one plan: the next request is clean.
    get = ["curl", "--silent", "--show-error", "--proxy", router, "--cacert", ca]
    again = subprocess.run([*get, curl.split()[-1]], capture_output=True, timeout=30, check=True)
    assert again.stdout == zip_bytes
    # The go-import host and its fault came back too: first a 503, then the page.
    get += ["--write-out", "\n%{http_code}", "https://example.test/m?go-get=1"]
    busy = subprocess.run(get, capture_output=True, text=True, timeout=30, check=True)
    assert busy.stdout == "busy\n503"
    page = subprocess.run(get, capture_output=True, text=True, timeout=30, check=True)
    assert page.stdout.endswith("\n200")
    assert '<meta name="go-import" content="example.test/m mod https://proxy.test">' in page.stdout

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=STOP_DEADLINE)
    assert (process.returncode, out, err) == (0, "stopped: the network is down\n", "")


def test_the_real_go_command_meets_the_replayed_cut(
    replaying: tuple[subprocess.Popen[str], dict[str, str], str], go: object, tmp_path: Path
) -> None:
    from pytest_gomodnet.gotool import GoToolchain

    assert isinstance(go, GoToolchain)
    _, exports, _ = replaying
    result = go.run("mod", "download", "-json", "example.test/m@v1.0.0", home=tmp_path, env=exports)
    assert "unexpected EOF" in result.stdout + result.stderr, result


def test_a_test_failing_at_teardown_leaves_its_replay_with_its_modules(
    pytester: pytest.Pytester,
) -> None:
    """A fault that never fired fails the teardown, after module_store has closed (it was
    set up last): the replay file was written while the store was still open."""
    pytester.makepyfile(
        test_unfired="""
from pytest_gomodnet.faults import Truncate

def test_unfired(gomodnet, module_store):
    module_store.add("example.test/m", "v1.0.0")
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", Truncate(3), path="*.zip")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    prefix = "replay this network by hand (Ctrl-C stops it): python -m pytest_gomodnet replay "
    line = next(line for line in result.outlines if line.startswith(prefix))
    recipe = load(Path(line.removeprefix(prefix)))
    assert [(m["path"], m["version"]) for m in recipe.hosts[0]["modules"]] == [
        ("example.test/m", "v1.0.0")
    ]
    assert recipe.calls == [Call("fault", "proxy.test", (Truncate(3),), path="*.zip")]
    assert recipe.faulted == []


def write(tmp_path: Path, document: object) -> Path:
    file = tmp_path / "net.replay.json"
    file.write_text(json.dumps(document))
    return file


GOOD = {
    "format": "pytest-gomodnet replay",
    "version": 1,
    "written_by": "pytest-gomodnet 0.1.0.dev0",
    "test": "t.py::t",
    "seed": 7,
    "hosts": [{"host": "sum.test", "kind": "sumdb", "shape": "complete", "framing": None}],
    "calls": [{"call": "fault", "host": "sum.test", "plans": ["Truncate(at=3)"], "path": None}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"version": 2, "written_by": "pytest-gomodnet 9.0"},
            "is version 2 (pytest-gomodnet 9.0); this pytest-gomodnet 0.1.0.dev0 replays "
            "version 1 only: replay it with the version that wrote it, or run the test again "
            "to write a new one",
        ),
        (
            {"format": "something else"},
            'is not a replay file (no "format": "pytest-gomodnet replay")',
        ),
        ({"hosts": None}, '"hosts" is None: it must be a list'),
        (
            {"hosts": [{"host": "sum.test", "shape": "complete"}]},
            'hosts[0] has no "kind" key: it needs one (str)',
        ),
        (
            {"calls": [{"call": "fault", "host": "sum.test", "plans": ["Trunc(at=3)"]}]},
            "calls[0].plans[0] 'Trunc(at=3)': unknown fault 'Trunc': one of ChunkedCut, "
            "CloseBeforeResponse, Corrupt, DataBeforeHeaders, Drip, EndStreamEarly, GoAway, "
            "HandshakeAbort, HtmlLogin, LieContentLength, NoSettingsAck, Refuse, Reset, "
            "SlowFirstByte, Stall, Status, StreamReset, Throttle, Truncate, WindowStall, "
            "WrongContentType",
        ),
        (
            {"calls": [{"call": "fault", "host": "sum.test", "plans": ["Truncate(at=-1)"]}]},
            "calls[0].plans[0] 'Truncate(at=-1)': Truncate: at=-1 must be >= 0",
        ),
        (
            {"calls": [{"call": "fault", "host": "sum.test", "plans": ["Truncate(when=1)"]}]},
            "calls[0].plans[0] 'Truncate(when=1)': Truncate.__init__() got an unexpected "
            "keyword argument 'when'",
        ),
        (
            {"calls": [{"call": "frame", "host": "sum.test", "framing": "gzip"}]},
            "calls[0] \"framing\" is 'gzip': one of content-length, chunked, close or null",
        ),
    ],
    ids=["version", "format", "hosts", "kind", "fault-name", "fault-arg", "fault-key", "framing"],
)
def test_a_bad_replay_file_is_one_clear_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    file = write(tmp_path, {**GOOD, **change})
    assert main(["replay", str(file)]) == 2
    assert capsys.readouterr() == ("", f"error: replay file {file} {message}\n")


def test_a_host_the_network_refuses_is_named_with_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    goimport = {"host": "example.test", "kind": "goimport", "shape": "complete", "framing": None}
    prefix = {"prefix": "example.test/m", "repo": "https://proxy.test", "variant": "good"}
    file = write(tmp_path, {**GOOD, "hosts": [{**goimport, "prefixes": [prefix]}], "calls": []})
    assert main(["replay", str(file)]) == 2
    assert capsys.readouterr().err == (
        f"error: replay file {file} hosts[0] (example.test) has no 'vcs' key\n"
    )
    file = write(tmp_path, {**GOOD, "hosts": [{**goimport, "shape": "wobbly", "prefixes": []}]})
    assert main(["replay", str(file)]) == 2
    assert capsys.readouterr().err == (
        f'error: replay file {file} hosts[0] (example.test): unknown chain shape "wobbly": '
        "valid shapes are complete, missing-intermediate, wrong-order, expired-leaf, "
        "not-yet-valid, expired-intermediate, wrong-host, self-signed, untrusted-root\n"
    )


def test_a_file_that_is_not_json_or_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "gone.json")]) == 2
    assert capsys.readouterr().err == (
        f"error: cannot read replay file {tmp_path / 'gone.json'}: No such file or directory\n"
    )
    (tmp_path / "x.json").write_text("{")
    assert main(["replay", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'x.json'} is not JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)): give a *.replay.json file\n"
    )


def test_a_hypothesis_test_replays_its_last_failing_example(pytester: pytest.Pytester) -> None:
    """Only the shrunk, failing example's faults and hits: not every example's."""
    pytester.makepyfile(FUZZ.replace("PER_EXAMPLE", "gomodnet.example()"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    [cut] = {
        int(at) for at in re.findall(r"gomodnet\.fault\(.*Truncate\(at=(\d+),", result.stdout.str())
    }
    prefix = "replay this network by hand (Ctrl-C stops it): python -m pytest_gomodnet replay "
    line = next(line for line in result.outlines if line.startswith(prefix))
    recipe = load(Path(line.removeprefix(prefix)))
    assert recipe.calls == [Call("fault", "proxy.test", (Truncate(cut), None), path="*.zip")]
    assert [hit["fault"] for hit in recipe.faulted] == [repr(Truncate(cut))]
    seed = re.search(r"seed: (\d+) \(replay with", result.stdout.str())
    assert seed is not None
    assert recipe.seed == int(seed[1])


def test_http1_only_goes_into_a_replay_file_and_back() -> None:
    from pytest_gomodnet._replay_file import _call_data, parse_call

    call = parse_call("http1_only('proxy.test')")
    assert _call_data(call) == {"call": "http1_only", "host": "proxy.test"}
    assert call.call == "http1_only"
