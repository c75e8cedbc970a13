"""The reference client: a careful module-zip downloader on httpx, and a command line.

It does what the conformance suite asks of every client, in the fewest lines
that do it right, so a downloader author can compare:

* walks a ``GOPROXY`` list as the go command does (``,`` falls through on
  404/410 only, ``|`` on any error; ``direct`` discovers a ``mod`` go-import
  tag; ``off`` stops);
* retries a transient failure (a cut, a reset, a timeout, a 5xx) twice, and
  never a 404/410 or a bad artifact (FAILURES 4: retry what is transient only);
* streams to a temporary file, checks the length, the zip's layout and CRCs,
  and only then renames the zip into the cache (with its ``h1:`` beside it as
  ``.ziphash``): the cache holds the whole artifact or nothing.

``python -m pytest_gomodnet.conformance.reference MODULE VERSION GOPROXY DEST``
runs it as a client target command; ``HTTPS_PROXY`` and ``SSL_CERT_FILE``
come from the environment.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

from pytest_gomodnet.errors import GoImportError, ModuleError
from pytest_gomodnet.goimport import GoGetPage, resolve_go_import
from pytest_gomodnet.modules import check_path, check_version, escape_path, escape_version, zip_h1

__all__ = ["DownloadError", "NotFoundError", "download", "goproxy_entries", "main"]

T = TypeVar("T")

#: Attempts at one proxy for a transient failure (the first and two retries).
ATTEMPTS = 3
#: Seconds between attempts.
BACKOFF = 0.1
#: Seconds httpx waits for any one step (connect, a read, ...).
TIMEOUT = 10.0


class DownloadError(Exception):
    """The module could not be downloaded whole; nothing was kept."""


class NotFoundError(DownloadError):
    """The proxy says the module or version does not exist (404 or 410)."""


class _TransientError(DownloadError):
    """A failure worth another attempt: a cut, a reset, a timeout, a 5xx."""


def goproxy_entries(goproxy: str) -> list[tuple[str, bool]]:
    """``GOPROXY`` as (entry, fall through on any error) pairs, in order.

    The separator after an entry decides: ``|`` falls through on any error,
    ``,`` only on "not found". Empty entries are skipped, as go does.
    """
    entries: list[tuple[str, bool]] = []
    for match in re.finditer(r"([^,|]*)([,|]?)", goproxy):
        entry, separator = match.group(1).strip(), match.group(2)
        if entry:
            entries.append((entry, separator == "|"))
    if not entries:
        raise DownloadError(f"GOPROXY list {goproxy!r} contains no entries")
    return entries


def download(module: str, version: str, goproxy: str, dest: Path, *, client: httpx.Client) -> Path:
    """Download ``module@version``'s zip through ``goproxy`` into ``dest``; return its path.

    The zip lands at ``dest/cache/download/<module>/@v/<version>.zip`` (the go
    command's layout), verified. Raises DownloadError, having kept nothing.
    """
    try:
        check_path(module)
        check_version(module, version)
    except ModuleError as exc:
        raise DownloadError(str(exc)) from None
    errors: list[str] = []
    for entry, on_any_error in goproxy_entries(goproxy):
        if entry == "off":
            errors.append("module lookup disabled by GOPROXY=off")
            break
        try:
            base = _discover(module, client) if entry == "direct" else entry.rstrip("/")
            return _fetch_version(client, base, module, version, dest)
        except NotFoundError as exc:
            errors.append(str(exc))
        except DownloadError as exc:
            errors.append(str(exc))
            if not on_any_error:
                break
        if entry == "direct":
            break
    raise DownloadError(f"{module}@{version}: {errors[-1]}")


def _discover(module: str, client: httpx.Client) -> str:
    """The GOPROXY base URL a ``mod`` go-import tag names for ``module``."""

    def fetch(import_path: str) -> GoGetPage:
        url = f"https://{import_path}?go-get=1"
        try:
            response = client.get(url, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise GoImportError(f'Get "{url}": {exc}') from None
        return GoGetPage(
            url, response.status_code, response.content, response.headers.get("content-type", "")
        )

    try:
        meta = resolve_go_import(module, fetch)
    except GoImportError as exc:
        raise DownloadError(f'unrecognized import path "{module}": {exc}') from None
    if meta.vcs != "mod" or meta.prefix != module:
        raise DownloadError(
            f"{module}: the go-import tag names {meta.vcs} at {meta.repo_root} for {meta.prefix}; "
            "the reference client only downloads from mod tags for the module itself"
        )
    return meta.repo_root.rstrip("/")


def _fetch_version(client: httpx.Client, base: str, module: str, version: str, dest: Path) -> Path:
    """``.info``, ``.mod`` and ``.zip``, each checked, as the go command fetches them."""
    stem = f"{base}/{escape_path(module)}/@v/{escape_version(version)}"
    folder = dest / "cache" / "download" / escape_path(module) / "@v"
    name = escape_version(version)
    info = _retrying(lambda: b"".join(_body(client, f"{stem}.info")))
    _check_info(info, version, base)
    go_mod = _retrying(lambda: b"".join(_body(client, f"{stem}.mod")))
    _check_go_mod(go_mod, module, version)
    zip_path = _retrying(
        lambda: _fetch_verified(client, f"{stem}.zip", module, version, folder / f"{name}.zip")
    )
    (folder / f"{name}.info").write_bytes(info)
    (folder / f"{name}.mod").write_bytes(go_mod)
    return zip_path


def _retrying(attempt: Callable[[], T]) -> T:
    """Run ``attempt`` until it does not fail transiently, at most ATTEMPTS times."""
    for number in range(1, ATTEMPTS + 1):
        try:
            return attempt()
        except _TransientError:
            if number == ATTEMPTS:
                raise
            time.sleep(BACKOFF)
    raise AssertionError("unreachable")  # pragma: no cover


def _check_info(info: bytes, version: str, base: str) -> None:
    try:
        document = json.loads(info)
    except ValueError as exc:
        raise DownloadError(f"invalid response from proxy {base!r}: {exc}") from None
    if not isinstance(document, dict) or document.get("Version") != version:
        raise DownloadError(f"proxy returned info {info[:100]!r} instead of version {version}")


def _check_go_mod(go_mod: bytes, module: str, version: str) -> None:
    match = re.search(rb"^\s*module\s+\"?([^\s\"]+)", go_mod, re.MULTILINE)
    declared = match.group(1).decode("utf-8", "replace") if match else None
    if declared != module and not version.endswith("+incompatible"):
        raise DownloadError(f"{module}@{version}: go.mod declares its path as {declared!r}")


def _fetch_verified(
    client: httpx.Client, url: str, module: str, version: str, target: Path
) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as file:
            for block in _body(client, url):
                file.write(block)
        h1 = _check_zip(Path(temporary), module, version)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    target.with_suffix(".ziphash").write_text(h1 + "\n")
    return target


def _body(client: httpx.Client, url: str) -> Iterator[bytes]:
    """The response body of a 200, block by block, its length checked at the end."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code in (404, 410):
                raise NotFoundError(f"reading {url}: {response.status_code}")
            if response.status_code != 200:
                error = _TransientError if response.status_code >= 500 else DownloadError
                raise error(f"reading {url}: {response.status_code}")
            declared = response.headers.get("content-length")
            received = 0
            for block in response.iter_bytes():
                received += len(block)
                yield block
    except httpx.HTTPError as exc:
        raise _TransientError(f'read "{url}": {type(exc).__name__}: {exc}') from None
    if declared is not None and int(declared) != received:
        raise _TransientError(f'read "{url}": Content-Length {declared} but {received} bytes')


def _check_zip(path: Path, module: str, version: str) -> str:
    """The zip's ``h1:``, after checking what the go command checks on unzipping."""
    prefix = f"{module}@{version}/"
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not name.startswith(prefix):
                    raise DownloadError(f"zip for {module}@{version} has unexpected file {name}")
            bad = archive.testzip()
            if bad is not None:
                raise DownloadError(f"zip for {module}@{version}: bad CRC-32 for {bad}")
        return zip_h1(path)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise DownloadError(f"zip for {module}@{version}: not a valid zip file: {exc}") from None


def client_from_environment(*, timeout: float = TIMEOUT) -> httpx.Client:
    """An httpx client using HTTPS_PROXY and trusting SSL_CERT_FILE, as a command would."""
    cafile = os.environ.get("SSL_CERT_FILE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cafile) if cafile else True
    return httpx.Client(verify=verify, timeout=timeout, trust_env=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m pytest_gomodnet.conformance.reference MODULE VERSION GOPROXY DEST")
        return 2
    module, version, goproxy, dest = args
    with client_from_environment() as client:
        try:
            path = download(module, version, goproxy, Path(dest), client=client)
        except DownloadError as exc:
            print(f"reference: {exc}", file=sys.stderr)
            return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
