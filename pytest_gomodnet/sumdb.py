"""A Go checksum database (a "sumdb") over the network's module stores.

:class:`SumDB` keeps a real transparency log (see :mod:`.tlog`) whose records
are go.sum lines, one record per module version, and serves it the way
golang.org/x/mod/sumdb's server does:

==============================  ============================================
``/lookup/<mod>@<ver>``         the record (id, text, blank line), then the
                                signed tree note; ``text/plain; charset=UTF-8``
``/latest``                     the signed tree note
``/tile/8/<L>/<N>[.p/<W>]``     W hashes of level 8·L; ``application/octet-stream``
``/tile/8/data/<N>[.p/<W>]``    the record texts, each followed by a blank line
==============================  ============================================

A malformed lookup gets ``400 invalid module@version syntax``, a malformed
tile path ``400 invalid tile syntax``, anything outside the log ``404``: the
answers of x/mod's server. Records come from the stores on demand: every
request first logs each store version not logged yet, so a version added to
a store mid-test shows up as the log growing, as it does at sum.golang.org.

A SumDB can also misbehave on purpose (:meth:`SumDB.wrong_key`,
:meth:`SumDB.fork`, :meth:`SumDB.short_tiles`, :meth:`SumDB.stale`,
:meth:`SumDB.forge`); each one armed must be served at least once, or
the test that armed it fails with UnfiredFaultError (``must_fire=False`` opts out).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug import Request, Response

from ._sumdb_misbehaviour import SumDBMisbehaviour
from .errors import ModuleError
from .modules import check_path, check_version, go_sum_lines, unescape_path, unescape_version
from .note import Signer
from .origin import text_response
from .tlog import TILE_HEIGHT, Log, Tile, TilePathError, format_record, format_tree

if TYPE_CHECKING:
    from .goproxy import ModuleStore

__all__ = ["SumDB"]

# x/mod's server accepts a lookup only if it looks like module@version.
_MOD_VER = re.compile(r"[^@]+@v[0-9]+\.[0-9]+\.[0-9]+(-[^@]*)?(\+incompatible)?")
_NOTE_TYPE = "text/plain; charset=UTF-8"


class SumDB(SumDBMisbehaviour):
    """A checksum database named ``name`` (its host) over the stores ``stores()`` returns.

    Get one from ``gomodnet.add_sumdb(host)``; ``key`` is the verifier key
    for ``GOSUMDB``. ``handle`` serves one werkzeug request, so the network's
    Origin can play it under the host's name.
    """

    def __init__(
        self,
        name: str,
        *,
        stores: Callable[[], Iterable[ModuleStore]] = tuple,
        signer: Signer | None = None,
    ) -> None:
        self.name = name
        self.signer = signer or Signer(name)
        self.requests: list[tuple[str, str, int]] = []
        """Every request served: (method, path as sent, status)."""
        self._stores = stores
        self._log = Log()
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        # Misbehaviour: what is armed, and whether it was served yet.
        self._armed: dict[str, bool] = {}
        self._note_signer: tuple[Signer, int] | None = None
        self._published: int | None = None
        self._tile_cut: int | None = None
        self._forged: dict[tuple[str, str], bytes] = {}
        self._notes: dict[tuple[bytes, bytes, int], bytes] = {}

    def __repr__(self) -> str:
        return f"SumDB({self.key!r})"

    @property
    def key(self) -> str:
        """The verifier key: ``<name>+<key hash>+<base64 public key>``."""
        return self.signer.verifier_key

    # -- the log ---------------------------------------------------------------

    def add(self, path: str, version: str, *, h1: str, go_mod_h1: str) -> int:
        """Log ``path@version`` with these hashes now; its record id.

        Logged at once, so ahead of any store version not logged yet: a
        store's own copy of ``path@version`` is then never logged. What a
        test uses to make the database disagree with a proxy (the go
        command then reports a SECURITY ERROR), or to cover a module no
        store serves (one fetched with ``GOPROXY=direct``).
        """
        check_path(path)
        check_version(path, version)
        for name, value in (("h1", h1), ("go_mod_h1", go_mod_h1)):
            if not value.isprintable() or " " in value or not value:
                raise ValueError(f"{name}={value!r} must be one go.sum hash, like 'h1:…='")
        with self._lock:
            return self._append(path, version, h1, go_mod_h1)

    def _append(self, path: str, version: str, h1: str, go_mod_h1: str) -> int:
        if (path, version) in self._ids:
            raise ValueError(
                f"{path}@{version} is already record {self._ids[path, version]} of {self.name}: "
                "a checksum database never logs a module version twice"
            )
        text = "".join(f"{line}\n" for line in go_sum_lines(path, version, h1, go_mod_h1))
        self._ids[path, version] = self._log.append(text.encode())
        return self._ids[path, version]

    def sync(self) -> int:
        """Log every store version not logged yet, in store order; the log's size."""
        with self._lock:
            for store in self._stores():
                for stored in store.all():
                    if (stored.path, stored.version) not in self._ids:
                        self._append(stored.path, stored.version, stored.h1, stored.go_mod_h1)
            return len(self._log)

    def record(self, path: str, version: str) -> bytes | None:
        """The record text logged for ``path@version`` (go.sum lines), or None."""
        self.sync()
        record_id = self._ids.get((path, version))
        return None if record_id is None else self._log.records[record_id]

    @property
    def log(self) -> Log:
        """The transparency log itself (after logging new store versions): records, hashes."""
        self.sync()
        return self._log

    @property
    def size(self) -> int:
        """How many records the log holds (after logging new store versions)."""
        return self.sync()

    def signed_tree(self) -> bytes:
        """The signed note of the tree this database publishes now (not counted as served)."""
        self.sync()
        with self._lock:
            return self._signed_tree()

    def _signed_tree(self) -> bytes:
        size = len(self._log) if self._published is None else self._published
        text = format_tree(size, self._log.tree_hash(size))
        signer, sent_hash = self._note_signer or (self.signer, self.signer.key_hash)
        # Ed25519 signatures are deterministic: one per tree and key is enough.
        key = (text, signer.public_key, sent_hash)
        if key not in self._notes:
            self._notes[key] = text + b"\n" + signer.signature_line(text, key_hash=sent_hash)
        return self._notes[key]

    def _served_tree(self) -> bytes:
        """The signed tree as a response carries it: what it shows counts as served."""
        if self._published is not None and self._published < len(self._log):
            self._fired("stale")
        self._fired("fork")
        if self._note_signer is not None:
            self._fired("wrong_key")
        return self._signed_tree()

    # -- HTTP ------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Serve one request to the database's own host."""
        sent = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
        return self.serve(request.method, request.path, sent=sent)

    def serve(self, method: str, path: str, *, sent: str | None = None) -> Response:
        """Answer ``method path`` (``path`` percent-decoded, from the database's root).

        What a GOPROXY that proxies this database calls for ``/sumdb/<name>/<path>``.
        """
        response = self._answer(method, path)
        self.requests.append((method, sent or path, response.status_code))
        return response

    def _answer(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return text_response(f"method {method} not allowed\n", 405)
        self.sync()
        if path.startswith("/lookup/"):
            return self._lookup(path.removeprefix("/lookup/"))
        if path == "/latest":
            with self._lock:
                return Response(self._served_tree(), content_type=_NOTE_TYPE)
        if path.startswith("/tile/"):
            return self._tile(path.removeprefix("/"))
        return text_response("404 page not found\n", 404)

    def _lookup(self, mod: str) -> Response:
        if not _MOD_VER.fullmatch(mod):
            return text_response("invalid module@version syntax\n", 400)
        escaped_path, _, escaped_version = mod.partition("@")
        try:
            path, version = unescape_path(escaped_path), unescape_version(escaped_version)
        except ModuleError as exc:
            return text_response(f"not found: {exc}\n", 404)
        with self._lock:
            record_id = self._ids.get((path, version))
            if record_id is None:
                return text_response(f"not found: {path}@{version}: not in {self.name}\n", 404)
            text = self._forged.get((path, version))
            if text is not None:
                self._fired("forge")
            else:
                text = self._log.records[record_id]
            body = format_record(record_id, text) + self._served_tree()
        return Response(body, content_type=_NOTE_TYPE)

    def _tile(self, path: str) -> Response:
        try:
            tile = Tile.parse(path)
        except TilePathError:
            return text_response("invalid tile syntax\n", 400)
        if tile.height != TILE_HEIGHT:
            return text_response(f"not found: {self.name} serves tiles of height 8 only\n", 404)
        with self._lock:
            size = len(self._log) if self._published is None else self._published
            data = self._log.tile_data(tile, size)
            if data is None:
                return text_response(f"not found: {path} is past the tree of {size}\n", 404)
            if tile.level == -1:
                return Response(data, content_type=_NOTE_TYPE)
            if self._tile_cut is not None and self._tile_cut < len(data):
                data = data[: self._tile_cut]
                self._fired("short_tiles")
            self._fired("fork")
        return Response(data, content_type="application/octet-stream")
