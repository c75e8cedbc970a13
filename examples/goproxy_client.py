"""A reference GOPROXY client in Python: how a well-behaved downloader reacts to a bad network.

It follows the go command's rules where they are right, and is stricter where
go relies on things a small client does not have:

* a ``GOPROXY`` list is tried in order: after ``,`` only "not found" (404 or
  410) moves on to the next proxy, after ``|`` any error does;
* ``.info`` must be JSON naming the asked version, ``.mod`` must declare the
  module, the zip must match its ``h1:`` hash; whatever fails, nothing is cached;
* every request has a deadline (the httpx client's timeout): unlike go, it
  never waits forever for a stalled proxy;
* ``?go-get=1`` discovery uses the plugin's reference reader
  (:func:`pytest_gomodnet.goimport.resolve_go_import`), so it fails exactly
  where go fails, with go's words.

``tests/test_e2e_go.py`` runs the same faults against the real go command;
``test_reference_downloader.py`` next to this file runs them against this client.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from pytest_gomodnet.errors import GoImportError
from pytest_gomodnet.goimport import GoGetPage, MetaImport, go_get_url, resolve_go_import
from pytest_gomodnet.modules import escape_path, escape_version

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from downloaders import DownloadError, careful_download


class NotFound(DownloadError):
    """The proxy does not have it (404 or 410): the next proxy in the list may."""


@dataclass(frozen=True)
class Downloaded:
    """One module version, verified and cached."""

    proxy: str
    info: dict[str, object]
    go_mod: bytes
    zip_path: Path


def proxy_list(goproxy: str) -> list[tuple[str, bool]]:
    """``GOPROXY`` as (url, move on after any error?) pairs; "direct" and "off" are not URLs."""
    entries = re.split(r"([,|])", goproxy)
    urls, separators = entries[0::2], [*entries[1::2], ","]
    return [(url.rstrip("/"), sep == "|") for url, sep in zip(urls, separators, strict=True)]


def _get(client: httpx.Client, url: str) -> bytes:
    """The whole body of a 200 answer; NotFound for 404/410, DownloadError for anything else."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:  # cut, reset, timeout, TLS: all the same to the caller
        raise DownloadError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code in (404, 410):
        raise NotFound(f"GET {url}: {response.status_code} {response.text.strip()[:200]}")
    if response.status_code != 200:
        raise DownloadError(f"GET {url}: {response.status_code} {response.reason_phrase}")
    return response.content


def _from_one_proxy(
    client: httpx.Client, proxy: str, module: str, version: str, cache: Path, h1: str
) -> Downloaded:
    base = f"{proxy}/{escape_path(module)}/@v/{escape_version(version)}"
    try:
        info = json.loads(_get(client, f"{base}.info"))
    except json.JSONDecodeError as exc:  # e.g. a 200 HTML login page
        raise DownloadError(f"invalid response from proxy {proxy!r}: {exc}") from exc
    if not isinstance(info, dict) or info.get("Version") != version:
        raise DownloadError(f"{proxy!r} answered .info for another version: {info!r}")
    go_mod = _get(client, f"{base}.mod")
    if not re.search(rb"^\s*module\s+\"?" + re.escape(module.encode()), go_mod, re.MULTILINE):
        raise DownloadError(f"{proxy!r}: the go.mod of {module}@{version} does not declare it")
    # careful_download checks Content-Length and h1, and renames into the cache atomically.
    try:
        zip_path = careful_download(
            client, proxy, escape_path(module), escape_version(version), cache, h1=h1
        )
    except DownloadError as exc:
        status = getattr(getattr(exc.__cause__, "response", None), "status_code", None)
        if status in (404, 410):
            raise NotFound(str(exc)) from exc
        raise
    return Downloaded(proxy, info, go_mod, zip_path)


def download(
    client: httpx.Client, goproxy: str, module: str, version: str, cache: Path, *, h1: str
) -> Downloaded:
    """Download ``module@version`` through the ``GOPROXY`` list, as go does, but verified."""
    for proxy, after_any_error in proxy_list(goproxy):
        try:
            return _from_one_proxy(client, proxy, module, version, cache, h1)
        except NotFound:
            continue
        except DownloadError:
            if after_any_error:
                continue
            raise
    raise NotFound(f"{module}@{version}: no proxy in {goproxy!r} has it")


def list_versions(client: httpx.Client, goproxy: str, module: str) -> list[str]:
    """The tagged versions of ``module`` from the first proxy that has it."""
    for proxy, after_any_error in proxy_list(goproxy):
        try:
            body = _get(client, f"{proxy}/{escape_path(module)}/@v/list")
        except NotFound:
            continue
        except DownloadError:
            if after_any_error:
                continue
            raise
        return body.decode().split()
    raise NotFound(f"module {module}: no proxy in {goproxy!r} has it")


def discover(client: httpx.Client, import_path: str) -> MetaImport:
    """Where ``import_path`` lives, read from its ``?go-get=1`` page exactly as go reads it.

    Raises GoImportError with the text go prints after
    ``unrecognized import path "<import_path>": ``.
    """
    return resolve_go_import(import_path, lambda path: _go_get_page(client, path))


def _go_get_page(client: httpx.Client, import_path: str) -> GoGetPage:
    """Follow redirects as go does: at most 10, never from https to http."""
    asked = url = "https:" + go_get_url(import_path)
    for _ in range(10):
        try:
            with client.stream("GET", url) as response:
                body, cut = _read_all(response)
        except httpx.HTTPError as exc:
            raise GoImportError(f'Get "{url}": {exc}') from exc
        location = response.headers.get("location")
        if response.is_redirect and location:
            target = urljoin(url, location)
            if target.startswith("http:"):
                raise GoImportError(
                    f'Get "{target}": redirected from secure URL {asked} to insecure URL {target}'
                )
            url = target
            continue
        content_type = response.headers.get("content-type", "")
        return GoGetPage(
            asked, response.status_code, body, content_type, response.reason_phrase, cut
        )
    raise GoImportError(f'Get "{url}": stopped after 10 redirects')


def _read_all(response: httpx.Response) -> tuple[bytes, bool]:
    """The body, and whether the transport cut it short (go parses what arrived)."""
    chunks: list[bytes] = []
    try:
        for chunk in response.iter_raw():
            chunks.append(chunk)
    except httpx.RemoteProtocolError:
        return b"".join(chunks), True
    return b"".join(chunks), False
