"""The reference GOPROXY client: how a careful downloader meets a bad network.

Read it next to your own downloader. It is what the conformance suite
(``pytest --gomodnet``) runs as the "reference" client, and what
``examples/test_reference_downloader.py`` puts through go's fault matrix. It
follows the go command where go is right and is stricter where go leans on
things a small client does not have:

* **A GOPROXY list** is tried in order, as go does: after ``,`` only "not
  found" (404 or 410) moves on to the next entry, after ``|`` any error does;
  ``direct`` reads the module's ``?go-get=1`` page with the plugin's reference
  reader (:func:`pytest_gomodnet.goimport.resolve_go_import`, so it fails
  where go fails, in go's words) and follows a ``mod`` tag; ``off`` stops.
* **Every artifact is checked** before it counts: ``.info`` must be JSON naming
  the asked version, ``.mod`` must declare the module and be the zip's go.mod
  when the zip has one, the zip must be as long as its Content-Length, a zip
  whose every file sits under ``module@version/`` with good CRCs and, when the
  caller knows it, match the expected ``h1:``. A body without a length ends
  where the connection does, so a cut one looks whole to HTTP: these checks
  are what catch it.
* **Only transient failures are retried** (a cut, a reset, a timeout, a 5xx),
  :data:`ATTEMPTS` times in all; a 404/410, a refused certificate or a bad
  artifact is an answer, and asking again would only repeat it (FAILURES 4).
* **The cache holds the whole artifact or nothing**: the zip streams into a
  temporary file beside its place, is checked there, and only then renamed
  into ``dest/cache/download/<module>/@v/<version>.zip`` (go's layout), with
  its ``h1:`` beside it as ``.ziphash``.
* **HTTP/2 when the proxy offers it** by ALPN, as go takes it: a stream reset,
  a GOAWAY or an END_STREAM short of the Content-Length is a transient failure
  like a cut (h2 raises the last one itself, past httpx).
* **Nothing waits forever**: each step has the httpx client's timeout (the
  command line uses :data:`TIMEOUT`), and ``deadline=`` bounds the whole call,
  retries and slow drips included. go, in contrast, waits on a stall until it
  is killed.

The command line, a client target for ``--gomodnet-client-cmd``::

    python -m pytest_gomodnet.conformance.reference MODULE VERSION GOPROXY DEST

takes ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` from the environment, prints the
zip's path and exits 0, or prints the error and exits 1.
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
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin

import h2.exceptions
import httpx

from pytest_gomodnet._gotext import go_quote
from pytest_gomodnet.errors import GoImportError, ModuleError
from pytest_gomodnet.goimport import GoGetPage, MetaImport, go_get_url, resolve_go_import
from pytest_gomodnet.modules import check_path, check_version, escape_path, escape_version, zip_h1

__all__ = [
    "ATTEMPTS",
    "TIMEOUT",
    "ChecksumMismatchError",
    "DownloadError",
    "Downloaded",
    "NotFoundError",
    "client_from_environment",
    "discover",
    "download",
    "fetch_zip",
    "goproxy_entries",
    "list_versions",
    "main",
]

T = TypeVar("T")

#: Attempts at one proxy for a transient failure (the first and two retries).
ATTEMPTS = 3
#: Seconds between attempts.
BACKOFF = 0.1
#: Seconds the command line's httpx client waits for any one step (connect, a read, ...).
TIMEOUT = 10.0
#: Redirects a ``?go-get=1`` page may take, as in go.
MAX_REDIRECTS = 10


class DownloadError(Exception):
    """The module could not be downloaded whole; nothing was kept."""


class NotFoundError(DownloadError):
    """The proxy says the module or version does not exist (404 or 410)."""


class ChecksumMismatchError(DownloadError):
    """The zip is well formed but its ``h1:`` is not the expected one: never retried."""


class _TransientError(DownloadError):
    """A failure worth another attempt: a cut, a reset, a timeout, a 5xx."""


@dataclass(frozen=True)
class Downloaded:
    """One module version, verified and cached, and the proxy that served it."""

    proxy: str
    info: dict[str, object]
    go_mod: bytes
    zip_path: Path
    h1: str


@dataclass(frozen=True)
class _Deadline:
    """The whole call's time budget; ``seconds=None`` leaves only the per-step timeouts."""

    seconds: float | None
    started: float = field(default_factory=time.monotonic)

    def check(self, doing: str) -> None:
        """Raise a (not transient) DownloadError once the budget is spent."""
        if self.seconds is not None and time.monotonic() - self.started > self.seconds:
            raise DownloadError(f"{doing}: gave up after the {self.seconds:g} s deadline")


# --- the GOPROXY list ------------------------------------------------------------------------


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


def _through_goproxy(
    goproxy: str,
    module: str,
    what: str,
    client: httpx.Client,
    deadline: _Deadline,
    fetch: Callable[[str], T],
) -> T:
    """``fetch(base URL)`` from each entry in turn until one answers; ``what`` names the ask."""
    last: DownloadError | None = None
    for entry, on_any_error in goproxy_entries(goproxy):
        if entry == "off":
            last = DownloadError("module lookup disabled by GOPROXY=off")
            break
        try:
            base = _direct_base(module, client, deadline) if entry == "direct" else entry
            return fetch(base.rstrip("/"))
        except NotFoundError as exc:
            last = exc
        except DownloadError as exc:
            last = exc
            if not on_any_error:
                break
    if isinstance(last, NotFoundError):
        raise NotFoundError(f"{what}: no proxy in {goproxy!r} has it ({last})")
    kind = ChecksumMismatchError if isinstance(last, ChecksumMismatchError) else DownloadError
    raise kind(f"{what}: {last}")


# --- the public calls --------------------------------------------------------------------------


def download(
    module: str,
    version: str,
    goproxy: str,
    dest: Path,
    *,
    client: httpx.Client,
    h1: str | None = None,
    deadline: float | None = None,
) -> Downloaded:
    """Download ``module@version`` through the ``goproxy`` list into ``dest``, verified.

    ``.info``, ``.mod`` and the zip land under ``dest/cache/download`` as the
    go command lays them out. ``h1`` is the zip's expected hash (from a go.sum),
    if known; ``deadline`` bounds the whole call in seconds. Raises
    DownloadError (NotFoundError when no proxy has it), having kept no zip.
    """
    _check_names(module, version)
    budget = _Deadline(deadline)
    return _through_goproxy(
        goproxy,
        module,
        f"{module}@{version}",
        client,
        budget,
        lambda base: _from_one_proxy(client, base, module, version, dest, h1, budget),
    )


def list_versions(
    module: str, goproxy: str, *, client: httpx.Client, deadline: float | None = None
) -> list[str]:
    """The tagged versions of ``module`` (its ``@v/list``) from the first entry that has it."""
    _check_names(module)
    budget = _Deadline(deadline)

    def from_one_proxy(base: str) -> list[str]:
        url = f"{base}/{escape_path(module)}/@v/list"
        return _retrying(lambda: _get(client, url, budget), budget, url).decode().split()

    return _through_goproxy(goproxy, module, f"module {module}", client, budget, from_one_proxy)


def discover(import_path: str, *, client: httpx.Client) -> MetaImport:
    """Where ``import_path`` lives, read from its ``?go-get=1`` page exactly as go reads it.

    Raises GoImportError with the text go prints after
    ``unrecognized import path "<import_path>": ``.
    """
    return _discover(import_path, client, _Deadline(None))


def fetch_zip(
    client: httpx.Client,
    url: str,
    module: str,
    version: str,
    target: Path,
    *,
    h1: str | None = None,
) -> str:
    """One attempt at the zip at ``url``: verified, renamed to ``target``; returns its ``h1:``.

    The building block of :func:`download`, for a client that only wants the
    zip. A failure leaves no file at ``target`` and raises DownloadError.
    """
    return _fetch_zip(client, url, module, version, target, h1, _Deadline(None))


def _check_names(module: str, version: str | None = None) -> None:
    """A DownloadError for a module path or version go would refuse before asking anyone."""
    try:
        check_path(module)
        if version is not None:
            check_version(module, version)
    except ModuleError as exc:
        raise DownloadError(str(exc)) from None


# --- one proxy ---------------------------------------------------------------------------------


def _from_one_proxy(
    client: httpx.Client,
    base: str,
    module: str,
    version: str,
    dest: Path,
    h1: str | None,
    deadline: _Deadline,
) -> Downloaded:
    """``.info``, ``.mod`` and ``.zip``, each checked, in the order the go command asks."""
    stem = f"{base}/{escape_path(module)}/@v/{escape_version(version)}"
    info = _retrying(lambda: _get(client, f"{stem}.info", deadline), deadline, stem)
    document = _checked_info(info, version, base)
    go_mod = _retrying(lambda: _get(client, f"{stem}.mod", deadline), deadline, stem)
    _check_go_mod(go_mod, module, version, f"{stem}.mod")
    zip_path = dest / "cache" / "download" / escape_path(module) / "@v"
    zip_path /= f"{escape_version(version)}.zip"
    actual = _retrying(
        lambda: _fetch_zip(client, f"{stem}.zip", module, version, zip_path, h1, deadline),
        deadline,
        stem,
    )
    _check_go_mod_is_the_zips(go_mod, zip_path, f"{module}@{version}/go.mod", f"{stem}.mod")
    zip_path.with_suffix(".info").write_bytes(info)
    zip_path.with_suffix(".mod").write_bytes(go_mod)
    return Downloaded(base, document, go_mod, zip_path, actual)


def _retrying(attempt: Callable[[], T], deadline: _Deadline, doing: str) -> T:
    """Run ``attempt`` until it does not fail transiently, at most ATTEMPTS times."""
    for number in range(1, ATTEMPTS + 1):
        deadline.check(doing)
        try:
            return attempt()
        except _TransientError:
            if number == ATTEMPTS:
                raise
            time.sleep(BACKOFF)
    raise AssertionError("unreachable")  # pragma: no cover


def _checked_info(info: bytes, version: str, base: str) -> dict[str, object]:
    try:
        document = json.loads(info)
    except ValueError as exc:  # e.g. a 200 HTML login page
        raise DownloadError(f"invalid response from proxy {base!r}: {exc}") from None
    if not isinstance(document, dict) or document.get("Version") != version:
        raise DownloadError(f"proxy returned info {info[:100]!r} instead of version {version}")
    return document


def _check_go_mod(go_mod: bytes, module: str, version: str, url: str) -> None:
    match = re.search(rb"^\s*module\s+\"?([^\s\"]+)", go_mod, re.MULTILINE)
    declared = match.group(1).decode("utf-8", "replace") if match else None
    if declared != module and not version.endswith("+incompatible"):
        says = f"its module line names {declared}" if declared else "it has no module line"
        raise DownloadError(f"{url}: the go.mod does not declare it ({says})")


def _check_go_mod_is_the_zips(go_mod: bytes, zip_path: Path, name: str, url: str) -> None:
    """The proxy's .mod of a version whose zip has a go.mod is that file, byte for byte."""
    with zipfile.ZipFile(zip_path) as archive:
        if name not in archive.namelist():
            return  # no go.mod in the zip: the proxy made the .mod up, as it should
        inside = archive.read(name)
    if go_mod != inside:
        raise DownloadError(
            f"{url}: the go.mod ({len(go_mod)} bytes) is not the one in the zip "
            f"({len(inside)} bytes): cut or changed on the way"
        )


# --- the zip -----------------------------------------------------------------------------------


def _fetch_zip(
    client: httpx.Client,
    url: str,
    module: str,
    version: str,
    target: Path,
    h1: str | None,
    deadline: _Deadline,
) -> str:
    """Stream to a temporary file beside ``target``, check it, rename it; its ``h1:``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as file:
            for block in _body(client, url, deadline):
                file.write(block)
        actual = _checked_zip_h1(Path(temporary), f"{module}@{version}/", url)
        if h1 is not None and actual != h1:
            raise ChecksumMismatchError(
                f"{url}: checksum mismatch: downloaded {actual}, expected {h1}"
            )
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    target.with_suffix(".ziphash").write_text(actual + "\n")
    return actual


def _checked_zip_h1(path: Path, prefix: str, url: str) -> str:
    """The zip's ``h1:``, after the layout check go makes on unzipping (``prefix`` on every file).

    Hashing reads every file to its end, which is when zipfile checks its CRC.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not name.startswith(prefix):
                    raise DownloadError(f"{url}: the zip has a file outside {prefix}: {name}")
        return zip_h1(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise DownloadError(f"{url}: not a valid zip file: {exc}") from None


# --- HTTP --------------------------------------------------------------------------------------


def _get(client: httpx.Client, url: str, deadline: _Deadline) -> bytes:
    return b"".join(_body(client, url, deadline))


def _body(client: httpx.Client, url: str, deadline: _Deadline) -> Iterator[bytes]:
    """The response body of a 200, block by block, its length checked at the end."""
    try:
        with client.stream("GET", url) as response:
            _check_status(response, url)
            declared = response.headers.get("content-length")
            received = 0
            for block in response.iter_bytes():
                deadline.check(f"read {go_quote(url)}")
                received += len(block)
                yield block
    except (httpx.HTTPError, h2.exceptions.H2Error) as exc:
        error = _TransientError if _is_transient(exc) else DownloadError
        raise error(f"read {go_quote(url)}: {type(exc).__name__}: {exc}") from None
    if declared is not None and int(declared) != received:
        raise _TransientError(
            f"read {go_quote(url)}: Content-Length {declared} but {received} bytes"
        )


def _check_status(response: httpx.Response, url: str) -> None:
    """404/410 is "not found", a 5xx is transient, anything else but 200 is an error."""
    status = response.status_code
    if status == 200:
        return
    message = f"reading {url}: {status} {response.reason_phrase}"
    if status in (404, 410):
        raise NotFoundError(message)
    raise (_TransientError if status >= 500 else DownloadError)(message)


def _is_transient(exc: Exception) -> bool:
    """Every transport failure but a refused certificate: asking again gets the same chain."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


# --- go-import discovery -----------------------------------------------------------------------


def _direct_base(module: str, client: httpx.Client, deadline: _Deadline) -> str:
    """The GOPROXY base URL a ``mod`` go-import tag names for ``module`` (GOPROXY=direct)."""
    try:
        meta = _discover(module, client, deadline)
    except GoImportError as exc:
        raise DownloadError(f"unrecognized import path {go_quote(module)}: {exc}") from None
    if meta.vcs != "mod" or meta.prefix != module:
        raise DownloadError(
            f"{module}: the go-import tag names {meta.vcs} at {meta.repo_root} for {meta.prefix}; "
            "the reference client only downloads from mod tags for the module itself"
        )
    return meta.repo_root


def _discover(import_path: str, client: httpx.Client, deadline: _Deadline) -> MetaImport:
    return resolve_go_import(import_path, lambda path: _go_get_page(client, path, deadline))


def _go_get_page(client: httpx.Client, import_path: str, deadline: _Deadline) -> GoGetPage:
    """Follow redirects as go does: at most MAX_REDIRECTS, never from https to http."""
    asked = url = "https:" + go_get_url(import_path)
    for _ in range(MAX_REDIRECTS):
        try:
            with client.stream("GET", url) as response:
                body, cut = _read_all(response, deadline)
        except (httpx.HTTPError, DownloadError) as exc:
            raise GoImportError(f"Get {go_quote(url)}: {exc}") from None
        location = response.headers.get("location")
        if response.is_redirect and location:
            target = urljoin(url, location)
            if target.startswith("http:"):
                raise GoImportError(
                    f"Get {go_quote(target)}: redirected from secure URL {asked} "
                    f"to insecure URL {target}"
                )
            url = target
            continue
        content_type = response.headers.get("content-type", "")
        return GoGetPage(
            asked, response.status_code, body, content_type, response.reason_phrase, cut
        )
    raise GoImportError(f"Get {go_quote(url)}: stopped after {MAX_REDIRECTS} redirects")


def _read_all(response: httpx.Response, deadline: _Deadline) -> tuple[bytes, bool]:
    """The body, and whether the transport cut it short (go parses what arrived)."""
    chunks: list[bytes] = []
    try:
        for chunk in response.iter_raw():
            deadline.check("reading the go-import page")
            chunks.append(chunk)
    except httpx.RemoteProtocolError:
        return b"".join(chunks), True
    return b"".join(chunks), False


# --- the command line --------------------------------------------------------------------------


def client_from_environment(*, timeout: float = TIMEOUT) -> httpx.Client:
    """An httpx client using HTTPS_PROXY and trusting SSL_CERT_FILE, as a command would;
    it offers HTTP/2 by ALPN, as go does."""
    cafile = os.environ.get("SSL_CERT_FILE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cafile) if cafile else True
    return httpx.Client(verify=verify, timeout=timeout, trust_env=True, http2=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m pytest_gomodnet.conformance.reference MODULE VERSION GOPROXY DEST")
        return 2
    module, version, goproxy, dest = args
    with client_from_environment() as client:
        try:
            got = download(module, version, goproxy, Path(dest), client=client)
        except DownloadError as exc:
            print(f"reference: {exc}", file=sys.stderr)
            return 1
    print(got.zip_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
