"""git's own smart-HTTP server behind the Router, and bare repositories to serve.

The go command in direct mode (``GOPROXY=direct``, ``GOPRIVATE``, a ``,direct``
fallback) follows a go-import tag such as ``example.test/tool git
https://git.test/tool.git`` and runs git against that URL. A :class:`GitHost`
answers with ``git http-backend``, the CGI program that ships with git, run as
a child process per request: the protocol spoken is git's, not a copy of it.

::

    git = gomodnet.add_git("git.test")
    tool = git.create("tool")                       # https://git.test/tool.git
    tool.commit({"go.mod": b"module example.test/tool\\n"}, tags=["v1.0.0"])

Repositories are made with ``git fast-import`` from files, under a sealed
environment (no system or global config, fixed author and time), so the same
files always give the same commit hashes.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO

from werkzeug import Request, Response

from .errors import GoModNetError
from .origin import text_response

__all__ = ["DEFAULT_TIME", "GitError", "GitExchange", "GitHost", "GitRepo", "find_git", "git_env"]

#: Author and committer time of every commit unless a test says otherwise.
DEFAULT_TIME = "2026-01-01T00:00:00Z"
#: Seconds one run of ``git http-backend`` may take before it is killed.
REQUEST_TIMEOUT = 30.0
#: Seconds a repository-building git command may take.
COMMAND_TIMEOUT = 30.0
#: A response whose whole body arrives within this many bytes gets a Content-Length
#: (the client keeps its connection); a longer one streams until the CGI exits.
_BUFFER_LIMIT = 1 << 20
_READ_SIZE = 1 << 16
# Seconds a CGI that closed its stdout may take to exit before it is killed.
_EXIT_SECONDS = 2.0
_NAME_OF_AUTHOR, _EMAIL = "gomodnet", "gomodnet@example.test"
_AUTHOR = f"{_NAME_OF_AUTHOR} <{_EMAIL}>"
# A repository name: path segments of safe characters, no dot segments.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")


class GitError(GoModNetError):
    """git is missing, a git command building a repository failed, or
    ``git http-backend`` ended before its response headers."""


def find_git() -> str:
    """The git executable on PATH, or GitError saying how to install it."""
    found = shutil.which("git")
    if found is None:
        raise GitError("git is not on PATH: install it (Debian: apt-get install -y git)")
    return found


def git_env(home: Path) -> dict[str, str]:
    """The whole environment of a git command here: no config but the repository's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C",
        "TZ": "UTC",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }


@dataclass
class GitExchange:
    """One request the GitHost answered (its status, and what git said on stderr)."""

    method: str
    path: str
    query: str
    status: int
    stderr: str = ""
    ended: str = "running"
    """``running`` until the CGI is reaped (a streamed response's a moment after the
    client has gone), then ``ok`` (the CGI exited), ``closed`` (the client went away first),
    ``deadline`` (killed after REQUEST_TIMEOUT), ``refused`` or ``redirected``
    (never run)."""
    seconds: float = 0.0
    """How long the CGI ran, from its start until it was reaped."""


class GitRepo:
    """A bare repository on a GitHost. Has no public constructor: use :meth:`GitHost.create`.

    :meth:`commit` sets a branch to a snapshot of files and tags it.
    """

    def __init__(self, host: GitHost, name: str, path: Path) -> None:
        self._host = host
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"GitRepo({self.url!r})"

    @property
    def url(self) -> str:
        """The clone URL, e.g. ``https://git.test/tool.git``: a go-import repo root."""
        return f"https://{self._host.host}/{self.name}.git"

    def commit(
        self,
        files: Mapping[str, bytes],
        *,
        tags: Iterable[str] = (),
        branch: str = "main",
        message: str = "",
        time: str = DEFAULT_TIME,
    ) -> str:
        """Make ``files`` (path → content) the whole tree of ``branch``; tag it; its hash.

        A new commit's parent is the branch's last one. ``tags`` are lightweight
        (``v1.0.0``, ``v2.0.0``, ``sub/v1.0.0`` for a module in ``sub/``);
        ``time`` (RFC 3339, UTC) is both author and committer time.
        """
        for path in files:
            _check_file_path(path)
        tags = list(tags)
        for name in [branch, *tags]:
            self._check_ref(name)
        when = f"{int(_parse_time(time).timestamp())} +0000"
        text = (message or f"files at {', '.join(tags) or branch}") + "\n"
        stream = [
            f"commit refs/heads/{branch}",
            "mark :1",
            f"author {_AUTHOR} {when}",
            f"committer {_AUTHOR} {when}",
            *_data(text.encode()),
        ]
        parent = self._resolve(f"refs/heads/{branch}")
        if parent:
            stream.append(f"from {parent}")
        stream.append("deleteall")
        for path, content in sorted(files.items()):
            stream += [f"M 100644 inline {_utf8(path)}", *_data(content)]
        for tag in tags:
            stream += ["", f"reset refs/tags/{tag}", "from :1"]
        stream += ["", "get-mark :1", "done", ""]
        out = self.git("fast-import", "--quiet", "--done", stdin=_join(stream))
        return out.strip()

    def tag(self, name: str, target: str, *, message: str | None = None) -> None:
        """Point tag ``name`` at ``target`` (a hash or ref); annotated when ``message`` is given."""
        if message is None:
            self.git("tag", name, target)
        else:
            self.git("tag", "-a", "-m", message, name, target)

    def force_ref(self, ref: str, object_id: str) -> None:
        """Point ``ref`` (``refs/tags/v1.3.0``) at ``object_id`` even if no such object exists.

        git's own commands refuse to; this writes the ref file itself, leaving
        the repository as one that lost objects: http-backend still
        advertises the ref, and a fetch of it fails on the server.
        """
        if not ref.startswith("refs/"):
            raise ValueError(f"ref {ref!r} must be a full name starting with refs/")
        self._check_ref(ref)
        if not re.fullmatch(r"[0-9a-f]{40}", object_id):
            raise ValueError(f"object_id {object_id!r} must be 40 lower-case hex digits")
        (self.path / ref).parent.mkdir(parents=True, exist_ok=True)
        (self.path / ref).write_text(object_id + "\n")

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run ``git args`` in this bare repository (sealed env, fixed identity); stdout."""
        return self._host.git("--git-dir", str(self.path), *args, stdin=stdin)

    def _check_ref(self, name: str) -> None:
        try:
            self.git("check-ref-format", "--allow-onelevel", name)
        except GitError:
            raise ValueError(
                f"invalid ref name {name!r}: git check-ref-format refuses it "
                "(no '..', '~', '^', ':', '?', '*', '[', spaces or a trailing '.lock')"
            ) from None

    def _resolve(self, ref: str) -> str | None:
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except GitError:
            return None


class GitHost:
    """``git http-backend`` for the bare repositories under ``root``, as ``https://host``.

    :meth:`handle` answers one werkzeug request by running the CGI with the
    request body on its stdin and streaming its stdout back; a run that takes
    longer than ``timeout`` seconds is killed. Pushing (``git-receive-pack``)
    and paths outside ``root`` are refused with a 403 or 400. :attr:`log`
    lists every request answered. :meth:`close` kills what still runs and,
    when the GitHost made ``root`` itself, removes it.
    """

    def __init__(
        self, root: Path | None = None, *, host: str = "git.test", timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self.git_executable = find_git()
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="gomodnet-git-")
        self.root = Path(root or self._tmp.name).resolve()  # type: ignore[union-attr]
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".home").mkdir(exist_ok=True)
        self.host = host
        self.timeout = timeout
        self.repos: dict[str, GitRepo] = {}
        self._redirects: dict[str, tuple[str, int, bool]] = {}
        self._log: list[GitExchange] = []
        self._running: set[_Run] = set()
        self._lock = threading.Lock()
        when = f"{int(_parse_time(DEFAULT_TIME).timestamp())} +0000"
        self._env = git_env(self.root / ".home") | {
            "GIT_AUTHOR_NAME": _NAME_OF_AUTHOR,
            "GIT_AUTHOR_EMAIL": _EMAIL,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": _NAME_OF_AUTHOR,
            "GIT_COMMITTER_EMAIL": _EMAIL,
            "GIT_COMMITTER_DATE": when,
        }

    def __repr__(self) -> str:
        return f"GitHost({self.host!r}, repos={sorted(self.repos)!r})"

    def __enter__(self) -> GitHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every CGI still running; remove ``root`` if the GitHost made it."""
        with self._lock:
            running = list(self._running)
        for run in running:  # their responses, closed later, reap them and close their files
            _kill(run.proc)
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- repositories -------------------------------------------------------

    def create(self, name: str, *, branch: str = "main") -> GitRepo:
        """A new empty bare repository ``root/<name>.git``, served at ``https://host/<name>.git``."""
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith(".git"):
            raise ValueError(
                f"invalid repository name {name!r}: use path segments of letters, digits, "
                "'.', '_' and '-' (not starting with '.' or '-'), without the .git suffix"
            )
        if name in self.repos:
            raise ValueError(f"repository {name!r} already exists on {self.host}")
        path = self.root / f"{name}.git"
        self.git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
        repo = GitRepo(self, name, path)
        self.repos[name] = repo
        return repo

    def redirect(self, name: str, to: str, *, status: int = 301, keep_path: bool = True) -> None:
        """Answer every request for ``/<name>.git/...`` with ``status`` and a ``Location``.

        With ``keep_path`` the rest of the path and the query follow ``to``, as a
        moved repository's server does: ``redirect("old", "https://git.test/tool.git")``
        sends ``/old.git/info/refs?service=git-upload-pack`` to
        ``https://git.test/tool.git/info/refs?service=git-upload-pack``. Without,
        every request goes to ``to`` itself: a single sign-on login redirect.
        """
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"status {status!r} is not a redirect (301, 302, 303, 307, 308)")
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid repository name {name!r}")
        self._redirects[f"/{name}.git/"] = (to.rstrip("/"), status, keep_path)

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run ``git args`` sealed (no system/global config, fixed identity); stdout as text."""
        try:
            done = subprocess.run(
                [self.git_executable, *args],
                env=self._env,
                cwd=self.root,
                input=stdin or b"",
                capture_output=True,
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} ran longer than {COMMAND_TIMEOUT:g} s") from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise GitError(f"git {' '.join(args[:3])} … failed (exit {done.returncode}): {detail}")
        return done.stdout.decode(errors="replace")

    # -- serving ------------------------------------------------------------

    @property
    def log(self) -> list[GitExchange]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def handle(self, request: Request) -> Response:
        """Answer one request with ``git http-backend`` (or a refusal)."""
        query = request.query_string.decode("latin-1")
        exchange = GitExchange(request.method, request.path, query, 0)
        with self._lock:
            self._log.append(exchange)
        refusal = _refusal(request.path, query)
        if refusal is not None:
            status, text = refusal
            exchange.status, exchange.ended = status, "refused"
            return text_response(f"gomodnet GitHost: {text}\n", status)
        for prefix, (to, status, keep_path) in self._redirects.items():
            if request.path.startswith(prefix):
                exchange.status, exchange.ended = status, "redirected"
                location = to
                if keep_path:
                    location += request.path[len(prefix) - 1 :] + (f"?{query}" if query else "")
                response = text_response(f"moved to {location}\n", status)
                response.headers["Location"] = location
                return response
        return self._run_backend(request, exchange)

    def _run_backend(self, request: Request, exchange: GitExchange) -> Response:
        deadline = time.monotonic() + self.timeout
        spool = self.root / ".home"
        with tempfile.TemporaryFile(dir=spool) as body:
            body.write(request.get_data())
            body.seek(0)
            # stderr goes to a file, so a chatty CGI never blocks; _Run.close closes it.
            stderr = tempfile.TemporaryFile(dir=spool)  # noqa: SIM115
            proc = subprocess.Popen(
                [self.git_executable, "http-backend"],
                env=self._cgi_env(request),
                cwd=self.root,
                stdin=body,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        run = _Run(proc, stderr, _Output(proc, deadline), exchange, self._ended)
        with self._lock:
            self._running.add(run)
        try:
            status, headers = _cgi_head(run.output.read_head())
            exchange.status = status
            run.early = run.output.read_up_to(_BUFFER_LIMIT)
        except BaseException:
            run.close()
            raise
        status_line = f"{status} {HTTPStatus(status).phrase}"
        if run.output.ended:
            run.close()
            return Response(run.early, status=status_line, headers=headers)
        return Response(run, status=status_line, headers=headers, direct_passthrough=True)

    def _ended(self, run: _Run) -> None:
        with self._lock:
            self._running.discard(run)

    def _cgi_env(self, request: Request) -> dict[str, str]:
        """RFC 3875 variables from the request, plus what http-backend needs to serve."""
        environ = request.environ
        env = git_env(self.root / ".home") | {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string.decode("latin-1"),
            "SERVER_PROTOCOL": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "REMOTE_ADDR": "127.0.0.1",
        }
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                env[name] = environ[name]
        for key, value in environ.items():
            if key.startswith("HTTP_") and isinstance(value, str):
                env[key] = value
        if "HTTP_GIT_PROTOCOL" in env:  # how git asks for protocol v2 over HTTP
            env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"]
        return env


class _Run:
    """One run of the CGI: its process, output and log entry; the body of a streamed response.

    Iterating gives the body (``early``, then the rest as it comes); :meth:`close`,
    which the response's close calls even when the body was never read, reaps the
    process (killing it if it still runs) and logs how it ended. Closing twice is
    harmless.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        stderr: IO[bytes],
        output: _Output,
        exchange: GitExchange,
        on_end: Callable[[_Run], None],
    ) -> None:
        self.proc, self.stderr, self.output, self.exchange = proc, stderr, output, exchange
        self.early = b""
        self._on_end = on_end
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield self.early
            while chunk := self.output.read_chunk():
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.output.ended and not self.output.timed_out:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=_EXIT_SECONDS)
        killed = _kill(self.proc)
        self.stderr.seek(0)
        self.exchange.stderr = self.stderr.read().decode("utf-8", "replace")
        self.stderr.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        if self.output.timed_out:
            self.exchange.ended = "deadline"
        else:
            self.exchange.ended = "closed" if killed else "ok"
        self.exchange.seconds = time.monotonic() - self._started
        self._on_end(self)


class _Output:
    """A CGI's stdout, read with one deadline for the whole response."""

    def __init__(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._deadline = deadline
        self._pending = b""
        self.ended = False
        self.timed_out = False

    def read_chunk(self) -> bytes:
        """The next bytes; b"" at EOF or at the deadline."""
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        if self.ended:
            return b""
        left = self._deadline - time.monotonic()
        ready = left > 0 and select.select([self._fd], [], [], left)[0]
        if not ready:  # the deadline passed, whether or not bytes were still coming
            self.ended = self.timed_out = True
            return b""
        chunk = os.read(self._fd, _READ_SIZE)
        self.ended = not chunk
        return chunk

    def read_head(self) -> bytes:
        """Up to the blank line that ends the CGI's headers (which may end in LF only)."""
        data = b""
        while not re.search(rb"\r?\n\r?\n", data):
            chunk = self.read_chunk()
            if not chunk:
                why = "ran past its deadline" if self.timed_out else "exited"
                raise GitError(f"git http-backend {why} before its headers: {data[:200]!r}")
            data += chunk
        match = re.search(rb"\r?\n\r?\n", data)
        assert match is not None
        self._pending = data[match.end() :]
        return data[: match.start()]

    def read_up_to(self, limit: int) -> bytes:
        """The body, up to about ``limit`` bytes or its end, whichever comes first."""
        parts: list[bytes] = []
        size = 0
        while size < limit and (chunk := self.read_chunk()):
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)


def _cgi_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    """(status, headers) of a CGI response head; ``Status:`` becomes the status line."""
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


def _refusal(path: str, query: str) -> tuple[int, str] | None:
    """Why a request must not reach http-backend (status, text), or None."""
    if "git-receive-pack" in path or "service=git-receive-pack" in query.split("&"):
        return 403, (
            "pushing (git-receive-pack) is refused: this host is read-only; "
            "make commits with GitRepo.commit()"
        )
    segments = path.split("/")
    if any(s in ("..", ".") or "\\" in s or "\0" in s for s in segments):
        return 400, f"path {path!r} has a dot segment: it would escape the repository root"
    return None


def _check_file_path(path: str) -> None:
    if (
        not isinstance(path, str)
        or not path
        or path.startswith("/")
        or path.endswith("/")
        or any(s in ("", ".", "..", ".git") for s in path.split("/"))
        or any(c in path for c in '"\\\n\0')
    ):
        raise ValueError(
            f"invalid file path {path!r}: use a relative slash-separated path without "
            "empty, '.', '..' or '.git' segments, quotes, backslashes or newlines"
        )


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"time {value!r} must be RFC 3339 with a zone, e.g. {DEFAULT_TIME!r}")
    return parsed


def _data(content: bytes) -> list[str]:
    """A fast-import ``data`` command; latin-1 keeps every byte as one character."""
    return [f"data {len(content)}", content.decode("latin-1")]


def _utf8(text: str) -> str:
    """``text`` as its UTF-8 bytes, one latin-1 character each, ready for :func:`_join`."""
    return text.encode().decode("latin-1")


def _join(lines: list[str]) -> bytes:
    """The fast-import stream's bytes: every character in it stands for one byte."""
    return "\n".join(lines).encode("latin-1")


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """Kill ``proc``'s group if it still runs, and reap it; whether it had to be killed."""
    if proc.poll() is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return True
