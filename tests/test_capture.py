"""Captures of failing gomodnet tests: tcpdump on loopback, a TLS key log, and tshark reading both.

Each test runs an inner pytest (a subprocess: tcpdump is its child) and then
reads what it left with the real tshark, the way a person would.
"""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from _helpers import require_program
from pytest_gomodnet.capture import DISPLAY_FILTER, tshark_command

#: What a failing test reads: a zip cut after 300 of its body bytes (or reset there).
INNER = """
import httpx, pytest, ssl
from pathlib import Path
from pytest_gomodnet.faults import Reset, Truncate

PLAN = {plan}

def test_cut(gomodnet, module_store):
    stored = module_store.add("example.test/m", "v1.0.0", files={{"a.go": b"package m\\n" * 200}})
    Path("zip.bin").write_bytes(stored.zip_path.read_bytes())
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", PLAN, path="*.zip")
    gomodnet.client().get("https://proxy.test/example.test/m/@v/v1.0.0.zip")

def test_direct(gomodnet, module_store):
    module_store.add("example.test/m", "v1.0.0", files={{"a.go": b"package m\\n" * 200}})
    gomodnet.add_goproxy("proxy.test", module_store)
    gomodnet.fault("proxy.test", PLAN, path="*.zip")
    url = gomodnet.direct_url("proxy.test")
    context = ssl.create_default_context(cafile=str(gomodnet.ca_bundle))
    context.check_hostname = False  # the leaf names proxy.test, not 127.0.0.1
    httpx.Client(verify=context).get(url + "/example.test/m/@v/v1.0.0.zip")

def test_clean(gomodnet, module_store):
    module_store.add("example.test/m", "v1.0.0")
    gomodnet.add_goproxy("proxy.test", module_store)
    assert gomodnet.client().get("https://proxy.test/example.test/m/@v/list").text == "v1.0.0\\n"
"""
TRUNCATE = "Truncate(300, where='body')"
RESET = "Reset(300, where='body')"
NO_NOTIFY = "Truncate(300, where='body', close='tls-no-close-notify')"


def run_inner(pytester: pytest.Pytester, plan: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_cut=INNER.format(plan=plan))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


#: Tries for a whole capture: other tests flooding lo can still overflow tcpdump's buffer.
CAPTURE_TRIES = 3


def run_whole_capture(pytester: pytest.Pytester, plan: str, *args: str) -> pytest.RunResult:
    """:func:`run_inner` until its capture is whole: tshark cannot decrypt past a packet
    the kernel dropped, and the plugin says when it did (tested on its own below)."""
    for _ in range(CAPTURE_TRIES):
        result = run_inner(pytester, plan, *args)
        if not any(line.startswith("capture incomplete: ") for line in result.outlines):
            return result
    pytest.fail(f"every one of {CAPTURE_TRIES} captures lost packets: {result.stdout.str()}")


def tshark(command: list[str], *more: str) -> str:
    done = subprocess.run([*command, *more], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def printed_tshark_command(result: pytest.RunResult) -> list[str]:
    lines = [line.strip() for line in result.outlines if line.strip().startswith("tshark ")]
    assert len(lines) == 1, result.stdout.str()
    return shlex.split(lines[0])


def server_bytes(command: list[str], port: int) -> bytes:
    """The decrypted bytes the Router sent on the capture's one TLS stream (tshark's follow)."""
    pcap, keys = command[command.index("-r") + 1], command[command.index("-o") + 1]
    follow = tshark(["tshark", "-r", pcap, "-o", keys, "-q", "-z", "follow,tls,raw,0"])
    assert f"Node 0: 127.0.0.1:{port}" in follow, follow
    # Node 0's (the Router's) data lines are the ones without a leading tab.
    body = follow.split("=" * 67)[1].split("\n")[5:]
    return b"".join(bytes.fromhex(line) for line in body if line and not line.startswith("\t"))


def first_ending(command: list[str], port: int) -> str:
    """How ``port`` first ended a connection in the capture: "fin" or "reset".

    (Later ones may follow: the kernel resets a client that writes, e.g. a TLS
    alert, after the Router closed.)"""
    ending = f"tcp.srcport == {port} && (tcp.flags.fin == 1 || tcp.flags.reset == 1)"
    fields = ["-T", "fields", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset"]
    rows = tshark(command[:3], "-Y", ending, *fields).split("\n")
    fin, reset = rows[0].split("\t")
    assert {fin, reset} == {"0", "1"}, rows
    return "fin" if fin == "1" else "reset"


@pytest.mark.parametrize(
    ("plan", "flag"), [(TRUNCATE, "fin"), (RESET, "reset"), (NO_NOTIFY, "fin")], ids=str
)
def test_a_failing_test_leaves_a_capture_tshark_decrypts(
    pytester: pytest.Pytester, plan: str, flag: str
) -> None:
    require_program("tcpdump")
    require_program("tshark")
    result = run_whole_capture(pytester, plan, "--gomodnet-capture=caps", "test_cut.py::test_cut")
    result.assert_outcomes(failed=1)
    caps = pytester.path / "caps"
    pcap, keys = caps / "test_cut.py-test_cut.pcap", caps / "test_cut.py-test_cut.keys"
    result.stdout.fnmatch_lines([f"capture: {pcap}", f"TLS key log: {keys}"])
    command = printed_tshark_command(result)
    port = int(re.search(r"tcp\.port==(\d+),http", " ".join(command))[1])  # type: ignore[index]

    shown = tshark(command)
    assert re.search(r"HTTP \d+ CONNECT proxy\.test:443 HTTP/1\.1", shown), shown
    assert re.search(r"HTTP \d+ GET /example\.test/m/@v/v1\.0\.0\.zip HTTP/1\.1", shown), shown
    assert re.search(r"HTTP \d+ HTTP/1\.1 200 OK\s+\(application/zip\)", shown), shown
    # Who ended the connection, and how: the Router, from its port, with a FIN or a RST
    # (the FIN may ride on the last data segment: ask for the flags, not for a TCP line).
    assert first_ending(command, port) == flag
    # Only an orderly TLS close sends close_notify first.
    assert ("Alert (Level: Warning, Description: Close Notify)" in shown) == (plan == TRUNCATE)

    zip_bytes = (pytester.path / "zip.bin").read_bytes()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
        f"Content-Length: {len(zip_bytes)}\r\n\r\n"
    ).encode()
    assert server_bytes(command, port) == head + zip_bytes[:300]

    # Only the Router's connections: every packet has its port at one end.
    ends = tshark(["tshark", "-r", str(pcap), "-T", "fields", "-e", "tcp.port"]).split()
    assert ends
    assert all(str(port) in pair.split(",") for pair in ends), ends


def test_a_direct_tls_port_is_decoded_too(pytester: pytest.Pytester) -> None:
    require_program("tcpdump")
    require_program("tshark")
    result = run_whole_capture(
        pytester, TRUNCATE, "--gomodnet-capture=caps", "test_cut.py::test_direct"
    )
    result.assert_outcomes(failed=1)
    command = printed_tshark_command(result)
    direct = int(re.search(r"tcp\.port==(\d+),tls", " ".join(command))[1])  # type: ignore[index]
    shown = tshark(command)
    assert "CONNECT" not in shown
    assert re.search(r"HTTP \d+ GET /example\.test/m/@v/v1\.0\.0\.zip HTTP/1\.1", shown), shown
    assert first_ending(command, direct) == "fin"


def test_without_the_key_log_tshark_sees_no_http_inside_the_tunnel(
    pytester: pytest.Pytester,
) -> None:
    """The degenerate reader: the same capture without its key log shows no GET."""
    require_program("tcpdump")
    require_program("tshark")
    result = run_whole_capture(
        pytester, TRUNCATE, "--gomodnet-capture=caps", "test_cut.py::test_cut"
    )
    command = printed_tshark_command(result)
    keyless = [word for word in command if not word.startswith("tls.keylog_file:")]
    keyless.remove("-o")
    shown = tshark(keyless)
    assert "CONNECT proxy.test:443" in shown
    assert "GET /example.test" not in shown


def test_a_passing_test_keeps_nothing_unless_all_are_asked_for(pytester: pytest.Pytester) -> None:
    require_program("tcpdump")
    result = run_inner(pytester, TRUNCATE, "--gomodnet-capture=caps", "test_cut.py::test_clean")
    result.assert_outcomes(passed=1)
    assert sorted(p.name for p in (pytester.path / "caps").iterdir()) == []

    result = run_inner(
        pytester,
        TRUNCATE,
        "--gomodnet-capture=all",
        "--gomodnet-capture-all",
        "test_cut.py::test_clean",
    )
    result.assert_outcomes(passed=1)
    kept = sorted(p.name for p in (pytester.path / "all").iterdir())
    assert kept == ["test_cut.py-test_clean.keys", "test_cut.py-test_clean.pcap"]
    assert (pytester.path / "all" / "test_cut.py-test_clean.pcap").stat().st_size > 24


def test_capture_all_alone_captures_every_test_under_the_temporary_directory(
    pytester: pytest.Pytester,
) -> None:
    require_program("tcpdump")
    base = pytester.path / "base"
    result = run_inner(
        pytester,
        TRUNCATE,
        "--gomodnet-capture-all",
        f"--basetemp={base}",
        "test_cut.py::test_clean",
    )
    result.assert_outcomes(passed=1)
    kept = sorted(p.name for p in (base / "gomodnet-capture").iterdir())
    assert kept == ["test_cut.py-test_clean.keys", "test_cut.py-test_clean.pcap"]
    assert (base / "gomodnet-capture" / "test_cut.py-test_clean.pcap").stat().st_size > 24


def test_the_marker_captures_one_test_without_the_option(pytester: pytest.Pytester) -> None:
    require_program("tcpdump")
    marked = INNER.format(plan=TRUNCATE).replace(
        "def test_cut", "@pytest.mark.gomodnet_capture\ndef test_cut"
    )
    pytester.makepyfile(test_cut=marked)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2, passed=1)
    line = next(line for line in result.outlines if line.startswith("capture: "))
    pcap = Path(line.removeprefix("capture: "))
    assert pcap.name == "test_cut.py-test_cut.pcap"
    assert pcap.parent.name == "gomodnet-capture"
    assert pcap.stat().st_size > 24
    keys = pcap.with_suffix(".keys").read_text().splitlines()
    labels = {line.split()[0] for line in keys if not line.startswith("#")}
    # One TLS 1.3 connection's secrets, in the SSLKEYLOGFILE format.
    assert labels == {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    }


def fake_tcpdump(directory: Path, script: str) -> str:
    """A PATH whose tcpdump is ``script`` (a shell script), and nothing else."""
    directory.mkdir()
    program = directory / "tcpdump"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return str(directory)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (None, "tcpdump is not installed (no tcpdump on PATH): install it (Debian: "),
        (
            'echo "tcpdump: lo: You don\'t have permission to capture on that device" >&2; exit 1',
            "tcpdump cannot capture on lo (exit 1): tcpdump: lo: You don't have permission "
            "to capture on that device",
        ),
    ],
    ids=["missing", "not-permitted"],
)
def test_no_capture_is_reported_and_fails_no_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, script: str | None, reason: str
) -> None:
    bin_dir = pytester.path / "bin"
    path = fake_tcpdump(bin_dir, script) if script else str(pytester.path / "empty")
    monkeypatch.setenv("PATH", path)
    result = run_inner(pytester, TRUNCATE, "--gomodnet-capture=caps")
    # test_cut and test_direct fail for their own reason (the cut), test_clean passes.
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [f"capture: none ({reason}*", "replay this network by hand (Ctrl-C stops it): *"]
    )
    result.stdout.no_fnmatch_line("*CaptureError*")
    left = {p.name for p in (pytester.path / "caps").iterdir()}
    assert left == {
        "test_cut.py-test_cut.replay.json",
        "test_cut.py-test_cut.replay.json.store",
    } | {
        "test_cut.py-test_direct.replay.json",
        "test_cut.py-test_direct.replay.json.store",
    }


def test_packets_the_kernel_dropped_are_reported_with_the_capture(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tcpdump's last words name the packets it lost; the report says the capture has gaps."""
    require_program("tcpdump")
    real = shutil.which("tcpdump")
    # The real tcpdump, whose last words at the stop say the kernel dropped 7 packets.
    script = f"""
case " $* " in *" -r "*) exec {real} "$@" ;; esac
trap 'kill -TERM $child; wait $child; echo "7 packets dropped by kernel" >&2; exit 0' TERM
{real} "$@" &
child=$!
wait $child
"""
    monkeypatch.setenv("PATH", fake_tcpdump(pytester.path / "bin", script))
    result = run_inner(pytester, TRUNCATE, "--gomodnet-capture=caps", "test_cut.py::test_cut")
    result.assert_outcomes(failed=1)
    pcap = pytester.path / "caps" / "test_cut.py-test_cut.pcap"
    result.stdout.fnmatch_lines(
        [
            f"capture: {pcap}",
            "capture incomplete: the kernel dropped 7 packets before tcpdump read them (a busy "
            "machine); TLS cannot be decrypted past a gap: run the test again alone for a "
            "whole capture",
            "TLS key log: *",
        ]
    )
    assert pcap.stat().st_size > 24  # what was captured is kept all the same


def test_an_unwritable_capture_directory_is_reported(pytester: pytest.Pytester) -> None:
    (pytester.path / "afile").write_text("not a directory")
    result = run_inner(pytester, TRUNCATE, "--gomodnet-capture=afile/caps", "test_cut.py::test_cut")
    result.assert_outcomes(failed=1)
    target = pytester.path / "afile" / "caps"
    result.stdout.fnmatch_lines(
        [
            f"capture: none (cannot write {target}: Not a directory)",
            f"replay: none (cannot copy or write {target}: Not a directory)",
        ]
    )


def test_the_tshark_command_decodes_the_proxy_port_and_each_direct_tls_port() -> None:
    command = tshark_command(
        Path("/c/t.pcap"), Path("/c/t.keys"), proxy_port=4000, tls_ports=[5001]
    )
    assert command == (
        "tshark -r /c/t.pcap -o tls.keylog_file:/c/t.keys -o http.desegment_body:FALSE "
        "-d tcp.port==4000,http -d tcp.port==5001,tls -d tls.port==5001,http "
        f"-Y '{DISPLAY_FILTER}'"
    )


def test_help_lists_the_capture_options_and_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--gomodnet-capture=DIR*", "*--gomodnet-capture-all*"])
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gomodnet_capture: capture this test's*"])
