"""Two module-zip downloaders: a naive one with a real bug, and a careful one.

Both fetch ``<proxy>/<module>/@v/<version>.zip`` with httpx into a cache
directory laid out like the go command's, and return the cached file. Both
get the same faults in ``test_fuzz_downloaders.py``; only one survives.

The careful one is the zip step of the plugin's reference client
(``pytest_gomodnet/conformance/reference.py``: temporary file, length, layout,
CRC and ``h1:`` checks, atomic rename), called once, without its retries, so
that every fault the fuzzer picks reaches it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from pytest_gomodnet.conformance.reference import DownloadError, fetch_zip

__all__ = ["DownloadError", "careful_download", "naive_download"]


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


def careful_download(
    client: httpx.Client, proxy: str, module: str, version: str, cache: Path, *, h1: str
) -> Path:
    """Download to a temporary file, check length, layout and ``h1``, then rename into the cache.

    The rename is atomic, so the cache holds the whole, verified zip or
    nothing; any failure removes the temporary file and raises DownloadError.
    The checks are the reference client's zip step
    (:func:`pytest_gomodnet.conformance.reference.fetch_zip`), one attempt.
    """
    target = _cache_path(cache, module, version)
    if not target.exists():
        fetch_zip(client, f"{proxy}/{module}/@v/{version}.zip", module, version, target, h1=h1)
    return target
