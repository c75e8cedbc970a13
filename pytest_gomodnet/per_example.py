"""One hypothesis example's share of a test's network: its faults and its connections.

Hypothesis runs a test body many times within one test, so one network (and
one connection log) serves every example. :meth:`Network.example` marks where
an example starts and ends; the :class:`Example` it gives keeps the faults
armed inside and the connections and exchanges that happened inside, so a
failure names the failing example alone. Connections print as the failure
report shows them, one line a connection and one an exchange.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, SupportsIndex, overload

from ._proxylog import LogMark
from .faultproxy import Connection

__all__ = ["ConnectionLog", "Example"]


class ConnectionLog(list[Connection]):
    """Connections, oldest first, that print (``str``) as the failure report shows them.

    A slice is a ConnectionLog too: ``print(gomodnet.log[-3:])`` reads as text.
    """

    @overload
    def __getitem__(self, index: SupportsIndex) -> Connection: ...
    @overload
    def __getitem__(self, index: slice) -> ConnectionLog: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Connection | ConnectionLog:
        if isinstance(index, slice):
            return ConnectionLog(super().__getitem__(index))
        return super().__getitem__(index)

    def __str__(self) -> str:
        return "\n".join(c.describe() for c in self) or "(no connections)"

    def format_log(self) -> str:
        """The same text as ``str()``: what the checks' ``log=`` reads."""
        return str(self)


class MarkedLog(Protocol):
    """A log an example can mark and read from its mark (a Router)."""

    def log_mark(self) -> LogMark: ...

    def log_since(self, mark: LogMark) -> tuple[list[tuple[Connection, int]], list[Connection]]: ...


class Example:
    """The faults one example armed and the connections it made (see ``Network.example``)."""

    def __init__(self, number: int, log: MarkedLog) -> None:
        self.number = number
        """1 for the test's first example, 2 for the next …"""
        self.faults: list[str] = []
        """Every ``fault(...)`` and ``frame(...)`` call made in this example, as code."""
        self._log = log
        self._mark = log.log_mark()
        self._frozen: ConnectionLog | None = None

    @property
    def open(self) -> bool:
        return self._frozen is None

    @property
    def log(self) -> ConnectionLog:
        """The connections of this example, oldest first; of a connection opened before it
        (a client's pool), only the exchanges made in it."""
        if self._frozen is not None:
            return self._frozen
        grown, later = self._log.log_since(self._mark)
        return ConnectionLog([*(_continued(c, seen) for c, seen in grown), *later])

    def format_log(self) -> str:
        """The log as text when asked, not when passed: ``log=example`` in a check shows
        the connections made by the call the check runs, too."""
        return str(self.log)

    def close(self) -> None:
        """Freeze the log: what later examples do on a pooled connection is theirs."""
        self._frozen = ConnectionLog(
            dataclasses.replace(c, exchanges=list(c.exchanges)) for c in self.log
        )


def _continued(connection: Connection, seen: int) -> Connection:
    """``connection`` as an example that reused it saw it: its later exchanges only."""
    return dataclasses.replace(
        connection,
        mode=f"{connection.mode}, opened before this example",
        fault=None,
        exchanges=connection.exchanges[seen:],
    )
