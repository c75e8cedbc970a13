"""The Go module model: paths, versions, case-encoding, module zips and ``h1:`` hashes.

Pure functions, no network. Each rule follows golang.org/x/mod as vendored
in go 1.27 (``module/module.go``, ``semver``, ``zip/zip.go``,
``sumdb/dirhash``), and error texts are Go's own, so a test that feeds a bad
path gets the message ``go`` would print. The project's tests prove these
rules with the real go command.
"""

from __future__ import annotations

from ._modpath import (
    canonical,
    check_file_path,
    check_import_path,
    check_path,
    check_version,
    compare_versions,
    escape_path,
    escape_version,
    is_pseudo_version,
    is_valid_version,
    sort_versions,
    unescape_path,
    unescape_version,
)
from ._modzip import (
    MAX_GO_MOD,
    MAX_ZIP_FILE,
    ModuleZip,
    build_zip,
    check_zip,
    files_from_directory,
    go_mod_h1,
    go_sum_lines,
    is_vendored,
    zip_h1,
)

__all__ = [
    "MAX_GO_MOD",
    "MAX_ZIP_FILE",
    "ModuleZip",
    "build_zip",
    "canonical",
    "check_file_path",
    "check_import_path",
    "check_path",
    "check_version",
    "check_zip",
    "compare_versions",
    "escape_path",
    "escape_version",
    "files_from_directory",
    "go_mod_h1",
    "go_sum_lines",
    "is_pseudo_version",
    "is_valid_version",
    "is_vendored",
    "sort_versions",
    "unescape_path",
    "unescape_version",
    "zip_h1",
]
