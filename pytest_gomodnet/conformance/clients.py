"""The built-in client targets: the real go command, and the reference httpx client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.sumdb_client import SumDBError, verified_lookup

from . import reference
from .harness import client_verify
from .targets import ClientResult

__all__ = ["BUILTIN_CLIENTS", "GoClient", "ReferenceClient"]

#: ``--gomodnet-client NAME`` choices.
BUILTIN_CLIENTS = ("go", "reference")


@dataclass(frozen=True)
class GoClient:
    """``go mod download -json M@V``, sealed, with its module cache under ``dest``."""

    go: GoToolchain
    name: str = "go"

    def download(
        self,
        module: str,
        version: str,
        goproxy: str,
        dest: Path,
        *,
        router: str,
        ca_bundle: Path,
        gosumdb: str = "off",
    ) -> ClientResult:
        env = {
            "HTTPS_PROXY": router,
            "HTTP_PROXY": router,
            "SSL_CERT_FILE": str(ca_bundle),
            "GIT_SSL_CAINFO": str(ca_bundle),  # git, in direct mode, does not read SSL_CERT_FILE
            "GOPROXY": goproxy,
            "GOSUMDB": gosumdb,
        }
        started = time.monotonic()
        result = self.go.run("mod", "download", "-json", f"{module}@{version}", home=dest, env=env)
        return ClientResult(
            result.ok,
            f"exit status {result.returncode}\n{result.stdout}{result.stderr}",
            time.monotonic() - started,
        )


@dataclass(frozen=True)
class ReferenceClient:
    """The careful httpx downloader of :mod:`.reference`, run in process; it offers HTTP/2
    by ALPN, as go does.

    With ``gosumdb`` on, the zip must have the ``h1:`` the checksum database
    proves (:func:`pytest_gomodnet.sumdb_client.verified_lookup`), as go checks it.
    """

    name: str = "reference"

    def download(
        self,
        module: str,
        version: str,
        goproxy: str,
        dest: Path,
        *,
        router: str,
        ca_bundle: Path,
        gosumdb: str = "off",
    ) -> ClientResult:
        started = time.monotonic()
        with httpx.Client(
            proxy=router, verify=client_verify(ca_bundle), timeout=reference.TIMEOUT, http2=True
        ) as client:
            try:
                h1 = None
                if gosumdb != "off":
                    h1 = verified_lookup(gosumdb, module, version, client=client).h1
                got = reference.download(module, version, goproxy, dest, client=client, h1=h1)
            except (reference.DownloadError, SumDBError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                return ClientResult(False, error, time.monotonic() - started)
        return ClientResult(True, f"downloaded {got.zip_path}", time.monotonic() - started)
