"""What a proxy remembers: each client connection and the exchanges on it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

__all__ = ["Connection", "ConnectionRecord", "Exchange", "LogMark"]


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
    frames: list[str] = field(default_factory=list)
    """What a connection fault did to the HTTP/2 frames of no one stream (``NoSettingsAck``)."""

    def describe(self) -> str:
        took = f"{self.seconds:.3f} s" if self.seconds is not None else "open"
        mode = f"{self.mode} h2" if self.protocol == "h2" else self.mode
        lines = [f"{self.host} [{mode}] ended {self.ended} after {took}"]
        if self.fault:
            lines[0] += f" — connection fault {self.fault}"
        if self.frames:
            lines.append(f"  connection frames: {', '.join(self.frames)}")
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


@dataclass(frozen=True)
class LogMark:
    """Where the log stood at a moment: its length; each connection open then that had
    named its host, with the number of exchanges it had (a client's pool may go on
    using it); and those open then that had not named one yet (they count as new)."""

    length: int
    open: tuple[tuple[Connection, int], ...]
    unnamed: tuple[Connection, ...]


class ConnectionRecord:
    """Every connection of a proxy, oldest first, and those still open; thread-safe.

    :meth:`since` reads what came after a :class:`LogMark` without going over the
    whole log: a hypothesis run marks the log once an example, and its log grows
    by a connection or more each time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: list[Connection] = []
        self._open: dict[int, Connection] = {}

    def opened(self, connection: Connection) -> None:
        with self._lock:
            self._all.append(connection)
            self._open[id(connection)] = connection

    def closed(self, connection: Connection) -> None:
        with self._lock:
            self._open.pop(id(connection), None)

    def clear(self) -> None:
        with self._lock:
            self._all = []
            self._open.clear()

    def named(self) -> list[Connection]:
        """Every connection that named a host, oldest first; open ones included."""
        with self._lock:
            return [c for c in self._all if c.host != "?"]

    def mark(self) -> LogMark:
        with self._lock:
            still_open = list(self._open.values())
            length = len(self._all)
        named = tuple((c, len(c.exchanges)) for c in still_open if c.host != "?")
        return LogMark(length, named, tuple(c for c in still_open if c.host == "?"))

    def since(self, mark: LogMark) -> tuple[list[tuple[Connection, int]], list[Connection]]:
        """What happened after ``mark``: the connections open then that have had
        exchanges since (each with how many it had before), and the connections that
        came later and named a host; both oldest first."""
        with self._lock:
            later = [c for c in self._all[mark.length :] if c.host != "?"]
        grown = [(c, seen) for c, seen in mark.open if len(c.exchanges) > seen]
        return grown, [*(c for c in mark.unnamed if c.host != "?"), *later]
