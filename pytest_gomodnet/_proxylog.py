"""What a proxy remembers: each client connection and the exchanges on it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Connection", "Exchange"]


@dataclass
class Exchange:
    """One request and what became of its response."""

    method: str
    path: str
    status: int | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    fault: str | None = None
    ended: str = "open"
    framing: str | None = None
    """How the Router framed the response (None: as the server framed it)."""
    stream: int | None = None
    """The HTTP/2 stream the exchange was on (None: HTTP/1.1)."""
    frames: list[str] = field(default_factory=list)
    """The HTTP/2 frames the Router sent on that stream, in order."""


@dataclass
class Connection:
    """One client connection through the proxy, as the log keeps it."""

    host: str
    mode: str
    exchanges: list[Exchange] = field(default_factory=list)
    fault: str | None = None
    ended: str = "open"
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    protocol: str = "http/1.1"
    """What the client speaks on it: ``"http/1.1"``, or ``"h2"`` when it chose HTTP/2 by ALPN."""

    def describe(self) -> str:
        took = f"{self.seconds:.3f} s" if self.seconds is not None else "open"
        mode = f"{self.mode} h2" if self.protocol == "h2" else self.mode
        lines = [f"{self.host} [{mode}] ended {self.ended} after {took}"]
        if self.fault:
            lines[0] += f" — connection fault {self.fault}"
        for x in self.exchanges:
            fault = f" fault={x.fault}" if x.fault else ""
            framing = f" framing={x.framing}" if x.framing else ""
            stream = f"stream {x.stream}: " if x.stream is not None else ""
            lines.append(
                f"  {stream}{x.method} {x.path} → {x.status or '-'}; "
                f"{x.bytes_up} B up, {x.bytes_down} B down; {x.ended}{fault}{framing}"
            )
            if x.fault and x.frames:
                lines.append(f"    frames sent: {', '.join(x.frames)}")
        return "\n".join(lines)
