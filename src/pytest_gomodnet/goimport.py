"""go-import discovery: the page a ``?go-get=1`` host serves, and how the go command reads it.

When a module path matches no GOPROXY entry (``GOPROXY=direct``, ``GOPRIVATE``),
the go command fetches ``https://<import path>?go-get=1`` and looks for
``<meta name="go-import" content="prefix vcs repo-root [subdir]">``. Real servers
get this page wrong in a handful of ways (FAILURES.md 15-18), and downloaders
that are not the go command read it differently from go. This module has both
sides:

* a **reader** that agrees with go 1.27 byte for byte: :func:`parse_go_imports`
  (``parseMetaGoImports``: encoding/xml in non-strict mode, ``RawToken`` loop),
  :func:`match_go_import` (``matchGoImport``), :func:`check_meta_import` (the
  subdirectory, repo-root and vcs checks) and :func:`resolve_go_import`, which
  chains them like ``repoRootForImportDynamic`` and raises the exact text go
  prints after ``unrecognized import path "…": ``;
* a **host**, :class:`GoImportHost`, that serves good pages and each broken
  variant, either behind the shared Origin (:meth:`GoImportHost.handle`) or on
  its own loopback server (use it as a context manager).


The reader lives in :mod:`._goimport_reader` (its XML tokenizer, a port of Go's
``encoding/xml``, in :mod:`._goxml`), the host in :mod:`._goimport_host`; this
module is their public face.
"""

from __future__ import annotations

from ._goimport_host import (
    DOCUMENT_VARIANTS,
    LOGIN_PATH,
    VARIANTS,
    GoImportHost,
    GoImportRequest,
    Variant,
    go_get_page,
)
from ._goimport_reader import (
    KNOWN_VCS,
    Fetch,
    GoGetPage,
    MetaImport,
    check_meta_import,
    go_get_url,
    match_go_import,
    parse_go_imports,
    resolve_go_import,
)

__all__ = [
    "DOCUMENT_VARIANTS",
    "KNOWN_VCS",
    "LOGIN_PATH",
    "VARIANTS",
    "Fetch",
    "GoGetPage",
    "GoImportHost",
    "GoImportRequest",
    "MetaImport",
    "Variant",
    "check_meta_import",
    "go_get_page",
    "go_get_url",
    "match_go_import",
    "parse_go_imports",
    "resolve_go_import",
]
