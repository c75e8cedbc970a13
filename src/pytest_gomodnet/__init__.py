"""pytest-gomodnet: a private internet on loopback for tests of Go module fetching.

TLS hosts with chosen certificate chains, GOPROXY module proxies, go-import
hosts, a forward proxy that injects byte-exact faults, hypothesis strategies
and the real go command wired to all of it.
"""

from ._version import __version__
from .errors import (
    ChainError,
    FaultPlanError,
    GoCommandError,
    GoModNetError,
    GoNotFoundError,
    GoTimeoutError,
    GoToolError,
    InvalidPathError,
    InvalidVersionError,
    ModuleError,
    ServerError,
    ZipError,
)
from .gotool import GoResult, GoToolchain

__all__ = [
    "ChainError",
    "FaultPlanError",
    "GoCommandError",
    "GoModNetError",
    "GoNotFoundError",
    "GoResult",
    "GoTimeoutError",
    "GoToolError",
    "GoToolchain",
    "InvalidPathError",
    "InvalidVersionError",
    "ModuleError",
    "ServerError",
    "ZipError",
    "__version__",
]
