"""Every exception pytest-gomodnet raises, in one tree.

::

    GoModNetError
     ├── ModuleError (ValueError)        a Go module rule is broken
     │    ├── InvalidPathError           module path, import path or file path
     │    ├── InvalidVersionError        version, pseudo-version, +incompatible
     │    └── ZipError                   module zip layout or limits
     ├── ChainError (ValueError)         unknown certificate shape or bad identity
     ├── FaultPlanError (ValueError)     a fault plan with impossible arguments
     ├── GoImportError (ValueError)      a go-import page or tag the go command refuses
     ├── ServerError                     a server or Router thread failed
     └── GoToolError                     the real go command
          ├── GoNotFoundError            no go toolchain could be found
          ├── GoCommandError             go exited non-zero where success was expected
          └── GoTimeoutError             go did not finish within its deadline

Every ``ValueError`` here names the rule broken and echoes the offending value,
the way the go command's own messages do, so a test failure reads as a diagnosis.
"""

from __future__ import annotations

__all__ = [
    "ChainError",
    "FaultPlanError",
    "GoCommandError",
    "GoImportError",
    "GoModNetError",
    "GoNotFoundError",
    "GoTimeoutError",
    "GoToolError",
    "InvalidPathError",
    "InvalidVersionError",
    "ModuleError",
    "ServerError",
    "ZipError",
]


class GoModNetError(Exception):
    """Base class of every error raised by pytest-gomodnet."""


class ModuleError(GoModNetError, ValueError):
    """A Go module rule (golang.org/x/mod) is broken."""


class InvalidPathError(ModuleError):
    """A module path, import path or file path breaks one of Go's path rules."""


class InvalidVersionError(ModuleError):
    """A version string is not one the go command accepts where it was used."""


class ZipError(ModuleError):
    """A module zip breaks a layout rule or a size limit of golang.org/x/mod/zip."""


class ChainError(GoModNetError, ValueError):
    """A certificate chain was asked for with an unknown shape or a bad identity."""


class FaultPlanError(GoModNetError, ValueError):
    """A fault plan was built with arguments that cannot be carried out."""


class GoImportError(GoModNetError, ValueError):
    """A go-import page, tag or lookup fails; the message is the go command's own text."""


class ServerError(GoModNetError):
    """Something failed inside a server or Router thread; the cause is chained."""


class GoToolError(GoModNetError):
    """Base class for problems with the real go command."""


class GoNotFoundError(GoToolError):
    """No go toolchain was found (install the ``[go]`` extra or pass ``--gomodnet-go``)."""


class GoCommandError(GoToolError):
    """The go command exited with an unexpected status."""


class GoTimeoutError(GoToolError):
    """The go command did not finish before its deadline and was killed."""
