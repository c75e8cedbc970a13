"""The verdicts a resilience test needs, as plain functions that raise AssertionError.

Each check looks at what the code under test did after a fault and fails with
a story: which fault was planned, what every connection through the Router
saw, and what the client handed back. The stories are meant to be read in a
CI log by someone who did not write the test, so they say what went wrong in
words ("returned the first 1,234 of 5,678 bytes as if they were the whole
artifact") before they show numbers.

The checks never open a socket except :func:`assert_not_poisoned`, whose whole
point is one clean request to a mirror after the faulty ones.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import os
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .modules import escape_path, escape_version, go_mod_h1, zip_h1

__all__ = [
    "assert_failed_within",
    "assert_no_partial_success",
    "assert_not_poisoned",
    "assert_retried",
    "h1_of_zip",
]

T = TypeVar("T")

#: What a client can hand back: the artifact's bytes, a path to the file it
#: wrote, ``None`` for "nothing delivered", or the exception it raised.
Outcome = bytes | bytearray | memoryview | str | os.PathLike[str] | BaseException | None

#: What a clean GET to a mirror may raise and still count as the mirror refusing.
_REFUSALS = (httpx.TransportError, httpx.HTTPStatusError, OSError, http.client.HTTPException)

# How many connections of a log a story shows before it says "... and N more".
_STORY_CONNECTIONS = 20


# --- hashing ---------------------------------------------------------------------


def h1_of_zip(data: bytes) -> str:
    """The ``h1:`` hash go records for a module zip (raises zipfile.BadZipFile if it is none)."""
    return zip_h1(data)


# Everything reading a damaged zip can raise: zipfile's own errors, and the
# RuntimeError (encrypted flag) and NotImplementedError (unknown method or version)
# that a single flipped bit in a header brings out.
_UNREADABLE_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    KeyError,
    NotImplementedError,
    OSError,
    RuntimeError,
    ValueError,
)


def _zip_hash(data: bytes) -> tuple[str | None, str]:
    """(the zip's ``h1:``, "") or (None, why it cannot be read as a module zip)."""
    try:
        return h1_of_zip(data), ""
    except _UNREADABLE_ZIP as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _matches(data: bytes, expected: bytes | str) -> bool:
    if isinstance(expected, bytes):
        return data == expected
    return _zip_hash(data)[0] == expected or go_mod_h1(data) == expected


def _check_expected(expected: object) -> None:
    if isinstance(expected, str) and not expected.startswith("h1:"):
        raise ValueError(
            f"expected={expected[:60]!r} is neither bytes nor an h1: hash: pass the "
            "artifact's bytes or its hash (h1_of_zip, go_mod_h1)"
        )
    if not isinstance(expected, (bytes, str)):
        raise TypeError(
            f"expected is a {type(expected).__name__}: pass the artifact's bytes or its h1: hash"
        )


# --- telling the story -------------------------------------------------------------


def _describe_bytes(data: bytes) -> str:
    return f"{len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}…"


def _describe_expected(expected: bytes | str) -> str:
    return expected if isinstance(expected, str) else _describe_bytes(expected)


def _how_it_differs(data: bytes, expected: bytes | str) -> str:
    if isinstance(expected, str):
        h1, problem = _zip_hash(data)
        if h1 is not None:
            return f"its zip hash is {h1}, not {expected}"
        return f"it is not a readable zip ({problem}) and its go.mod hash is not {expected} either"
    if expected.startswith(data):
        return (
            f"they are the first {len(data):,} of {len(expected):,} bytes: "
            "a cut response returned as if it were whole"
        )
    first = next((i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b), None)
    if first is None:
        extra = len(data) - len(expected)
        return f"they are the expected {len(expected):,} bytes followed by {extra:,} more"
    return f"they differ from the expected bytes first at offset {first:,}"


def _format_log(log: object) -> str:
    """A connection log as indented lines, whatever its shape."""
    if log is None:
        return "    (no log given)"
    format_log = getattr(log, "format_log", None) or getattr(log, "format", None)
    if callable(format_log):
        text = str(format_log())
        return "\n".join("    " + line for line in text.splitlines()) or "    (no connections)"
    entries = list(log) if isinstance(log, Iterable) else [log]
    if not entries:
        return "    (no connections)"
    shown = [f"    {n}. {entry}" for n, entry in enumerate(entries[:_STORY_CONNECTIONS], 1)]
    if len(entries) > _STORY_CONNECTIONS:
        shown.append(f"    ... and {len(entries) - _STORY_CONNECTIONS} more")
    return "\n".join(shown)


def _story(headline: str, *, fault: object, log: object, details: Iterable[str] = ()) -> str:
    lines = [headline, *(f"  {d}" for d in details)]
    if fault is not None:
        lines.append(f"  fault: {fault!r}")
    lines.append("  connections:")
    lines.append(_format_log(log))
    return "\n".join(lines)


# --- the checks ---------------------------------------------------------------------


_OUTCOME_TYPES = (
    "bytes, bytearray or memoryview (the artifact), str or os.PathLike (the file "
    "written), None (nothing delivered), an exception (the error raised), or a "
    "zero-argument callable returning one of these"
)


def _read_outcome(result: object) -> bytes | BaseException | None:
    if result is None or isinstance(result, BaseException):
        return result
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, (str, os.PathLike)):
        path = Path(result)
        return path.read_bytes() if path.exists() else None
    raise TypeError(
        f"the client's outcome is a {type(result).__name__} ({result!r:.80}), "
        f"which the check cannot judge: pass {_OUTCOME_TYPES}"
    )


def assert_no_partial_success(
    result: Outcome | Callable[[], Outcome],
    expected: bytes | str,
    *,
    fault: object = None,
    log: object = None,
) -> bytes | BaseException | None:
    """The client delivered exactly the right artifact, or nothing: never a wrong one.

    ``result`` is what the client returned (bytes, or the path of the file it
    wrote), the exception it raised, ``None`` for nothing delivered, or a
    zero-argument callable that runs the client (its exception is caught).
    ``expected`` is the artifact's bytes or its ``h1:`` hash (of the zip, or
    of a go.mod). Returns the outcome, so a test can go on to look at it.

    Every outcome gets a verdict: bytes that are not even a readable zip fail
    with the reason; an outcome of any other type is a TypeError.
    """
    _check_expected(expected)
    if callable(result) and not isinstance(result, (BaseException, os.PathLike)):
        try:
            result = result()
        except Exception as exc:
            result = exc
    outcome = _read_outcome(result)
    if isinstance(outcome, bytes) and not _matches(outcome, expected):
        where = f" (in {os.fspath(result)})" if isinstance(result, (str, os.PathLike)) else ""
        raise AssertionError(
            _story(
                "partial success: the client returned an artifact that is not the right one"
                f"{where}",
                fault=fault,
                log=log,
                details=[
                    f"expected: {_describe_expected(expected)}",
                    f"returned: {_describe_bytes(outcome)}",
                    f"so: {_how_it_differs(outcome, expected)}",
                ],
            )
        )
    return outcome


def assert_failed_within(
    deadline: float,
    call: Callable[[], object],
    *,
    fault: object = None,
    log: object = None,
) -> BaseException:
    """``call()`` raised, and did so within ``deadline`` seconds; returns the exception.

    For stalls, drips and black holes: the client must give up by its own
    timeout rather than hang or, worse, return. (The check cannot cut a call
    short; the client's own timeout bounds it.)
    """
    if deadline <= 0:
        raise ValueError(f"deadline={deadline!r} must be a positive number of seconds")
    started = time.monotonic()
    try:
        returned = call()
    except Exception as exc:
        elapsed = time.monotonic() - started
        if elapsed > deadline:
            raise AssertionError(
                _story(
                    f"too slow: the client failed after {elapsed:.2f} s, "
                    f"past the {deadline:.2f} s deadline",
                    fault=fault,
                    log=log,
                    details=[f"raised: {type(exc).__name__}: {exc}"],
                )
            ) from exc
        return exc
    elapsed = time.monotonic() - started
    shown = _describe_bytes(bytes(returned)) if isinstance(returned, bytes) else repr(returned)
    raise AssertionError(
        _story(
            f"no failure: the client returned after {elapsed:.2f} s instead of raising",
            fault=fault,
            log=log,
            details=[f"returned: {shown[:300]}"],
        )
    )


def _field(entry: object, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


def _attempts(log: Iterable[object]) -> list[object]:
    """One entry per request: a Router connection counts once for each of its exchanges."""
    attempts: list[object] = []
    for entry in log:
        exchanges = _field(entry, "exchanges")
        if exchanges is None:
            attempts.append(entry)
        else:
            host = _field(entry, "host")
            attempts += [{"host": host, "path": x.path, "exchange": x} for x in exchanges]
    return attempts


def assert_retried(
    times: int,
    log: Iterable[object],
    *,
    host: str | None = None,
    path: str | None = None,
    fault: object = None,
) -> list[object]:
    """The client tried exactly ``times`` more times after its first attempt.

    Counts the requests in ``log`` (the Router's: each connection's
    exchanges) to ``host`` whose path matches ``path`` (a glob such as
    ``*.zip``); both filters are optional. Returns the matching requests.
    """
    if times < 0:
        raise ValueError(f"times={times!r} must be 0 or more")
    entries = list(log)
    matching = [
        entry
        for entry in _attempts(entries)
        if (host is None or _field(entry, "host") == host)
        and (path is None or fnmatch.fnmatchcase(str(_field(entry, "path")), path))
    ]
    if len(matching) != times + 1:
        target = " ".join(filter(None, [host, path])) or "any host"
        raise AssertionError(
            _story(
                f"retries: expected {times + 1} attempt(s) at {target} "
                f"({times} retr{'y' if times == 1 else 'ies'}), saw {len(matching)}",
                fault=fault,
                log=entries,
            )
        )
    return matching


def assert_not_poisoned(
    mirror_url: str,
    module: str,
    version: str,
    expected: bytes | str,
    *,
    client: Any = None,
    suffix: str = ".zip",
    fault: object = None,
    log: object = None,
) -> bytes | None:
    """After a faulty upstream, the mirror serves the right bytes or an error, never the cut copy.

    Makes one clean ``GET <mirror_url>/<module>/@v/<version><suffix>`` (with
    ``client``, any httpx-like client, or a fresh ``httpx.Client``). A
    non-200 answer or a transport error passes: the mirror did not keep a bad
    copy. A 200 must carry ``expected`` (bytes or ``h1:``). Returns the body
    of a 200, else ``None``: a mirror that serves nothing passes too, so pair
    the check with a request that shows the mirror works.

    Only a refusal counts as one: an HTTP status, or a transport error
    (``httpx.TransportError``, ``httpx.HTTPStatusError``, ``OSError``,
    ``http.client.HTTPException``). Anything else the client raises (a wrong
    client object, a bug) propagates.
    """
    _check_expected(expected)
    url = f"{mirror_url.rstrip('/')}/{escape_path(module)}/@v/{escape_version(version)}{suffix}"
    owned = client is None
    if owned:
        client = httpx.Client(timeout=10.0)
    try:
        try:
            response = client.get(url)
            if response.status_code != 200:
                return None
            body = bytes(response.content)
        except _REFUSALS:
            return None
    finally:
        if owned:
            client.close()
    if not _matches(body, expected):
        raise AssertionError(
            _story(
                f"poisoned: after the fault, a clean GET {url} got 200 with the wrong artifact",
                fault=fault,
                log=log,
                details=[
                    f"expected: {_describe_expected(expected)}",
                    f"served:   {_describe_bytes(body)}",
                    f"so: {_how_it_differs(body, expected)}",
                ],
            )
        )
    return body
