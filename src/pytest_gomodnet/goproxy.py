"""The GOPROXY protocol over a ModuleStore.

:class:`ModuleStore` holds module versions as the go command downloads them
(``.info``, ``.mod``, ``.zip`` on disk) and knows their ``h1:`` hashes, so a
test can compare go.sum lines byte for byte. :class:`GoProxy` serves a store
over the protocol: ``$mod/@v/list``, ``$mod/@v/$v.info|.mod|.zip`` and
``$mod/@latest``, paths case-encoded and percent-decoded as the go command
sends them. Anything it cannot serve gets 404 (or 410) with a one-line text
body in the public proxy's style, never a traceback.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from werkzeug import Request, Response

from .errors import ModuleError, ZipError
from .modules import (
    build_zip,
    check_bodies,
    check_path,
    check_version,
    escape_path,
    escape_version,
    files_from_directory,
    go_mod_h1,
    go_sum_lines,
    is_pseudo_version,
    sort_versions,
    unescape_path,
    unescape_version,
    zip_h1,
)
from .origin import HandlerServer
from .origin import text_response as _text

if TYPE_CHECKING:
    from .sumdb import SumDB

__all__ = ["GoProxy", "ModuleStore", "StoredVersion"]

#: The ``Time`` of every version added without one: fixed, so hashes and logs repeat.
DEFAULT_TIME = "2026-01-01T00:00:00Z"

#: A zip is served in blocks of this size: few enough steps through the fault engine
#: for a large one, and never more than a block or two in memory.
_FILE_BLOCK = 1 << 20

_ENDPOINT = re.compile(r"/(?P<module>.+?)/(?:@v/(?P<file>list|.+\.(?:info|mod|zip))|@latest)")
_SUMDB_SUPPORTED = re.compile(r"/sumdb/[^/]+/supported")


@dataclass(frozen=True)
class StoredVersion:
    """One module version in a store. Has no public constructor: see ModuleStore.add."""

    path: str
    version: str
    time: str
    go_mod: bytes
    zip_path: Path
    h1: str
    go_mod_h1: str
    origin: tuple[tuple[str, str], ...] = ()

    @property
    def info(self) -> bytes:
        """The ``.info`` JSON, compact like the public proxy's: Version, Time, Origin if known."""
        info: dict[str, object] = {"Version": self.version, "Time": self.time}
        if self.origin:
            info["Origin"] = dict(self.origin)
        return json.dumps(info, separators=(",", ":")).encode()

    @property
    def go_sum_lines(self) -> tuple[str, str]:
        """The two lines go writes to go.sum for this version."""
        return go_sum_lines(self.path, self.version, self.h1, self.go_mod_h1)


class ModuleStore:
    """Module versions on disk, ready to serve. A context manager; close() removes them.

    ``add(path, version, files={...})`` validates with the module model (the
    same errors the go command gives), writes the zip and returns a
    :class:`StoredVersion` with its hashes.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="gomodnet-store-")
        self.directory = Path(directory or self._tmp.name)  # type: ignore[union-attr]
        self._versions: dict[str, dict[str, StoredVersion]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def add(
        self,
        path: str,
        version: str,
        *,
        files: Mapping[str, bytes] | None = None,
        directory: Path | None = None,
        go_mod: bytes | None = None,
        time: str = DEFAULT_TIME,
        origin: Mapping[str, str] | None = None,
    ) -> StoredVersion:
        """Add ``path@version``; go.mod is ``go_mod``, else ``files["go.mod"]``, else minimal.

        File bodies are ``bytes``. A version, once added, keeps its content (go.sum
        pins it): adding it again with the same files, go.mod, time and origin returns
        the version already stored; with anything else it is a ModuleError.
        """
        check_path(path)
        check_version(path, version)
        if directory is not None and files is not None:
            raise ValueError("give files= or directory=, not both")
        files = files_from_directory(directory) if directory is not None else dict(files or {})
        if go_mod is None:
            go_mod = files.get("go.mod", f"module {path}\n".encode())
        check_bodies({**{f"files[{n!r}]": body for n, body in files.items()}, "go_mod": go_mod})
        files.setdefault("go.mod", go_mod)
        _check_module_line(path, version, go_mod)
        zip_path = self.directory / escape_path(path) / "@v" / f"{escape_version(version)}.zip"
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        # Built beside the served zip, then moved in: a client reading it never sees a half.
        building = zip_path.with_name(f".{zip_path.name}.{threading.get_ident()}")
        try:
            build_zip(path, version, files, building)
            stored = StoredVersion(
                path,
                version,
                time,
                go_mod,
                zip_path,
                zip_h1(building),
                go_mod_h1(go_mod),
                tuple((origin or {}).items()),
            )
            with self._lock:
                existing = self.get(path, version)
                if existing is None:
                    building.replace(zip_path)
                    self._versions.setdefault(path, {})[version] = stored
                    return stored
            return _same_version(existing, stored)
        finally:
            building.unlink(missing_ok=True)

    def get(self, path: str, version: str) -> StoredVersion | None:
        return self._versions.get(path, {}).get(version)

    def all(self) -> list[StoredVersion]:
        """Every version in the store, in the order they were added (per module path)."""
        with self._lock:
            return [stored for versions in self._versions.values() for stored in versions.values()]

    def versions(self, path: str) -> list[str]:
        """Tagged versions of ``path`` in semver order (pseudo-versions are not listed)."""
        return sort_versions(v for v in self._versions.get(path, {}) if not is_pseudo_version(v))

    def latest(self, path: str) -> StoredVersion | None:
        """What ``@latest`` answers: the newest release, else the newest pre-release."""
        tagged = self.versions(path)
        releases = [v for v in tagged if "-" not in v.split("+")[0]]
        chosen = (releases or tagged or sort_versions(self._versions.get(path, {})))[-1:]
        return self.get(path, chosen[0]) if chosen else None

    def __contains__(self, path: object) -> bool:
        return path in self._versions

    def write_proxy_tree(self, destination: Path) -> Path:
        """Lay the store out as a GOPROXY file tree (for ``GOPROXY=file://…``)."""
        for path, versions in self._versions.items():
            folder = destination / escape_path(path) / "@v"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "list").write_text("".join(f"{v}\n" for v in self.versions(path)))
            for version, stored in versions.items():
                name = escape_version(version)
                (folder / f"{name}.info").write_bytes(stored.info)
                (folder / f"{name}.mod").write_bytes(stored.go_mod)
                shutil.copyfile(stored.zip_path, folder / f"{name}.zip")
        return destination


class GoProxy:
    """A GOPROXY-protocol server over a ModuleStore.

    ``handle`` serves one werkzeug request, so the shared Origin can play it
    under any host name; used as a context manager it also runs on its own
    server at ``.url`` (127.0.0.1, port 0; https with ``ssl_context``).
    ``missing_status`` is what a missing module or version gets: 404 or 410,
    both "not found" to the go command.
    """

    def __init__(
        self,
        store: ModuleStore,
        *,
        missing_status: int = 404,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if missing_status not in (404, 410):
            raise ValueError(f"missing_status={missing_status!r} must be 404 or 410")
        self.store = store
        self.missing_status = missing_status
        self.log: list[tuple[str, str, int]] = []
        """Every request served: (method, path as sent, status)."""
        self._server = HandlerServer(self.handle, ssl_context=ssl_context)
        self._sumdbs: dict[str, SumDB] = {}

    def proxy_sumdb(self, sumdb: SumDB) -> None:
        """Proxy ``sumdb`` at ``/sumdb/<name>/…``, as public proxies do for sum.golang.org.

        ``/sumdb/<name>/supported`` then answers 200, so a go command whose
        GOSUMDB is the key alone reaches the database through this proxy.
        """
        self._sumdbs[sumdb.name] = sumdb

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()
        self._server.check()

    def handle(self, request: Request) -> Response:
        response = self._answer(request)
        sent = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
        self.log.append((request.method, sent, response.status_code))
        return response

    def _answer(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _text(f"method {request.method} not allowed\n", 405)
        name, _, rest = request.path.removeprefix("/sumdb/").partition("/")
        if request.path.startswith("/sumdb/") and name in self._sumdbs:
            if rest == "supported":
                return Response(b"", content_type="text/plain; charset=utf-8")
            return self._sumdbs[name].serve(request.method, f"/{rest}")
        if _SUMDB_SUPPORTED.fullmatch(request.path):
            return _text("not found: this proxy does not proxy a checksum database\n", 404)
        match = _ENDPOINT.fullmatch(request.path)
        if not match:
            return _text(f"not found: {request.path!r} is not a GOPROXY endpoint\n", 404)
        try:
            path = unescape_path(match["module"])
            if match["file"] in (None, "list"):
                return self._list(path) if match["file"] else self._latest(path)
            stem, _, kind = match["file"].rpartition(".")
            version = unescape_version(stem)
        except ModuleError as exc:
            return _text(f"not found: {exc}\n", 404)
        stored = self.store.get(path, version)
        if stored is None:
            return _text(
                f"not found: {path}@{version}: invalid version: unknown revision {version}\n",
                self.missing_status,
            )
        if kind == "info":
            return Response(stored.info, content_type="application/json")
        if kind == "mod":
            return Response(stored.go_mod, content_type="text/plain; charset=utf-8")
        return _file(stored.zip_path)

    def _list(self, path: str) -> Response:
        if path not in self.store:
            return _text(f"not found: module {path}: no matching versions\n", self.missing_status)
        body = "".join(f"{v}\n" for v in self.store.versions(path))
        return Response(body, content_type="text/plain; charset=utf-8")

    def _latest(self, path: str) -> Response:
        stored = self.store.latest(path)
        if stored is None:
            return _text(f"not found: module {path}: no matching versions\n", self.missing_status)
        return Response(stored.info, content_type="application/json")


def _same_version(existing: StoredVersion, again: StoredVersion) -> StoredVersion:
    """The version already stored, if ``again`` is the same; else the difference, as an error."""
    fields = [
        ("zip", existing.h1, again.h1),
        ("go.mod", existing.go_mod_h1, again.go_mod_h1),
        ("time", existing.time, again.time),
        ("origin", dict(existing.origin), dict(again.origin)),
    ]
    changed = [f"{name} {old} → {new}" for name, old, new in fields if old != new]
    if changed:
        raise ModuleError(
            f"{existing.path}@{existing.version} is already in the store with other content "
            f"({'; '.join(map(str, changed))}): a published version never changes (go.sum "
            "pins it), so add a new version, or use another ModuleStore"
        )
    return existing


def _check_module_line(path: str, version: str, go_mod: bytes) -> None:
    """The go command refuses a go.mod that names another module; refuse it first."""
    match = re.search(rb"^\s*module\s+\"?([^\s\"]+)", go_mod, re.MULTILINE)
    declared = match.group(1).decode("utf-8", "replace") if match else None
    if declared is None and version.endswith("+incompatible"):
        return
    if declared != path:
        raise ZipError(
            f"{path}@{version}: go.mod declares its path as {declared!r}, "
            f"but the module is {path!r} (go: module declares its path as: …)"
        )


def _file(path: Path) -> Response:
    """Stream a file with its exact Content-Length; it never sits in memory whole."""
    response = Response(_blocks(path), content_type="application/zip", direct_passthrough=True)
    response.content_length = path.stat().st_size
    return response


def _blocks(path: Path) -> Iterator[bytes]:
    # A generator, not werkzeug's FileWrapper: when a cut connection makes the
    # server drop the response unclosed, finalising the generator still closes the file.
    with path.open("rb") as file:
        while block := file.read(_FILE_BLOCK):
            yield block
