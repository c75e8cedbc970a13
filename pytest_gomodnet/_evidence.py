"""What a failing ``gomodnet`` test leaves behind: a packet capture and a replay file.

pytest glue for :mod:`.capture` and :mod:`._replay_file`, kept out of
``plugin.py``: the options, and one :class:`Evidence` per test that starts
tcpdump and the TLS key log when a capture is asked for, keeps the files of a
failing test (of every test with ``--gomodnet-capture-all``), writes the
replay file, and says in the failure report where they are and how to open them.
A capture that cannot be made or written never fails a test: the report says why.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .capture import Capture, CaptureError, tshark_command

if TYPE_CHECKING:
    from .network import Backbone, Network

__all__ = ["EVIDENCE_KEY", "Evidence", "add_options"]

CAPTURE_HELP = (
    "for each failing test that uses the gomodnet fixture, write DIR/TEST.pcap (tcpdump on "
    "loopback, the Router's ports) and DIR/TEST.keys (the TLS key log that decrypts it), "
    "and put its replay file there too"
)
CAPTURE_ALL_HELP = (
    "capture every test that uses gomodnet and keep the captures of passing tests too "
    "(into --gomodnet-capture's DIR, else under pytest's temporary directory)"
)
CAPTURE_MARKER_HELP = (
    "gomodnet_capture: capture this test's connections as --gomodnet-capture does "
    "(into the option's DIR, else under pytest's temporary directory)"
)

EVIDENCE_KEY = pytest.StashKey["Evidence"]()


def add_options(group: pytest.OptionGroup) -> None:
    group.addoption("--gomodnet-capture", metavar="DIR", default=None, help=CAPTURE_HELP)
    group.addoption(
        "--gomodnet-capture-all", action="store_true", default=False, help=CAPTURE_ALL_HELP
    )


def _stem(nodeid: str) -> str:
    """A file name for a test id: ``t/test_x.py::test_y[a b]`` → ``t-test_x.py-test_y-a-b``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[-150:] or "test"


class Evidence:
    """One test's capture and replay files: where they go and what became of them."""

    def __init__(
        self, item: pytest.Item, network: Network, backbone: Backbone, directory: Path, seed: int
    ) -> None:
        self._item = item
        self.network = network
        self._backbone = backbone
        self._directory = directory
        self._seed = seed
        self._stem = _stem(item.nodeid)
        self._capture: Capture | None = None
        self._capture_note: str | None = None
        """What became of the capture: None when none was asked for."""
        self._keys = directory / f"{self._stem}.keys"
        self._replay_note: str | None = None
        self.reported = False

    @classmethod
    def start(
        cls, request: pytest.FixtureRequest, network: Network, backbone: Backbone, seed: int
    ) -> Evidence:
        """The test's Evidence; a capture running already if the option or marker asks for one."""
        config = request.config
        option = config.getoption("gomodnet_capture")
        captured = (
            option is not None
            or config.getoption("gomodnet_capture_all")
            or request.node.get_closest_marker("gomodnet_capture") is not None
        )
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        if option is not None:
            directory = config.invocation_params.dir / option
        else:
            directory = factory.getbasetemp() / (
                "gomodnet-capture" if captured else "gomodnet-replay"
            )
        evidence = cls(request.node, network, backbone, directory, seed)
        if captured:
            evidence._start_capture()
        return evidence

    def _start_capture(self) -> None:
        pcap = self._directory / f"{self._stem}.pcap"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._keys.write_bytes(b"")
            self._capture = Capture.start(pcap)
        except (CaptureError, OSError) as exc:
            self._capture_note = f"capture: none ({_reason(exc, 'cannot write ')})"
            with contextlib.suppress(OSError):
                self._keys.unlink(missing_ok=True)
            return
        self._backbone.log_keys(self._keys)
        self._capture_note = f"capture: {pcap} (still running)"

    # -- the end of the test -------------------------------------------------

    def finish(self, *, failed: bool) -> None:
        """At teardown: stop the capture; keep it if the test failed (or with capture-all)."""
        keep = failed or self._item.config.getoption("gomodnet_capture_all")
        self._stop(keep=bool(keep))

    def _stop(self, *, keep: bool) -> None:
        capture, self._capture = self._capture, None
        if capture is None:
            return
        self._backbone.log_keys(None)
        if not keep:
            capture.discard()
            self._keys.unlink(missing_ok=True)
            self._capture_note = None
            return
        router = self._backbone.router
        direct = router.direct_ports()
        try:
            capture.stop([router.port, *(port for port, _ in direct)])
        except (CaptureError, OSError) as exc:
            self._capture_note = f"capture: none ({_reason(exc, 'cannot write ')})"
            return
        tls_ports = [port for port, tls in direct if tls]
        command = tshark_command(
            capture.pcap, self._keys, proxy_port=router.port, tls_ports=tls_ports
        )
        lines = [f"capture: {capture.pcap}"]
        if capture.dropped:
            lines.append(
                f"capture incomplete: the kernel dropped {capture.dropped} packets before "
                "tcpdump read them (a busy machine); TLS cannot be decrypted past a gap: "
                "run the test again alone for a whole capture"
            )
        lines += [
            f"TLS key log: {self._keys}",
            "the decrypted HTTP and how each connection ended (Wireshark: open the pcap, "
            "Preferences > TLS > key log file, Follow > TLS Stream):",
            f"  {command}",
        ]
        self._capture_note = "\n".join(lines)

    def unfired(self) -> bool:
        """Whether a fault armed by the test has not fired: its teardown will fail."""
        return self._backbone.router.unfired() is not None

    def section(self) -> str:
        """The report's text for a failing test: stops the capture, writes the replay file."""
        self.reported = True
        self._stop(keep=True)
        lines = [self._capture_note] if self._capture_note else []
        lines.append(self._replay_note or self.write_replay())
        return "\n".join(lines)

    def write_replay(self) -> str:
        """Write the replay file now (while the test's stores are still open); the report's line.

        The plugin calls it when the test body passed but its teardown is going to fail
        (a fault never fired): by then the stores would be gone."""
        from ._replay_file import dump  # only for a failure: loading the plugin stays cheap

        file = self._directory / f"{self._stem}.replay.json"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            dump(self.network, file, test=self._item.nodeid, seed=self._seed)
        except (OSError, ValueError) as exc:
            self._replay_note = f"replay: none ({_reason(exc, 'cannot copy or write ')})"
            return self._replay_note
        command = shlex.join(["python", "-m", "pytest_gomodnet", "replay", str(file)])
        self._replay_note = f"replay this network by hand (Ctrl-C stops it): {command}"
        return self._replay_note


def before_teardown(item: pytest.Item, report: pytest.TestReport) -> None:
    """A test body that passed with a fault unfired fails at teardown, after its stores
    are closed: write its replay file now, while they are open."""
    evidence = item.stash.get(EVIDENCE_KEY, None)
    if evidence is not None and report.passed and evidence.unfired():
        evidence.write_replay()


def _reason(exc: BaseException, doing: str) -> str:
    """Why: a CaptureError's own words, or what could not be done to which file."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{doing}{exc.filename}: {exc.strerror}"
    return str(exc)
