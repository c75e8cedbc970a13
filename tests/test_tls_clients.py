"""Every chain shape, served on 127.0.0.1, judged by independent clients.

For each shape one TLS server serves a one-module GOPROXY with that chain,
and four clients connect to it: Python's ssl module (by host name, with
``server_hostname``), httpx (by IP address), ``openssl s_client`` and the
real go command. Each must say exactly what EXPECTED (and the table in
docs/tls.md) says it says, and ``-showcerts`` must show exactly the
certificates the shape promises, in its order.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import socket
import ssl
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from _helpers import dirhash_h1
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.tls import CertChain, ChainFactory, ChainSpec

HOST = "example.test"  # the name the ssl and openssl clients ask for
IP = "127.0.0.1"  # the address httpx and go ask for
MODULE, VERSION = "example.test/m", "v1.0.0"
DOCS = Path(__file__).parent.parent / "docs" / "tls.md"

# Seconds any one socket operation or client run may take before the test fails.
IO_TIMEOUT = 10.0


@dataclass(frozen=True)
class Expected:
    """What each client says about one shape (None: it accepts the chain).

    ``python`` is ``SSLCertVerificationError.verify_message`` for ``HOST``,
    ``httpx`` the same for ``IP``, ``openssl`` the ``Verify return code`` line,
    ``go`` a regular expression for what follows ``tls: failed to verify
    certificate:`` (NOT_AFTER stands for the earliest notAfter served,
    NOT_BEFORE for the latest notBefore, NOW for go's clock).
    """

    python: str | None
    httpx: str | None
    openssl: str
    go: str | None


UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
EXPIRED = "x509: certificate has expired or is not yet valid: current time NOW is after NOT_AFTER"

EXPECTED: dict[str, Expected] = {
    "complete": Expected(None, None, "0 (ok)", None),
    "missing-intermediate": Expected(
        "unable to get local issuer certificate",
        "unable to get local issuer certificate",
        "20 (unable to get local issuer certificate)",
        UNKNOWN_AUTHORITY,
    ),
    "wrong-order": Expected(None, None, "0 (ok)", None),
    "expired-leaf": Expected(
        "certificate has expired",
        "certificate has expired",
        "10 (certificate has expired)",
        EXPIRED,
    ),
    "not-yet-valid": Expected(
        "certificate is not yet valid",
        "certificate is not yet valid",
        "9 (certificate is not yet valid)",
        "x509: certificate has expired or is not yet valid: current time NOW is before NOT_BEFORE",
    ),
    "expired-intermediate": Expected(
        "certificate has expired",
        "certificate has expired",
        "10 (certificate has expired)",
        EXPIRED,
    ),
    "wrong-host": Expected(
        "Hostname mismatch, certificate is not valid for 'example.test'.",
        "IP address mismatch, certificate is not valid for '127.0.0.1'.",
        "62 (hostname mismatch)",
        "x509: certificate is valid for 192.0.2.1, not 127.0.0.1",
    ),
    "self-signed": Expected(
        "self-signed certificate",
        "self-signed certificate",
        "18 (self-signed certificate)",
        UNKNOWN_AUTHORITY,
    ),
    "untrusted-root": Expected(
        "unable to get local issuer certificate",
        "unable to get local issuer certificate",
        "20 (unable to get local issuer certificate)",
        UNKNOWN_AUTHORITY,
    ),
}


# --- a one-module GOPROXY over TLS ----------------------------------------------

GO_MOD = b"module example.test/m\n\ngo 1.21\n"
GO_FILE = b"package m\n\n// Answer is what the test checks came through.\nconst Answer = 42\n"
INFO = b'{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}\n'


def module_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{MODULE}@{VERSION}/go.mod", GO_MOD)
        archive.writestr(f"{MODULE}@{VERSION}/m.go", GO_FILE)
    return buffer.getvalue()


GOPROXY_FILES = {
    f"/{MODULE}/@v/{VERSION}.info": INFO,
    f"/{MODULE}/@v/{VERSION}.mod": GO_MOD,
    f"/{MODULE}/@v/{VERSION}.zip": module_zip(),
}


class TLSFileServer:
    """HTTP/1.1 over TLS on 127.0.0.1:0 serving fixed paths, one thread per connection.

    Records the paths asked for and why handshakes failed on the server's side.
    Closing shuts every open connection down and joins every thread within 1 s.
    """

    def __init__(self, context: ssl.SSLContext, files: Mapping[str, bytes]) -> None:
        self._context = context
        self._files = dict(files)
        self._listener = socket.create_server((IP, 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.requests: list[str] = []
        self.handshake_errors: list[str] = []
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="tls-file-server")

    def __enter__(self) -> TLSFileServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._acceptor.join(1.0)
        with self._lock:
            for conn in self._open:
                # The plain socket's shutdown (not SSLSocket's): wakes a thread in recv.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(conn, socket.SHUT_RDWR)
            threads = list(self._threads)
        deadline = time.monotonic() + 1.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._listener.close()
        alive = [t.name for t in [self._acceptor, *threads] if t.is_alive()]
        assert not alive, f"server threads still running after 1 s: {alive}"

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn = self._context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            thread = threading.Thread(target=self._serve, args=(conn,), name="tls-file-conn")
            with self._lock:
                self._open.add(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: ssl.SSLSocket) -> None:
        conn.settimeout(IO_TIMEOUT)
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            self.handshake_errors.append(getattr(exc, "reason", None) or repr(exc))
        else:
            with contextlib.suppress(ssl.SSLError, OSError):  # a client that went away
                self._answer(conn)
        finally:
            with self._lock:
                self._open.discard(conn)
            conn.close()

    def _answer(self, conn: ssl.SSLSocket) -> None:
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii")
            self.requests.append(target)
            body = self._files.get(target)
            status = "200 OK" if body is not None else "404 Not Found"
            body = body if body is not None else b"not found\n"
            conn.sendall(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n".encode()
                + body
            )


# --- the clients ------------------------------------------------------------------

# How an OpenSSL verification failure reads through Python (the line number varies).
VERIFY_FAILED = re.compile(
    r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: (.*) \(_ssl\.c:\d+\)"
)


def python_client(chain: CertChain, port: int, *, strict: bool = False) -> str | None:
    """GET the .mod by host name through a raw ssl socket; None if verified and served.

    ``strict`` adds VERIFY_X509_STRICT, which Python 3.13 turns on by default.
    """
    context = chain.client_context()
    if strict:
        context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        with (
            socket.create_connection((IP, port), timeout=IO_TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=HOST) as tls,
        ):
            tls.sendall(f"GET /{MODULE}/@v/{VERSION}.mod HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
            response = b""
            while not response.endswith(GO_MOD):
                data = tls.recv(65536)
                assert data, f"connection closed after {response!r}"
                response += data
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    return None


def httpx_client(chain: CertChain, port: int) -> str | None:
    """GET the .mod by IP address with httpx; None if it verified and got the bytes."""
    url = f"https://{IP}:{port}/{MODULE}/@v/{VERSION}.mod"
    with httpx.Client(verify=chain.client_context(), trust_env=False, timeout=IO_TIMEOUT) as client:
        try:
            response = client.get(url)
        except httpx.ConnectError as exc:
            match = VERIFY_FAILED.fullmatch(str(exc))
            if match is None:
                raise AssertionError(f"not a verification failure: {exc}") from exc
            return match.group(1)
    assert (response.status_code, response.content) == (200, GO_MOD)
    return None


@dataclass(frozen=True)
class OpenSSLVerdict:
    returncode: int
    verify_return_code: str
    verify_error: str | None
    subjects: list[str]
    ders: list[bytes]


def openssl_client(chain: CertChain, port: int) -> OpenSSLVerdict:
    argv = [
        "openssl", "s_client", "-connect", f"{IP}:{port}",
        "-servername", HOST, "-verify_hostname", HOST,
        "-verify_return_error", "-CAfile", str(chain.ca_bundle), "-showcerts",
    ]  # fmt: skip
    result = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=IO_TIMEOUT
    )
    output = result.stdout
    codes = re.findall(r"^Verify return code: (.*)$", output, re.MULTILINE)
    errors = re.findall(r"^verify error:num=(\d+:.*)$", result.stderr, re.MULTILINE)
    section = output.split("Certificate chain\n", 1)[1].split("\n---\n", 1)[0]
    pems = re.findall(
        r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", section, re.DOTALL
    )
    return OpenSSLVerdict(
        returncode=result.returncode,
        verify_return_code=codes[0],
        verify_error=errors[0] if errors else None,
        subjects=re.findall(r"^ *\d+ s:(.*)$", section, re.MULTILINE),
        ders=[base64.b64decode("".join(pem.split())) for pem in pems],
    )


def openssl_subject(pem: bytes) -> str:
    """A subject the way OpenSSL 3 prints it after ``s:``."""
    subject = x509.load_pem_x509_certificate(pem).subject
    return ", ".join(f"{a.rfc4514_attribute_name} = {a.value!s}" for a in subject)


def go_client(go: GoToolchain, chain: CertChain, port: int, home: Path) -> dict[str, object]:
    env = {
        "GOPROXY": f"https://{IP}:{port}",
        "SSL_CERT_FILE": str(chain.ca_bundle),
        "GOSUMDB": "off",
        "NO_PROXY": IP,
    }
    result = go.run("mod", "download", "-json", f"{MODULE}@{VERSION}", home=home, env=env)
    (download,) = result.json_objects()
    assert result.returncode == (0 if "Error" not in download else 1), result.story("ran")
    return download


def go_error_pattern(chain: CertChain, port: int, expected: str) -> str:
    """EXPECTED's go text as an anchored regex of go's whole Error line."""
    times = {  # the earliest end and the latest start among the served certificates
        "NOT_AFTER": _go_time(min(link.not_after for link in chain.links)),
        "NOT_BEFORE": _go_time(max(link.not_before for link in chain.links)),
    }
    pattern = re.escape(expected).replace("NOW", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for name, value in times.items():
        pattern = pattern.replace(name, re.escape(value))
    url = f"https://{IP}:{port}/{MODULE}/@v/{VERSION}.info"
    prefix = f'{MODULE}@{VERSION}: Get "{url}": tls: failed to verify certificate: '
    return re.escape(prefix) + pattern + r"\Z"


def _go_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the tests --------------------------------------------------------------------


@pytest.fixture
def served(
    cert_chain: ChainFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[CertChain, TLSFileServer]]:
    chain = cert_chain(HOST, IP, shape=request.param)
    with TLSFileServer(chain.server_context(), GOPROXY_FILES) as server:
        yield chain, server


@pytest.mark.parametrize("served", list(EXPECTED), indirect=True)
def test_every_client_gives_the_documented_verdict(
    served: tuple[CertChain, TLSFileServer], go: GoToolchain, tmp_path: Path
) -> None:
    chain, server = served
    expected = EXPECTED[str(chain.shape)]

    assert python_client(chain, server.port) == expected.python
    assert python_client(chain, server.port, strict=True) == expected.python
    assert httpx_client(chain, server.port) == expected.httpx

    verdict = openssl_client(chain, server.port)
    assert verdict.verify_return_code == expected.openssl
    assert verdict.returncode == (0 if chain.shape.verifies else 1)
    ok = expected.openssl == "0 (ok)"
    assert verdict.verify_error == (None if ok else expected.openssl.replace(" (", ":")[:-1])
    # On the wire: exactly the shape's certificates, in the shape's order.
    assert verdict.ders == [link.der for link in chain.links]
    assert verdict.subjects == [openssl_subject(link.pem) for link in chain.links]

    download = go_client(go, chain, server.port, tmp_path / "gohome")
    if expected.go is None:
        assert download["Sum"] == dirhash_h1(
            {f"{MODULE}@{VERSION}/go.mod": GO_MOD, f"{MODULE}@{VERSION}/m.go": GO_FILE}
        )
        assert download["GoModSum"] == dirhash_h1({"go.mod": GO_MOD})
        assert (Path(str(download["Dir"])) / "m.go").read_bytes() == GO_FILE
        assert server.requests[-3:] == list(GOPROXY_FILES)
    else:
        error = str(download["Error"])
        assert re.match(go_error_pattern(chain, server.port, expected.go), error), error


def test_the_docs_table_says_what_the_clients_say() -> None:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].strip("`") in EXPECTED:
            rows[cells[0].strip("`")] = cells[1:]
    assert list(rows) == list(EXPECTED)
    for shape, expected in EXPECTED.items():
        python, httpx_text, openssl, go_text = rows[shape]
        assert python == _cell(expected.python), shape
        assert httpx_text == _cell(expected.httpx), shape
        assert openssl == f"`{expected.openssl}`", shape
        assert go_text == _cell(expected.go), shape


def _cell(text: str | None) -> str:
    return "verified" if text is None else f"`{text}`"


def test_an_rsa_chain_serves_and_verifies(cert_chain: ChainFactory) -> None:
    from pytest_gomodnet.tls import KeyType

    chain = cert_chain(HOST, IP, key_type=KeyType.RSA)
    with TLSFileServer(chain.server_context(), GOPROXY_FILES) as server:
        assert python_client(chain, server.port) is None
        assert httpx_client(chain, server.port) is None
    assert server.requests == [f"/{MODULE}/@v/{VERSION}.mod"] * 2


def test_the_server_stops_within_a_second_with_a_client_still_connected(
    cert_chain: ChainFactory,
) -> None:
    chain = cert_chain(HOST, IP, shape=ChainSpec.COMPLETE)
    server = TLSFileServer(chain.server_context(), GOPROXY_FILES).__enter__()
    with socket.create_connection((IP, server.port), timeout=IO_TIMEOUT) as idle:
        idle.sendall(b"\x16")  # half a ClientHello: the server thread waits for the rest
        time.sleep(0.1)
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 1.0
