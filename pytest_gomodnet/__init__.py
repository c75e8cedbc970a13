"""pytest-gomodnet: a private internet on loopback for tests of Go module fetching.

TLS hosts with chosen certificate chains, GOPROXY module proxies, go-import
hosts, a forward proxy that injects byte-exact faults, hypothesis strategies
(``pytest_gomodnet.strategies``) and the real go command wired to all of it.

Names are imported on first use, so loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .checks import (
        assert_failed_within,
        assert_no_partial_success,
        assert_not_poisoned,
        assert_retried,
    )
    from .errors import (
        ChainError,
        FaultPlanError,
        GoCommandError,
        GoImportError,
        GoModNetError,
        GoNotFoundError,
        GoTimeoutError,
        GoToolError,
        InvalidPathError,
        InvalidVersionError,
        ModuleError,
        ServerError,
        UnfiredFaultError,
        ZipError,
    )
    from .faultproxy import (
        FaultProxy,
        Router,
    )
    from .faults import (
        ChunkedCut,
        CloseBeforeResponse,
        Corrupt,
        DataBeforeHeaders,
        Drip,
        EndStreamEarly,
        GoAway,
        HandshakeAbort,
        HtmlLogin,
        LieContentLength,
        NoSettingsAck,
        Refuse,
        Reset,
        SlowFirstByte,
        Stall,
        Status,
        StreamReset,
        Throttle,
        Truncate,
        WindowStall,
        WrongContentType,
    )
    from .githost import (
        GitError,
        GitHost,
        GitRepo,
    )
    from .goimport import (
        GoImportHost,
        MetaImport,
        match_go_import,
        parse_go_imports,
        resolve_go_import,
    )
    from .goproxy import (
        GoProxy,
        ModuleStore,
        StoredVersion,
    )
    from .gotool import (
        GoResult,
        GoToolchain,
    )
    from .network import (
        Backbone,
        Network,
    )
    from .note import Signer
    from .origin import (
        HandlerServer,
        Origin,
    )
    from .sumdb import SumDB
    from .tls import (
        CertChain,
        ChainSpec,
        GomodnetCA,
        KeyType,
    )

_HOMES = {
    "ChainError": "errors",
    "FaultPlanError": "errors",
    "GoCommandError": "errors",
    "GoImportError": "errors",
    "GoModNetError": "errors",
    "GoNotFoundError": "errors",
    "GoTimeoutError": "errors",
    "GoToolError": "errors",
    "InvalidPathError": "errors",
    "InvalidVersionError": "errors",
    "ModuleError": "errors",
    "ServerError": "errors",
    "UnfiredFaultError": "errors",
    "ZipError": "errors",
    "GoResult": "gotool",
    "GoToolchain": "gotool",
    "CertChain": "tls",
    "ChainSpec": "tls",
    "GomodnetCA": "tls",
    "KeyType": "tls",
    "ChunkedCut": "faults",
    "CloseBeforeResponse": "faults",
    "Corrupt": "faults",
    "DataBeforeHeaders": "faults",
    "Drip": "faults",
    "EndStreamEarly": "faults",
    "GoAway": "faults",
    "HandshakeAbort": "faults",
    "HtmlLogin": "faults",
    "LieContentLength": "faults",
    "NoSettingsAck": "faults",
    "Refuse": "faults",
    "Reset": "faults",
    "SlowFirstByte": "faults",
    "Stall": "faults",
    "Status": "faults",
    "StreamReset": "faults",
    "Throttle": "faults",
    "Truncate": "faults",
    "WindowStall": "faults",
    "WrongContentType": "faults",
    "FaultProxy": "faultproxy",
    "Router": "faultproxy",
    "GoProxy": "goproxy",
    "ModuleStore": "goproxy",
    "StoredVersion": "goproxy",
    "GitError": "githost",
    "GitHost": "githost",
    "GitRepo": "githost",
    "GoImportHost": "goimport",
    "MetaImport": "goimport",
    "match_go_import": "goimport",
    "parse_go_imports": "goimport",
    "resolve_go_import": "goimport",
    "Backbone": "network",
    "Network": "network",
    "HandlerServer": "origin",
    "Signer": "note",
    "SumDB": "sumdb",
    "Origin": "origin",
    "assert_failed_within": "checks",
    "assert_no_partial_success": "checks",
    "assert_not_poisoned": "checks",
    "assert_retried": "checks",
}

__all__ = [
    "Backbone",
    "CertChain",
    "ChainError",
    "ChainSpec",
    "ChunkedCut",
    "CloseBeforeResponse",
    "Corrupt",
    "DataBeforeHeaders",
    "Drip",
    "EndStreamEarly",
    "FaultPlanError",
    "FaultProxy",
    "GitError",
    "GitHost",
    "GitRepo",
    "GoAway",
    "GoCommandError",
    "GoImportError",
    "GoImportHost",
    "GoModNetError",
    "GoNotFoundError",
    "GoProxy",
    "GoResult",
    "GoTimeoutError",
    "GoToolError",
    "GoToolchain",
    "GomodnetCA",
    "HandlerServer",
    "HandshakeAbort",
    "HtmlLogin",
    "InvalidPathError",
    "InvalidVersionError",
    "KeyType",
    "LieContentLength",
    "MetaImport",
    "ModuleError",
    "ModuleStore",
    "Network",
    "NoSettingsAck",
    "Origin",
    "Refuse",
    "Reset",
    "Router",
    "ServerError",
    "Signer",
    "SlowFirstByte",
    "Stall",
    "Status",
    "StoredVersion",
    "StreamReset",
    "SumDB",
    "Throttle",
    "Truncate",
    "UnfiredFaultError",
    "WindowStall",
    "WrongContentType",
    "ZipError",
    "__version__",
    "assert_failed_within",
    "assert_no_partial_success",
    "assert_not_poisoned",
    "assert_retried",
    "match_go_import",
    "parse_go_imports",
    "resolve_go_import",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
