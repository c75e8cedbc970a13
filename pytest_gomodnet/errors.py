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
     ├── UnfiredFaultError (AssertionError)  an armed fault plan never fired
     └── GoToolError                     the real go command
          ├── GoNotFoundError            no go toolchain could be found
          ├── GoCommandError             go exited non-zero where success was expected
          └── GoTimeoutError             go did not finish within its deadline

Server threads never raise into the test: they put what they could not answer
for in an :class:`ErrorSink`, and whoever owns the servers drains it at the end
(``Network.close``, a fixture's teardown) and raises every error at once.

Every ``ValueError`` here names the rule broken and echoes the offending value,
the way the go command's own messages do, so a test failure reads as a diagnosis.
"""

from __future__ import annotations

import threading

__all__ = [
    "ChainError",
    "ErrorSink",
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
    "UnfiredFaultError",
    "ZipError",
    "raise_errors",
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


class UnfiredFaultError(GoModNetError, AssertionError):
    """A fault plan given to ``fault()`` was never taken: the test that armed it proved nothing."""


class GoToolError(GoModNetError):
    """Base class for problems with the real go command."""


class GoNotFoundError(GoToolError):
    """No go toolchain was found (install the ``[go]`` extra or pass ``--gomodnet-go``)."""


class GoCommandError(GoToolError):
    """The go command exited with an unexpected status."""


class GoTimeoutError(GoToolError):
    """The go command did not finish before its deadline and was killed."""


class ErrorSink:
    """Where every server thread puts the exception it could not answer for.

    One sink is shared by all the servers of a network (Router, Origin, their
    handlers), so draining it once reports every error of the test, and
    clearing it once leaves nothing behind for the next one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[tuple[str, BaseException]] = []

    def add(self, where: str, error: BaseException) -> None:
        """Keep ``error``, raised in ``where`` (e.g. ``"Router"``), for the next :meth:`drain`."""
        with self._lock:
            self._errors.append((where, error))

    def drain(self) -> list[tuple[str, BaseException]]:
        """Every error kept so far, oldest first; the sink is empty afterwards."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def raise_all(self, unfired: str | None = None) -> None:
        """Drain the sink and :func:`raise_errors` what it held."""
        raise_errors(self.drain(), unfired)


def raise_errors(errors: list[tuple[str, BaseException]], unfired: str | None = None) -> None:
    """Raise every error as one ServerError (its cause: the error, or a group of them all);
    else ``unfired`` (a report of faults that never fired) as UnfiredFaultError. A report
    that comes with server errors is a note on them: nothing is dropped."""
    if errors:
        error = server_error(errors)
        if unfired:
            error.add_note(unfired)
        raise error
    if unfired:
        raise UnfiredFaultError(unfired)


def server_error(errors: list[tuple[str, BaseException]]) -> ServerError:
    """One ServerError naming every error, caused by the error itself or by a group of all."""
    lines = [f"{where} failed: {error!r}" for where, error in errors]
    if len(errors) == 1:
        error = ServerError(lines[0])
        error.__cause__ = errors[0][1]
        return error
    error = ServerError(f"{len(errors)} errors in server threads:\n  " + "\n  ".join(lines))
    error.__cause__ = BaseExceptionGroup("server-thread errors", [e for _, e in errors])
    return error
