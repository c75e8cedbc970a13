"""A client that closes in the very turn its TLS handshake completes (go does, with the
spare connections it dials) ends quietly: no asyncio warning in the test's log."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl

import pytest

from _helpers import open_tunnel
from pytest_gomodnet._endings import HANDSHAKE_EOF_WARNING
from pytest_gomodnet.network import Network

#: Connections tried (without the filter, every one of them logs the warning).
TRIES = 5


def test_a_close_right_after_the_handshake_logs_no_warning(
    gomodnet: Network, caplog: pytest.LogCaptureFixture
) -> None:
    gomodnet.add_host("quiet.test", "http://127.0.0.1:9")  # never reached: no request
    context = ssl.create_default_context(cafile=str(gomodnet.ca_bundle))
    port = gomodnet.router_url.rsplit(":", 1)[1]
    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        for _ in range(TRIES):
            with open_tunnel(int(port), "quiet.test") as raw:
                assert raw.recv(4096).startswith(b"HTTP/1.1 200")
                _handshake_then_close_notify(raw, context)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def _handshake_then_close_notify(raw: socket.socket, context: ssl.SSLContext) -> None:
    """A TLS handshake whose last flight carries close_notify in the same send, as go's
    spare connections do when they close at once."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="quiet.test")
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(outgoing.read())
            incoming.write(raw.recv(65536))
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.unwrap()
    raw.sendall(outgoing.read())  # the Finished and the close_notify, together
    with contextlib.suppress(OSError):
        while raw.recv(65536):
            pass


def test_only_that_warning_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        logging.getLogger("asyncio").warning(HANDSHAKE_EOF_WARNING)
        logging.getLogger("asyncio").warning("something else")
    assert [r.getMessage() for r in caplog.records] == ["something else"]
