"""Two module-zip downloaders: a naive one with a real bug, and a careful one.

Both fetch ``<proxy>/<module>/@v/<version>.zip`` with httpx into a cache
directory laid out like the go command's, and return the cached file. Both
get the same faults in ``test_fuzz_downloaders.py``; only one survives.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import httpx


def _cache_path(cache: Path, module: str, version: str) -> Path:
    return cache / module / "@v" / f"{version}.zip"


def naive_download(
    client: httpx.Client, proxy: str, module: str, version: str, cache: Path
) -> Path:
    """Stream the zip straight into the cache, and trust the cache from then on.

    The bug: when the connection is cut mid-body, httpx raises, but the file
    already holds the bytes that arrived, and the next call returns it as a
    cache hit. Nothing checks the length or the hash. (goproxyio/goproxy#107:
    "zip: not a valid zip file", served from a proxy's cache forever.)
    """
    target = _cache_path(cache, module, version)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with client.stream("GET", f"{proxy}/{module}/@v/{version}.zip") as response:
        response.raise_for_status()
        with target.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
    return target


class DownloadError(Exception):
    """The artifact did not arrive whole; nothing was cached."""


def zip_h1(data: bytes) -> str:
    """The go.sum hash of a module zip (golang.org/x/mod/sumdb/dirhash Hash1)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        lines = "".join(
            f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}\n"
            for name in sorted(archive.namelist())
        )
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def careful_download(
    client: httpx.Client, proxy: str, module: str, version: str, cache: Path, *, h1: str
) -> Path:
    """Download to a temporary file, check length and ``h1``, then rename into the cache.

    The rename is atomic, so the cache holds the whole, verified zip or
    nothing; any failure removes the temporary file and raises DownloadError.
    """
    target = _cache_path(cache, module, version)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as file:
            received = _fetch_into(client, f"{proxy}/{module}/@v/{version}.zip", file)
        data = Path(temporary).read_bytes()
        if len(data) != received:
            raise DownloadError(f"wrote {len(data)} bytes but received {received}")
        try:
            actual = zip_h1(data)
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise DownloadError(f"{module}@{version}: not a valid zip: {exc}") from exc
        if actual != h1:
            raise DownloadError(f"{module}@{version}: checksum mismatch: got {actual}, want {h1}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _fetch_into(client: httpx.Client, url: str, file: io.BufferedWriter) -> int:
    try:
        with client.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length")
            received = 0
            for chunk in response.iter_bytes():
                file.write(chunk)
                received += len(chunk)
    except httpx.HTTPError as exc:
        raise DownloadError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if declared is not None and int(declared) != received:
        raise DownloadError(f"GET {url}: Content-Length {declared} but {received} bytes arrived")
    return received
