"""Hypothesis strategies for fuzzing Go module downloaders.

A downloader author writes one ``@given`` test; these strategies choose where a
response ends, which faults hit which connection, and which module paths and
versions exist. Every strategy is built from hypothesis's public API only
(``st.composite``, ``st.builds``, ``.map``, ``.flatmap``), takes keyword-only
options, validates them up front with :class:`~hypothesis.errors.InvalidArgument`,
and leans on the edge cases where clients break, the way ``st.ip_addresses``
leans on special ranges.

Why the draws are shaped the way they are
-----------------------------------------
Hypothesis shrinks integers towards smaller values and booleans towards
``False``. :func:`truncation_points` therefore draws ``lean`` (a boolean), a
boundary index and a free offset whose lower bound is the chosen boundary.
When ``lean`` is true the boundary is returned; when the shrinker turns
``lean`` off, the free offset (never below that boundary) takes over and keeps
failing for a client that fails on every cut past some offset. From there it
shrinks freely down to the smallest failing cut, which need not be a boundary.
"""

from __future__ import annotations

from pytest_gomodnet.boundaries import Boundary, response_boundaries

from ._aimed import AimedFault, aimed_faults
from ._cuts import truncation_points
from ._faults import SLOW_FAULTS, fault_plans, fault_sequences, framings
from ._files import MAX_GO_MOD_SIZE, module_files
from ._goimport import GoImportDocument, go_import_documents
from ._paths import PATH_RULES, InvalidModulePath, PathRule, module_paths
from ._sumdb import SUMDB_FAULT_KINDS, SumDBFault, sumdb_faults, tree_sizes
from ._versions import VERSION_KINDS, VersionKind, versions

__all__ = [
    "MAX_GO_MOD_SIZE",
    "PATH_RULES",
    "SLOW_FAULTS",
    "SUMDB_FAULT_KINDS",
    "VERSION_KINDS",
    "AimedFault",
    "Boundary",
    "GoImportDocument",
    "InvalidModulePath",
    "PathRule",
    "SumDBFault",
    "VersionKind",
    "aimed_faults",
    "fault_plans",
    "fault_sequences",
    "framings",
    "go_import_documents",
    "module_files",
    "module_paths",
    "response_boundaries",
    "sumdb_faults",
    "tree_sizes",
    "truncation_points",
    "versions",
]
