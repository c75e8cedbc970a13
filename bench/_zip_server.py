"""The serving side of the big-zip benchmark, in its own process so its memory is its own.

``python -m bench._zip_server DIRECTORY SIZE`` builds a module zip of about SIZE
bytes of random (incompressible) content in DIRECTORY, serves it two ways, and
answers commands on stdin with one JSON line each on stdout:

- at start: ``router`` URL (a Network: GoProxy behind the Router, TLS terminated,
  a Throttle fault on every ``.zip`` exchange), ``raw`` port (a thread that copies
  the same file to each connection: read + sendall, after a two-line head), ``ca``,
  ``url`` of the zip, ``size``;
- ``mark``: collect garbage, reset the peak RSS (VmHWM) to the current RSS, reply both;
- ``peak``: reply the RSS and its high-water mark since the last ``mark``;
- ``quit`` or end of input: stop everything and exit.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import sys
import threading
from pathlib import Path

from pytest_gomodnet.faults import Throttle
from pytest_gomodnet.goproxy import ModuleStore
from pytest_gomodnet.network import Network

MODULE = "example.test/big"
VERSION = "v1.0.0"
#: Far above what loopback carries: the engine paces every chunk, but never waits.
UNLIMITED = Throttle(1 << 40)
#: Plans queued for the zip path; each download takes one (the first must: a run that
#: downloads fewer leaves the rest, rightly, so they are armed with ``must_fire=1``).
DOWNLOADS = 100
_BLOCK = 1 << 20


def memory_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {key: int(re.search(rf"{key}:\s+(\d+)", status)[1]) for key in ("VmRSS", "VmHWM")}  # type: ignore[index]


def reset_peak() -> None:
    """Linux: writing 5 to clear_refs sets VmHWM back to the current RSS."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def build(store: ModuleStore, size: int) -> Path:
    pieces = 8
    files = {f"data/f{i}.bin": os.urandom(size // pieces) for i in range(pieces)}
    files["big.go"] = b"package big\n"
    return store.add(MODULE, VERSION, files=files).zip_path


class RawCopy:
    """Each connection: read the request head, send a minimal head and the file, close."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="bench-raw-copy")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection, self._path.open("rb") as file:
                connection.settimeout(30)
                head = b""
                while b"\r\n\r\n" not in head and (data := connection.recv(4096)):
                    head += data
                size = self._path.stat().st_size
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                while block := file.read(_BLOCK):
                    connection.sendall(block)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


def main() -> None:
    directory, size = Path(sys.argv[1]), int(sys.argv[2])
    with (
        ModuleStore(directory / "store") as store,
        Network.standalone(directory=directory / "net") as net,
    ):
        zip_path = build(store, size)
        net.add_goproxy("proxy.test", store)
        net.fault("proxy.test", *[UNLIMITED] * DOWNLOADS, path="*.zip", must_fire=1)
        raw = RawCopy(zip_path)
        try:
            reply = {
                "router": net.router_url,
                "raw": raw.port,
                "ca": str(net.ca_bundle),
                "url": f"https://proxy.test/{MODULE}/@v/{VERSION}.zip",
                "size": zip_path.stat().st_size,
            }
            print(json.dumps(reply), flush=True)
            for command in sys.stdin:
                if command.strip() == "mark":
                    reset_peak()
                elif command.strip() != "peak":
                    break
                print(json.dumps(memory_kib()), flush=True)
        finally:
            raw.close()


if __name__ == "__main__":
    main()
