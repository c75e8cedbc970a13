"""What serves one host of a Network, as data: the part of a test's network a replay keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Kind", "Served"]

Kind = Literal["goproxy", "goimport", "login", "sumdb", "git", "handler", "upstream", "relayed"]


@dataclass(frozen=True)
class Served:
    """A host's server: its kind, chain shape and framing, and the object (or URL) behind it.

    ``server`` is the GoProxy, GoImportHost or SumDB itself (read when a replay
    file is written), an upstream URL, or a handler's name.
    """

    kind: Kind
    shape: str
    framing: str | None
    server: object = None
