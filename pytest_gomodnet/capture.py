"""Packet captures of a network's connections, for Wireshark and tshark.

tcpdump records every TCP packet on the loopback interface while a test runs;
when it stops, tcpdump itself keeps only the packets to and from the Router's
ports (its proxy port and every direct port, those opened mid-test too) in the
final ``.pcap``. The TLS secrets of every connection the Router terminates go
to a key log in the ``SSLKEYLOGFILE`` format (``ssl.SSLContext.keylog_filename``),
which decrypts it: :func:`tshark_command` prints the command that shows the
decrypted HTTP and where a fault ended it.

A capture that cannot be made (no tcpdump, no permission to capture) is a
:class:`CaptureError` with tcpdump's own words; callers report it and carry on.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from .errors import GoModNetError

__all__ = ["Capture", "CaptureError", "tshark_command"]

#: Seconds tcpdump gets to say it is listening (or why it cannot), and to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
#: Seconds tcpdump gets to copy the test's packets out of everything it captured on lo.
FILTER_TIMEOUT = 60.0
#: Seconds the capture keeps running after the last connection closed, so that the
#: kernel hands tcpdump the final FIN or RST packets before it stops.
SETTLE = 0.2
#: tcpdump's kernel buffer, in KiB: everything on lo passes through it, and a busy
#: machine (another test run's downloads) overflows the default 2 MiB, which drops packets.
BUFFER_KIB = 32 * 1024
_DROPPED = re.compile(rb"(\d+) packets? dropped by kernel")
#: What ``tshark -Y`` keeps: the HTTP inside the TLS, TLS alerts and how TCP ended.
DISPLAY_FILTER = "http || tls.alert_message || tcp.flags.fin == 1 || tcp.flags.reset == 1"


class CaptureError(GoModNetError):
    """A capture could not be started or written; the message says why."""


class Capture:
    """A running tcpdump on ``lo``; :meth:`stop` writes ``pcap`` with the given ports only.

    ``Capture.start(pcap)`` returns once tcpdump is listening, so every packet
    the test sends after that is in the capture.
    """

    def __init__(
        self, pcap: Path, raw: Path, process: subprocess.Popen[bytes], tcpdump: str
    ) -> None:
        self.pcap = pcap
        self._tcpdump = tcpdump
        self._raw = raw
        self._process = process
        self.dropped = 0
        """Packets the kernel dropped before tcpdump read them (known once stopped): a
        capture with drops misses segments, and tshark cannot decrypt past a gap."""

    @classmethod
    def start(cls, pcap: Path, *, tcpdump: str | None = None) -> Capture:
        """Start tcpdump on the loopback interface; CaptureError if it is missing or refused."""
        program = tcpdump or shutil.which("tcpdump")
        if program is None:
            raise CaptureError(
                "tcpdump is not installed (no tcpdump on PATH): install it "
                "(Debian: apt-get install tcpdump) to get packet captures"
            )
        pcap.parent.mkdir(parents=True, exist_ok=True)
        raw = pcap.with_name(f".{pcap.name}.all")
        # tcpdump writes to our file (stdout): it never needs write access to the directory.
        command = [program, "-i", "lo", "-B", str(BUFFER_KIB), "-U", "--immediate-mode", "-n"]
        command += ["-w", "-", "tcp"]
        with raw.open("wb") as out:
            try:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
            except OSError as exc:
                raw.unlink(missing_ok=True)
                raise CaptureError(f"cannot run {program}: {exc.strerror}") from None
        capture = cls(pcap, raw, process, program)
        try:
            capture._wait_listening()
        except BaseException:
            capture._end()
            raw.unlink(missing_ok=True)
            raise
        return capture

    def _wait_listening(self) -> None:
        """Read tcpdump's stderr until it says "listening on", exits, or the deadline passes."""
        stderr = self._process.stderr
        assert stderr is not None
        said = b""
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(stderr, selectors.EVENT_READ)
            while b"listening on" not in said:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise CaptureError(f"tcpdump did not start listening within {START_TIMEOUT} s")
                chunk = os.read(stderr.fileno(), 4096)
                if not chunk:
                    code = self._process.wait(STOP_TIMEOUT)
                    words = said.decode(errors="replace").strip() or "(it said nothing)"
                    raise CaptureError(f"tcpdump cannot capture on lo (exit {code}): {words}")
                said += chunk

    def stop(self, ports: list[int]) -> Path:
        """Stop tcpdump and write :attr:`pcap` with the packets of ``ports`` alone."""
        time.sleep(SETTLE)
        code = self._end()
        try:
            if code not in (0, -15):
                raise CaptureError(f"tcpdump ended with exit status {code} while capturing")
            self._keep(ports)
        finally:
            self._raw.unlink(missing_ok=True)
        return self.pcap

    def _end(self) -> int:
        """Terminate tcpdump (it flushes on SIGTERM) and reap it; its exit status."""
        process = self._process
        if process.poll() is None:
            process.terminate()
        try:
            code = process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(STOP_TIMEOUT)
        if process.stderr is not None:
            said = process.stderr.read()  # it has exited: its last words are all there
            process.stderr.close()
            self.dropped = max((int(n) for n in _DROPPED.findall(said)), default=0)
        return code

    def _keep(self, ports: list[int]) -> None:
        """tcpdump -r: copy the packets to and from ``ports`` into the final pcap."""
        expression = " or ".join(f"tcp port {port}" for port in sorted(set(ports)))
        command = [self._tcpdump, "-r", str(self._raw), "-w", "-", expression]
        with self.pcap.open("wb") as out:
            try:
                done = subprocess.run(
                    command, stdout=out, stderr=subprocess.PIPE, timeout=FILTER_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired:
                self.pcap.unlink(missing_ok=True)
                raise CaptureError(
                    f"tcpdump did not filter the capture within {FILTER_TIMEOUT} s"
                ) from None
        if done.returncode != 0:
            self.pcap.unlink(missing_ok=True)
            words = done.stderr.decode(errors="replace").strip()
            raise CaptureError(f"tcpdump could not filter the capture: {words}")

    def discard(self) -> None:
        """Stop tcpdump and keep nothing (a test that passed)."""
        with contextlib.suppress(CaptureError):
            self._end()
        self._raw.unlink(missing_ok=True)


def tshark_command(pcap: Path, keys: Path, *, proxy_port: int, tls_ports: list[int]) -> str:
    """The tshark command line that shows the decrypted HTTP of ``pcap`` and how it ended.

    ``-d tcp.port==PROXY,http`` reads the Router's port as HTTP (the CONNECT, then
    the TLS tunnel it opens); a direct TLS port is TLS from its first byte and
    carries HTTP. With ``http.desegment_body`` off, a response cut short still
    shows as HTTP (its head and the body bytes that came) instead of as a TLS
    segment waiting for the rest.
    """
    options = [
        "tshark",
        "-r",
        str(pcap),
        "-o",
        f"tls.keylog_file:{keys}",
        "-o",
        "http.desegment_body:FALSE",
        "-d",
        f"tcp.port=={proxy_port},http",
    ]
    for port in sorted(set(tls_ports)):
        options += ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},http"]
    options += ["-Y", DISPLAY_FILTER]
    return shlex.join(options)
