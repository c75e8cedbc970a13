"""A careful caching GOPROXY mirror: a zip enters its cache whole and verified, or not at all.

    python -m pytest_gomodnet.mirrors.careful_mirror --upstream https://proxy.golang.org --port 8080

(``--http2`` offers the upstream HTTP/2 by ALPN, as Go's net/http does.)

For each uncached zip, one download at a time (concurrent requests for it wait
for that one download and share its outcome), into a temporary file beside
the cache entry. The file is committed (an atomic rename) only when the
upstream said 200, every byte of its Content-Length arrived, it is a zip
whose entries all live under ``<module>@<version>/``, and every entry matches
its CRC. Its ``h1:`` (the go.sum hash) is stored beside it as ``.ziphash``
and checked again before each time the zip is served. Anything else is a 502
naming the reason, and nothing is kept; 404 and 410 pass through uncached.

An upstream answer without a Content-Length ends where the connection ends, so
a cut one looks whole to HTTP: the checks above are what catch it. The
passed-through metadata is checked too: an ``.info`` (and ``@latest``) must
be JSON naming a version (the asked one, for ``.info``); a ``.mod`` must
declare the module and, when the module's verified zip holds a go.mod (the
zip is fetched into the cache for this), be that file byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import zipfile
import zlib
from contextlib import ExitStack, closing, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from . import _mirror
from ._mirror import Endpoint, Upstream

#: The longest a whole download may take, in multiples of --upstream-timeout.
DOWNLOAD_DEADLINE_FACTOR = 6


class Refused(Exception):
    """What the upstream sent cannot go into the cache; the message says why."""


@dataclass(frozen=True)
class Answer:
    """A response the mirror sends as is: a passed-through 404/410, or a 502 with its reason."""

    status: int
    content_type: str | None
    body: bytes

    @classmethod
    def refusal(cls, reason: str) -> Answer:
        return cls(502, "text/plain; charset=utf-8", f"{reason}\n".encode())


@dataclass
class Flight:
    """One download that any number of requests wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None
    """None once the zip is in the cache; else what every waiting request gets."""


class CarefulZips:
    """Serve verified zips from the cache; fetch each missing one once, verify, then commit."""

    def __init__(self, upstream: Upstream, cache: Path) -> None:
        self.upstream = upstream
        self.cache = cache
        self.deadline = DOWNLOAD_DEADLINE_FACTOR * upstream.timeout
        self._flights: dict[Path, Flight] = {}
        self._lock = threading.Lock()

    def serve_zip(self, handler: BaseHTTPRequestHandler, endpoint: Endpoint) -> None:
        target = _mirror.cache_file(self.cache, endpoint)
        prefix = f"{endpoint.module}@{endpoint.version}/"
        cached = open_verified(target, prefix)
        if cached is None:
            answer = self._download_once(endpoint, target, prefix)
            cached = open_verified(target, prefix) if answer is None else None
            if cached is None:
                answer = answer or Answer.refusal("the cached zip changed before it was served")
                _mirror.send_bytes(handler, answer.status, answer.content_type, answer.body)
                return
        with cached:
            _mirror.send_file(handler, cached, os.fstat(cached.fileno()).st_size)

    def check_metadata(self, endpoint: Endpoint, body: bytes) -> str | None:
        """Why a 200 ``.info``, ``@latest`` or ``.mod`` is not the whole file, or None."""
        if endpoint.path.endswith(("/@latest", ".info")):
            return info_problem(body, endpoint.version)
        if endpoint.path.endswith(".mod") and endpoint.module and endpoint.version:
            return go_mod_problem(body, endpoint.module, endpoint.version) or self._zip_disagrees(
                endpoint, body
            )
        return None

    def _zip_disagrees(self, mod: Endpoint, go_mod: bytes) -> str | None:
        """Why ``go_mod`` is not the go.mod in the module's verified zip, or None.

        None too when the zip has no go.mod (the upstream made the .mod up) or
        cannot be had: then the module line is all there is to check.
        """
        zip_endpoint = Endpoint(
            mod.raw_path.removesuffix(".mod") + ".zip",
            mod.path.removesuffix(".mod") + ".zip",
            mod.module,
            mod.version,
            is_zip=True,
        )
        target = _mirror.cache_file(self.cache, zip_endpoint)
        prefix = f"{mod.module}@{mod.version}/"
        cached = open_verified(target, prefix)
        if cached is None and self._download_once(zip_endpoint, target, prefix) is None:
            cached = open_verified(target, prefix)
        if cached is None:
            return None
        with cached, zipfile.ZipFile(cached) as archive:
            if f"{prefix}go.mod" not in archive.namelist():
                return None
            inside = archive.read(f"{prefix}go.mod")
        if inside != go_mod:
            return (
                f"the .mod ({len(go_mod)} bytes) is not the go.mod in the zip ({len(inside)} bytes)"
            )
        return None

    def _download_once(self, endpoint: Endpoint, target: Path, prefix: str) -> Answer | None:
        """Lead a download of ``target``, or wait for the one in flight, and share its outcome."""
        with self._lock:
            flight = self._flights.get(target)
            leading = flight is None
            if flight is None:
                flight = self._flights[target] = Flight()
        if not leading:
            if flight.done.wait(self.deadline + self.upstream.timeout):
                return flight.answer
            return Answer.refusal(f"gave up waiting for the download of {endpoint.raw_path}")
        try:
            flight.answer = self._download(endpoint, target, prefix)
        except BaseException as error:
            flight.answer = Answer.refusal(f"mirror error: {type(error).__name__}: {error}")
            raise
        finally:
            with self._lock:
                del self._flights[target]
            flight.done.set()
        return flight.answer

    def _download(self, endpoint: Endpoint, target: Path, prefix: str) -> Answer | None:
        """Fetch into a temporary file; commit it only if it passes every check."""
        landed = open_verified(target, prefix)  # by the flight that ended as this one began
        if landed is not None:
            landed.close()
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as file:
                passed_through = self._fetch(endpoint, file)
            if passed_through is not None:
                return passed_through
            with temporary.open("rb") as file:
                h1 = module_zip_h1(file, prefix)
            commit(temporary, target, h1)
            return None
        except Refused as refusal:
            return Answer.refusal(str(refusal))
        finally:
            temporary.unlink(missing_ok=True)

    def _fetch(self, endpoint: Endpoint, file: BinaryIO) -> Answer | None:
        """Write the upstream's 200 body to ``file``; return a 404/410 to pass through."""
        url = self.upstream.url(endpoint)
        give_up = time.monotonic() + self.deadline
        try:
            with closing(self.upstream.open(endpoint)) as response:
                status = response.status_code
                if status in (404, 410):
                    body = _mirror.read_bounded(response, _mirror.MAX_METADATA)
                    return Answer(status, response.headers.get("content-type"), body)
                if status != 200:
                    raise Refused(f"upstream answered {status} to GET {url}")
                declared = response.headers.get("content-length")
                received = 0
                for block in response.iter_bytes():
                    if time.monotonic() > give_up:
                        raise Refused(f"GET {url} took longer than {self.deadline:g} s")
                    file.write(block)
                    received += len(block)
        except (*_mirror.UPSTREAM_ERRORS, ValueError) as error:
            raise Refused(_mirror.describe_error(url, error)) from error
        if declared is not None and declared != str(received):
            raise Refused(f"GET {url}: Content-Length {declared} but {received} bytes arrived")
        return None


def open_verified(target: Path, prefix: str) -> BinaryIO | None:
    """The cached zip, open at its start, if it still has the ``h1:`` recorded at commit."""
    try:
        recorded = ziphash_file(target).read_text().strip()
        file = target.open("rb")
    except FileNotFoundError:
        return None
    with ExitStack() as unless_verified:
        unless_verified.callback(file.close)
        with suppress(Refused):
            if module_zip_h1(file, prefix) == recorded:
                file.seek(0)
                unless_verified.pop_all()
                return file
    return None


def module_zip_h1(file: BinaryIO, prefix: str) -> str:
    """The zip's ``h1:``, after checking every entry's name and CRC; Refused if any fails.

    ``h1:`` is golang.org/x/mod/sumdb/dirhash's Hash1: for each entry in name
    order, a line ``<sha256 hex>  <name>\\n``; then base64 of the sha256 of those lines.
    Reading an entry to its end is what makes zipfile check its CRC.
    """
    digests: list[tuple[str, str]] = []
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                name = info.filename
                if not name.startswith(prefix) or ".." in PurePosixPath(name).parts:
                    raise Refused(f"not a module zip: entry {name!r} is outside {prefix!r}")
                digest = hashlib.sha256()
                with archive.open(info) as entry:
                    while block := entry.read(_mirror.BLOCK):
                        digest.update(block)
                digests.append((name, digest.hexdigest()))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise Refused(f"not a valid zip: {_mirror.one_line(str(error))}") from error
    lines = "".join(f"{hexdigest}  {name}\n" for name, hexdigest in sorted(digests))
    summary = hashlib.sha256(lines.encode()).digest()
    return "h1:" + base64.b64encode(summary).decode()


def info_problem(body: bytes, version: str | None) -> str | None:
    """Why ``body`` is not a version's .info JSON (naming ``version``, if given), or None."""
    try:
        info = json.loads(body)
    except ValueError as error:
        return f"the .info is not JSON: {error}"
    if not isinstance(info, dict) or not isinstance(info.get("Version"), str):
        return "the .info names no Version"
    if version is not None and info["Version"] != version:
        return f"the .info names {info['Version']!r}, not {version!r}"
    return None


_MODULE_LINE = re.compile(rb"^\s*module\s+\"?([^\s\"]+)\"?\s*$", re.MULTILINE)


def go_mod_problem(body: bytes, module: str, version: str) -> str | None:
    """Why ``body`` is not a go.mod declaring ``module`` (a cut one may name a prefix), or None."""
    match = _MODULE_LINE.search(body)
    declared = match.group(1).decode("utf-8", "replace") if match else None
    if declared == module or (declared is None and version.endswith("+incompatible")):
        return None
    return f"the .mod declares {declared!r}, not {module!r}"


def ziphash_file(target: Path) -> Path:
    return target.with_suffix(".ziphash")


def commit(temporary: Path, target: Path, h1: str) -> None:
    """Rename the verified zip into place, its ``h1:`` first: each rename is atomic."""
    hash_temporary = temporary.with_name(temporary.name + ".ziphash")
    hash_temporary.write_text(f"{h1}\n")
    os.replace(hash_temporary, ziphash_file(target))
    os.replace(temporary, target)


if __name__ == "__main__":
    _mirror.main(__doc__, CarefulZips)
