"""The ``?go-get=1`` pages a go-import host serves, good and with each known mistake.

Apart from the host so that strategies (and anyone writing pages) load no server.
"""

from __future__ import annotations

import html
from typing import Literal, get_args

from ._goimport_reader import MetaImport
from .errors import GoImportError

Variant = Literal[
    "good",
    "no-meta",
    "wrong-prefix",
    "two-tags",
    "meta-after-body",
    "truncated",
    "login-page",
    "redirect-same-host",
    "redirect-other-host",
    "redirect-http",
    "not-found-with-tag",
    "unauthorized",
    "prefix-is-request-path",
]
VARIANTS: tuple[Variant, ...] = get_args(Variant)


#: The variants whose mistake is in the page itself (the others are HTTP behaviour).
DOCUMENT_VARIANTS: tuple[Variant, ...] = (
    "good",
    "no-meta",
    "wrong-prefix",
    "two-tags",
    "meta-after-body",
    "truncated",
    "prefix-is-request-path",
)


def go_get_page(meta: MetaImport, import_path: str, *, variant: Variant = "good") -> bytes:
    """The page a GoImportHost serves for ``import_path`` under ``meta`` with ``variant``."""
    if variant not in DOCUMENT_VARIANTS:
        raise GoImportError(
            f"variant {variant!r} is not a page: expected one of {DOCUMENT_VARIANTS}"
        )
    return page(meta, variant, import_path)


def page(meta: MetaImport, variant: Variant, import_path: str) -> bytes:
    """The HTML page for ``import_path``, with the variant's mistake in it (any variant)."""
    if variant == "prefix-is-request-path":  # gitea#2577: a subdirectory claims to be a root
        rest = import_path[len(meta.prefix) :]
        repo = meta.repo_root if meta.vcs == "mod" else meta.repo_root + rest
        meta = MetaImport(import_path, meta.vcs, repo, meta.subdir)
    tags = [_meta_tag("go-import", meta.content), _meta_tag("go-source", _go_source(meta))]
    if variant == "no-meta":
        tags = []
    elif variant == "wrong-prefix":  # golang/go#16467: the tag names another host
        wrong = MetaImport("www." + meta.prefix, meta.vcs, meta.repo_root, meta.subdir)
        tags = [_meta_tag("go-import", wrong.content)]
    elif variant == "two-tags":
        mirror = MetaImport(meta.prefix, meta.vcs, meta.repo_root + "/mirror", meta.subdir)
        tags.insert(1, _meta_tag("go-import", mirror.content))
    head_tags, body_tags = ([], tags) if variant == "meta-after-body" else (tags, [])
    title = html.escape(meta.prefix)
    text = "\n".join(
        [
            "<!DOCTYPE html>",
            "<html>",
            "<head>",
            '<meta charset="utf-8">',
            *head_tags,
            f"<title>{title}</title>",
            "</head>",
            "<body>",
            *body_tags,
            f"go get {title}",
            "</body>",
            "</html>",
            "",
        ]
    ).encode()
    if variant == "truncated":  # cut inside the tag, after the prefix
        content = text.index(b"content=", text.index(b'name="go-import"'))
        return text[: text.index(b" ", content) + 1]
    return text


def _meta_tag(name: str, content: str) -> str:
    return f'<meta name="{name}" content="{html.escape(content)}">'


def _go_source(meta: MetaImport) -> str:
    """go-source (read by doc sites, never by go): prefix, home, directory and file URLs."""
    home = meta.repo_root
    return (
        f"{meta.prefix} {home} {home}/tree/main{{/dir}} {home}/blob/main{{/dir}}/{{file}}#L{{line}}"
    )
