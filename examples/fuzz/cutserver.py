"""The smallest GOPROXY stand-in that can cut a response: one precomputed answer, sent in part.

It reads a request, writes ``response[:cut]`` and closes the connection. With
the plugin's private network a test sets ``net.fault(host, Truncate(at))``
instead; see docs/fuzzing.md.
"""

from __future__ import annotations

import socket
import threading

# Seconds the accept loop sleeps between checks for "stop"; bounds shutdown time.
_POLL = 0.05


class CutServer:
    """Answers every request on 127.0.0.1 with ``response[:cut]``, then closes."""

    def __init__(self) -> None:
        self.response = b""
        self.cut: int | None = None  # None: send the whole response
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fuzz-cut-server")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5.0)
                request = b""
                while b"\r\n\r\n" not in request:
                    data = connection.recv(65536)
                    if not data:
                        break
                    request += data
                self.requests += 1
                connection.sendall(self.response[: self.cut])  # [:None] is all of it
                connection.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._listener.close()
        if self._thread.is_alive():
            raise RuntimeError("fuzz-cut-server did not stop within 1 s")
