"""Careless and hostile clients cannot bend the Router: no cross-talk between clients,
bounded memory, a deadline on every write, nothing that outlives close()."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_gomodnet.faultproxy import Router

DEADLINE = 8.0


# --- an upstream that never reads request bodies ------------------------------------


class BodyIgnoringUpstream:
    """A keep-alive HTTP/1.1 server on 127.0.0.1:0 that reads request heads only: each
    answers ``path=<its path>``, and a request's body is left to be read as the next head,
    as a careless server does."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="body-ignoring-upstream")

    def __enter__(self) -> BodyIgnoringUpstream:
        self._accepting.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for client in self._clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        for thread in [self._accepting, *self._threads]:
            thread.join(DEADLINE)
        for client in self._clients:
            client.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._clients.append(client)
            thread = threading.Thread(target=self._serve, args=(client,), name="upstream-client")
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    data = client.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1]
            body = b"path=" + path
            with contextlib.suppress(OSError):
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                )


@pytest.fixture
def relaying_router() -> Iterator[Router]:
    with BodyIgnoringUpstream() as upstream, Router(client_timeout=2.0) as router:
        router.add_host("relay.test", upstream.url)
        yield router


def _ask(router: Router, request: bytes) -> bytes:
    """Send ``request`` on a keep-alive connection; the one response to it (by its length)."""
    with socket.create_connection(("127.0.0.1", router.port), DEADLINE) as sock:
        sock.sendall(request)
        response = b""
        while b"\r\n\r\n" not in response or len(response) < _length(response):
            chunk = sock.recv(65536)
            assert chunk, f"closed before a whole response: {response!r}"
            response += chunk
        return response


def _length(response: bytes) -> int:
    head, _, _ = response.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return len(head) + 4 + length


def test_a_body_the_upstream_ignores_never_answers_another_client(relaying_router) -> None:
    smuggled = b"GET /smuggled-by-A HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    a = (
        b"POST http://relay.test/a HTTP/1.1\r\nHost: relay.test\r\n"
        b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled
    )
    assert _ask(relaying_router, a).endswith(b"\r\n\r\npath=/a")
    time.sleep(0.3)  # the upstream answers the smuggled request meanwhile
    b = b"GET http://relay.test/b HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    assert _ask(relaying_router, b).endswith(b"\r\n\r\npath=/b")


def test_an_upstream_connection_is_reused_after_a_whole_bodiless_exchange(
    relaying_router,
) -> None:
    """The degenerate fix, never pooling at all, fails here."""
    get = b"GET http://relay.test/%d HTTP/1.1\r\nHost: relay.test\r\n\r\n"
    for i in range(3):
        assert _ask(relaying_router, get % i).endswith(b"path=/%d" % i)
    assert sum(len(idle) for idle in relaying_router._pool.idle.values()) == 1
