"""``python -m pytest_gomodnet replay FILE``: a failed test's network, up again, by hand.

It reads the replay file a failing test left (:mod:`._replay_file`), builds the
same hosts on a fresh Router on 127.0.0.1 (a fresh CA: the same chain shapes,
new keys), arms the same faults in the same order, and serves until Ctrl-C.
It prints the environment that points the go command, git and curl at it, and
a curl command line that meets the first fault the test met.
"""

from __future__ import annotations

import argparse
import base64
import shlex
import signal
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ._replay_file import REPLAYABLE, Recipe, ReplayFileError, load
from .errors import GoModNetError
from .goproxy import ModuleStore
from .network import Network

__all__ = ["main", "replay"]

#: Exit status of a replay file that cannot be replayed (as argparse's usage errors).
EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    """The command line: ``replay FILE``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_gomodnet")
    commands = parser.add_subparsers(dest="command", required=True)
    replay_parser = commands.add_parser(
        "replay", help="bring a failed test's network up again from its replay file"
    )
    replay_parser.add_argument("file", type=Path, help="the *.replay.json a failing test left")
    args = parser.parse_args(argv)
    try:
        recipe = load(args.file)
        replay(recipe, sys.stdout)
    except ReplayFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except GoModNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def replay(recipe: Recipe, out: TextIO, *, stop: threading.Event | None = None) -> None:
    """Serve ``recipe``'s network until SIGINT or SIGTERM (or ``stop`` is set)."""
    stop = stop or threading.Event()
    with ExitStack() as stack:
        directory = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="gomodnet-replay-"))
        )
        network = stack.enter_context(Network.standalone(directory=directory))
        notes = build(recipe, network, stack)
        _print_guide(recipe, network, directory, notes, out)
        _wait(stop)
        print("stopped: the network is down", file=out, flush=True)


def build(recipe: Recipe, network: Network, stack: ExitStack) -> list[str]:
    """Add ``recipe``'s hosts and calls to ``network``; notes on what could not be replayed."""
    notes = []
    replayed = set()
    for number, host in enumerate(recipe.hosts):
        name, kind = host["host"], host["kind"]
        with _blame(recipe, f"hosts[{number}] ({name})"):
            if kind in REPLAYABLE:
                _add_host(recipe, network, host, stack)
                replayed.add(name.lower())
            else:
                served = host.get("served_by", kind)
                notes.append(f"{name} ({kind}: {served}) is not replayed: nothing serves it")
    for number, call in enumerate(recipe.calls):
        with _blame(recipe, f"calls[{number}]"):
            if call.host.lower() not in replayed:
                notes.append(f"{call.call}() on {call.host} skipped: the host is not replayed")
            elif call.call == "fault":
                network.fault(call.host, *call.plans, path=call.path, must_fire=False)
            elif call.call == "http1_only":
                network.http1_only(call.host)
            else:
                network.frame(call.host, call.framing, path=call.path)  # type: ignore[arg-type]
    return notes


@contextmanager
def _blame(recipe: Recipe, place: str) -> Iterator[None]:
    """What the network refuses to build is the file's fault: one ReplayFileError naming where."""
    try:
        yield
    except KeyError as exc:
        raise ReplayFileError(f"replay file {recipe.file} {place} has no {exc} key") from None
    except (ValueError, TypeError, OSError) as exc:
        raise ReplayFileError(f"replay file {recipe.file} {place}: {exc}") from None


def _add_host(recipe: Recipe, network: Network, host: dict[str, Any], stack: ExitStack) -> None:
    name, shape, framing = host["host"], host["shape"], host.get("framing")
    if host["kind"] == "goproxy":
        store = stack.enter_context(ModuleStore())
        for module in host["modules"]:
            _add_module(store, module, recipe.file.parent)
        status = host["missing_status"]
        network.add_goproxy(name, store, shape=shape, missing_status=status, framing=framing)
    elif host["kind"] == "goimport":
        goimport = network.add_goimport(name, shape=shape, framing=framing)
        for prefix in host["prefixes"]:
            if "document_base64" in prefix:
                body = base64.b64decode(prefix["document_base64"])
                goimport.add_document(
                    prefix["prefix"],
                    body,
                    status=prefix["status"],
                    content_type=prefix["content_type"],
                )
            else:
                goimport.add(
                    prefix["prefix"],
                    vcs=prefix["vcs"],
                    repo=prefix["repo"],
                    subdir=prefix["subdir"],
                    variant=prefix["variant"],
                )
    else:
        network.add_sumdb(name, shape=shape, framing=framing)


def _add_module(store: ModuleStore, module: dict[str, Any], base: Path) -> None:
    """Add one module version from the zip the replay file names (its files, same hashes)."""
    path, version = module["path"], module["version"]
    prefix = f"{path}@{version}/"
    with zipfile.ZipFile(base / module["zip"]) as archive:
        files = {
            name.removeprefix(prefix): archive.read(name)
            for name in archive.namelist()
            if name.startswith(prefix) and not name.endswith("/")
        }
    go_mod = module["go_mod"].encode("utf-8", "surrogateescape")
    store.add(
        path, version, files=files, go_mod=go_mod, time=module["time"], origin=module["origin"]
    )


def _print_guide(
    recipe: Recipe, network: Network, directory: Path, notes: list[str], out: TextIO
) -> None:
    env = network.go_env()
    env.update(GOFLAGS="-modcacherw", GOTOOLCHAIN="local", GOMODCACHE=str(directory / "modcache"))
    seed = f" (seed {recipe.seed})" if recipe.seed is not None else ""
    lines = [f"replaying {recipe.test}{seed} from {recipe.file}", ""]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    lines += ["", "faults armed, in order:"]
    lines += [f"  {_call_text(call)}" for call in recipe.calls] or ["  (none)"]
    lines += [f"note: {note}" for note in notes]
    lines += ["", "the request the test's first fault hit:", curl_command(recipe, network), ""]
    lines += ["serving until Ctrl-C"]
    print("\n".join(lines), file=out, flush=True)


def _call_text(call: Any) -> str:
    if call.call == "http1_only":
        return f"http1_only({call.host!r})"
    if call.call == "frame":
        return f"frame({call.host!r}, {call.framing!r}, path={call.path!r})"
    return f"fault({', '.join([repr(call.host), *map(repr, call.plans)])}, path={call.path!r})"


def curl_command(recipe: Recipe, network: Network) -> str:
    """curl, through the Router and trusting its root, for the first request a fault hit."""
    hit = recipe.faulted[0] if recipe.faulted else _first_fault_target(recipe)
    scheme = "http" if hit.get("mode") == "http" else "https"
    url = f"{scheme}://{hit['host']}{hit.get('path') or '/'}"
    words = ["curl", "--silent", "--show-error", "--proxy", network.router_url]
    words += ["--cacert", str(network.ca_bundle), "--output", "response.bin", url]
    return shlex.join(words)


def _first_fault_target(recipe: Recipe) -> dict[str, str]:
    """No request met a fault in the test: aim at the host of the first fault armed."""
    faults = [call for call in recipe.calls if call.call == "fault"]
    host = (
        faults[0].host if faults else (recipe.hosts[0]["host"] if recipe.hosts else "example.test")
    )
    return {"host": host, "path": "/"}


def _wait(stop: threading.Event) -> None:
    """Block until SIGINT, SIGTERM or ``stop``; either signal ends the wait, not the process."""

    def stop_on(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop_on)
        signal.signal(signal.SIGTERM, stop_on)
    while not stop.wait(0.5):
        pass
