"""Run a real HTTP server as a caching GOPROXY mirror in front of the suite's upstream.

Each server gets a config rendered from the template next to this file into a
temporary directory (cache, pid file, temporary files: nothing outside it), runs
in the foreground as this process's child (never as a daemon), listens on
127.0.0.1 only, and logs to stderr. SIGTERM or SIGINT stops it; the directory
is removed once it has exited. As root, the workers run as the server's usual
unprivileged user, who is given the directory (so the temporary directory,
``TMPDIR``, must be one that user can reach, as ``/tmp`` is).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

__all__ = ["SERVERS", "Server", "main"]

HERE = Path(__file__).parent
#: Where Debian and most distributions keep server binaries (often not on a user's PATH).
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
#: Seconds the server gets to exit after the signal is passed on, before SIGKILL.
EXIT_TIMEOUT = 2.0
#: prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Server:
    """One server: its program, its config template and how to run it in the foreground."""

    name: str
    program: str
    package: str
    template: str
    argv: Callable[[str, Path, str], list[str]]
    """The command line, given the program's path, the rendered config and the port."""
    root_user: str | None = None
    """As root: the user its workers run as (given the directory), or None to stay root."""
    user_line: Callable[[str], str] = lambda user: ""
    """The config line that names that user."""

    def find(self) -> str:
        path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
        found = shutil.which(self.program, path=path)
        if found is None:
            raise SystemExit(
                f"{self.name}: {self.program} is not installed (not on PATH or in "
                f"{', '.join(SBIN)}): install it, e.g. apt-get install {self.package}"
            )
        return found


SERVERS = {
    server.name: server
    for server in (
        Server(
            "nginx",
            "nginx",
            "nginx",
            "nginx.conf.in",
            lambda program, config, port: [program, "-p", str(config.parent), "-c", str(config)],
            user_line=lambda user: f"user {user};",
            root_user="root",
        ),
        Server(
            "apache",
            "apache2",
            "apache2",
            "apache2.conf.in",
            lambda program, config, port: [program, "-f", str(config), "-DFOREGROUND"],
            root_user="nobody",
            user_line=lambda user: f"User {user}\nGroup {_group_of(user)}",
        ),
        Server(
            "squid",
            "squid",
            "squid",
            "squid.conf.in",
            lambda program, config, port: [program, "-N", "-d", "1", "-f", str(config)],
            root_user="proxy",
            user_line=lambda user: f"cache_effective_user {user}",
        ),
        Server(
            "caddy",
            "caddy",
            "caddy",
            "Caddyfile.in",
            lambda program, config, port: [
                *(program, "run", "--config", str(config), "--adapter", "caddyfile"),
            ],
        ),
        Server(
            "varnish",
            "varnishd",
            "varnish",
            "varnish.vcl.in",
            lambda program, config, port: [
                *(program, "-F", "-f", str(config), "-n", str(config.parent / "varnish")),
                *("-s", "malloc,64m", "-T", "none", "-a", f"127.0.0.1:{port}"),
            ],
            root_user="varnish",
        ),
    )
}


def _group_of(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _arguments(server: Server, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m pytest_gomodnet.mirrors.{server.name}",
        description=f"Run {server.program} as a caching GOPROXY mirror of --upstream.",
    )
    parser.add_argument("--port", required=True, help="the port on 127.0.0.1 to listen on")
    parser.add_argument("--upstream", required=True, help="the upstream's URL to fetch from")
    parser.add_argument(
        "--upstream-host",
        default="upstream.test",
        help="the upstream's name: SNI, Host and its certificate (default: upstream.test)",
    )
    parser.add_argument("--ca-bundle", default="", help="PEM of the CAs the upstream's chain needs")
    parser.add_argument("--router", default="", help="a forward proxy to reach --upstream through")
    return parser.parse_args(argv)


def render(server: Server, args: argparse.Namespace, run: Path, user: str | None) -> Path:
    """Write the server's config into ``run``; returns its path."""
    upstream = urlsplit(args.upstream)
    values: Mapping[str, object] = {
        "run": run,
        "port": args.port,
        "upstream": args.upstream.rstrip("/"),
        "upstream_host": args.upstream_host,
        "upstream_address": upstream.hostname or "",
        "upstream_port": upstream.port or (443 if upstream.scheme == "https" else 80),
        "ca_bundle": args.ca_bundle,
        "router": args.router,
        "user": server.user_line(user) if user else "",
    }
    text = (HERE / server.template).read_text().format_map(values)
    config = run / server.template.removesuffix(".in")
    config.write_text(text)
    return config


def main(name: str, argv: list[str] | None = None) -> None:
    """Run server ``name`` until SIGTERM or SIGINT; exit with 0 once it has stopped."""
    server = SERVERS[name]
    args = _arguments(server, argv)
    program = server.find()
    with tempfile.TemporaryDirectory(prefix=f"gomodnet-{name}-") as directory:
        run = Path(directory)
        user = server.root_user if os.geteuid() == 0 else None
        if user is not None:
            _give(run, user)
        config = render(server, args, run, user)
        # Where servers keep state of their own (Caddy: its autosave and storage).
        env = {**os.environ, "XDG_CONFIG_HOME": str(run), "XDG_DATA_HOME": str(run)}
        sys.exit(_run_in_foreground(server.argv(program, config, args.port), env))


def _give(run: Path, user: str) -> None:
    """Let ``user`` (the server's workers, as root) write in ``run``."""
    entry = pwd.getpwnam(user)
    run.chmod(0o755)
    os.chown(run, entry.pw_uid, entry.pw_gid)


def _run_in_foreground(command: list[str], env: Mapping[str, str]) -> int:
    """Run ``command``, pass SIGTERM and SIGINT on to it, wait for it to exit (SIGKILL it
    after EXIT_TIMEOUT); 0 if it stopped because it was told to.

    A launcher whose caller dies (a pytest run killed with SIGKILL) stops its server as
    if told to: it sees its parent change; and a server whose launcher dies gets SIGTERM
    from the kernel, so no mirror outlives the run that started it."""
    parent = os.getppid()
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
        env=env,
        preexec_fn=_terminate_with_parent,
    )
    stop_by: list[float] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stop_by:
            stop_by.append(time.monotonic() + EXIT_TIMEOUT)
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            status = child.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:
                stop(signal.SIGTERM, None)
            if stop_by and time.monotonic() > stop_by[0]:
                child.kill()
    if stop_by:
        return 0
    print(f"{command[0]} exited by itself with status {status}", file=sys.stderr)
    return status or 1


def _terminate_with_parent() -> None:
    """In the server's process before it starts: SIGTERM when the launcher dies (Linux)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
