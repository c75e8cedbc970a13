"""go-import pages, good and broken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet._goimport_pages import DOCUMENT_VARIANTS, go_get_page
from pytest_gomodnet._goimport_reader import MetaImport

from ._paths import module_paths


@dataclass(frozen=True)
class GoImportDocument:
    """A ``?go-get=1`` page for ``import_path``, with the mistake ``variant`` names."""

    import_path: str
    variant: str
    meta: MetaImport
    body: bytes


def go_import_documents(
    *, variants: Sequence[str] | None = None
) -> st.SearchStrategy[GoImportDocument]:
    """Pages a go-import host serves, good and broken, for generated import paths.

    Read them with :func:`pytest_gomodnet.goimport.parse_go_imports` to learn
    what the go command would do with each.
    """
    chosen = list(DOCUMENT_VARIANTS if variants is None else variants)
    bad = [v for v in chosen if v not in DOCUMENT_VARIANTS]
    if bad or not chosen:
        raise InvalidArgument(f"variants={variants!r}: each must be one of {DOCUMENT_VARIANTS}")

    @st.composite
    def documents(draw: st.DrawFn) -> GoImportDocument:
        prefix = draw(module_paths())
        tail = draw(st.lists(st.sampled_from(["pkg", "sub", "v2x", "internal"]), max_size=2))
        import_path = "/".join([prefix, *tail])
        vcs = draw(st.sampled_from(["mod", "git"]))
        repo = "https://proxy.test" if vcs == "mod" else f"https://code.test/{prefix}"
        meta = MetaImport(prefix, vcs, repo)
        variant = draw(st.sampled_from(chosen))
        body = go_get_page(meta, import_path, variant=variant)  # type: ignore[arg-type]
        return GoImportDocument(import_path, variant, meta, body)

    return documents()
