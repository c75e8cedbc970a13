"""A test's network as data: the versioned JSON file ``python -m pytest_gomodnet replay`` reads.

:func:`dump` writes what a failing test built: its hosts (kind, chain shape,
framing; a GOPROXY host's module versions, whose zips are copied beside the
file; a go-import host's prefixes), its ``fault(...)`` and ``frame(...)`` calls
in order, as the failure report prints them, the requests a fault hit, and the
seed. :func:`load` reads one back, and any file it cannot use (another
version, a key missing, an unknown fault) is one :class:`ReplayFileError`
naming what is wrong.
"""

from __future__ import annotations

import ast
import base64
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from ._version import __version__
from .errors import GoModNetError
from .faults import FaultPlan
from .framing import FRAMINGS

if TYPE_CHECKING:
    from .goimport import GoImportHost
    from .goproxy import GoProxy
    from .network import Network
    from .per_example import ConnectionLog

__all__ = ["FORMAT", "VERSION", "Call", "Recipe", "ReplayFileError", "dump", "load"]

FORMAT = "pytest-gomodnet replay"
#: Bumped whenever a key changes meaning: a file of another version is refused.
VERSION = 1
_PLANS: dict[str, type[FaultPlan]] = {plan.__name__: plan for plan in get_args(FaultPlan)}
#: Kinds of host a replay can serve again; the others are listed as not replayable.
REPLAYABLE = ("goproxy", "goimport", "sumdb")


class ReplayFileError(GoModNetError, ValueError):
    """A replay file that cannot be replayed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Call:
    """One ``fault(host, *plans, path=…)``, ``frame(host, framing, path=…)`` or
    ``http1_only(host)`` call."""

    call: str
    host: str
    plans: tuple[FaultPlan | None, ...] = ()
    framing: str | None = None
    path: str | None = None


@dataclass
class Recipe:
    """A replay file, read and checked."""

    file: Path
    test: str
    seed: int | None
    hosts: list[dict[str, Any]]
    calls: list[Call]
    faulted: list[dict[str, str]] = field(default_factory=list)


# --- writing ---------------------------------------------------------------


def dump(network: Network, file: Path, *, test: str, seed: int | None) -> Path:
    """Write ``network`` to ``file`` (zips into ``<file>.store/``); returns ``file``."""
    store_dir = file.with_name(f"{file.name}.store")
    hosts = [
        _host(name, served.kind, served.shape, served.framing, served.server, store_dir, file)
        for name, served in network.served.items()
        if served.kind != "login"
    ]
    calls, log = network.failing_view()
    document = {
        "format": FORMAT,
        "version": VERSION,
        "written_by": f"pytest-gomodnet {__version__}",
        "test": test,
        "seed": seed,
        "hosts": hosts,
        "calls": [_call_data(parse_call(text)) for text in calls],
        "faulted": _faulted(log),
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return file


def _host(
    name: str, kind: str, shape: str, framing: str | None, server: object, store: Path, file: Path
) -> dict[str, Any]:
    data: dict[str, Any] = {"host": name, "kind": kind, "shape": shape, "framing": framing}
    if kind == "goproxy":
        data.update(_goproxy(name, server, store / name, file.parent))  # type: ignore[arg-type]
    elif kind == "goimport":
        data["prefixes"] = _goimport(server)  # type: ignore[arg-type]
    elif kind not in REPLAYABLE:
        data["served_by"] = str(server) if server is not None else kind
    return data


def _goproxy(name: str, proxy: GoProxy, directory: Path, base: Path) -> dict[str, Any]:
    """A GOPROXY host's missing status and module versions, each zip copied to ``directory``."""
    modules = []
    for stored in proxy.store.all():
        copy = directory / stored.path / f"{stored.version}.zip"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored.zip_path, copy)
        modules.append(
            {
                "path": stored.path,
                "version": stored.version,
                "time": stored.time,
                "go_mod": stored.go_mod.decode("utf-8", "surrogateescape"),
                "origin": dict(stored.origin),
                "zip": copy.relative_to(base).as_posix(),
                "h1": stored.h1,
            }
        )
    return {"missing_status": proxy.missing_status, "modules": modules}


def _goimport(host: GoImportHost) -> list[dict[str, Any]]:
    prefixes: list[dict[str, Any]] = []
    for meta, variant, raw in host.entries():
        if raw is None:
            prefixes.append(
                {
                    "prefix": meta.prefix,
                    "vcs": meta.vcs,
                    "repo": meta.repo_root,
                    "subdir": meta.subdir,
                    "variant": variant,
                }
            )
        else:
            body, status, content_type = raw
            encoded = base64.b64encode(body).decode()
            prefixes.append(
                {
                    "prefix": meta.prefix,
                    "document_base64": encoded,
                    "status": status,
                    "content_type": content_type,
                }
            )
    return prefixes


def _call_data(call: Call) -> dict[str, Any]:
    if call.call == "http1_only":
        return {"call": "http1_only", "host": call.host}
    if call.call == "frame":
        return {"call": "frame", "host": call.host, "framing": call.framing, "path": call.path}
    plans = [None if plan is None else repr(plan) for plan in call.plans]
    return {"call": "fault", "host": call.host, "plans": plans, "path": call.path}


def _faulted(log: ConnectionLog) -> list[dict[str, str]]:
    """Every exchange a fault hit, oldest first: what the printed curl line asks for."""
    hits = []
    for connection in log:
        for exchange in connection.exchanges:
            if exchange.fault:
                hits.append(
                    {
                        "host": connection.host,
                        "mode": connection.mode,
                        "method": exchange.method,
                        "path": exchange.path,
                        "fault": exchange.fault,
                    }
                )
    return hits


# --- reading ---------------------------------------------------------------


def load(file: Path) -> Recipe:
    """Read and check ``file``; ReplayFileError naming the first thing wrong."""
    try:
        document = json.loads(file.read_text())
    except OSError as exc:
        raise ReplayFileError(f"cannot read replay file {file}: {exc.strerror}") from None
    except ValueError as exc:
        raise ReplayFileError(f"{file} is not JSON ({exc}): give a *.replay.json file") from None
    where = _Where(file)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise where.error(f'is not a replay file (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise where.error(
            f"is version {document.get('version')!r} ({document.get('written_by', 'unknown')}); "
            f"this pytest-gomodnet {__version__} replays version {VERSION} only: replay it "
            "with the version that wrote it, or run the test again to write a new one"
        )
    hosts = where.get(document, "hosts", list)
    for number, host in enumerate(hosts):
        _check_host(where.inside(f"hosts[{number}]"), host)
    calls = [
        _load_call(where.inside(f"calls[{number}]"), call)
        for number, call in enumerate(where.get(document, "calls", list))
    ]
    faulted = where.get(document, "faulted", list) if "faulted" in document else []
    for number, hit in enumerate(faulted):
        where.inside(f"faulted[{number}]").get(hit, "host", str)
    seed = document.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise where.error(f'"seed" is {seed!r}: an integer or null')
    return Recipe(
        file=file,
        test=str(document.get("test", "?")),
        seed=seed,
        hosts=hosts,
        calls=calls,
        faulted=faulted,
    )


class _Where:
    """Where in a replay file a value is, for error messages: ``FILE: hosts[0]``."""

    def __init__(self, file: Path, place: str = "") -> None:
        self.file = file
        self.place = place

    def inside(self, place: str) -> _Where:
        return _Where(self.file, f"{self.place}.{place}" if self.place else place)

    def error(self, text: str) -> ReplayFileError:
        at = f" {self.place}" if self.place else ""
        return ReplayFileError(f"replay file {self.file}{at} {text}")

    def get(self, data: object, key: str, kind: type[Any]) -> Any:
        if not isinstance(data, dict):
            raise self.error(f"must be a JSON object, not {data!r}")
        if key not in data:
            raise self.error(f'has no "{key}" key: it needs one ({kind.__name__})')
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(f'"{key}" is {value!r}: it must be a {kind.__name__}')
        return value


def _check_host(where: _Where, host: object) -> None:
    where.get(host, "host", str)
    where.get(host, "shape", str)
    kind = where.get(host, "kind", str)
    assert isinstance(host, dict)
    framing = host.get("framing")
    if framing is not None and framing not in FRAMINGS:
        raise where.error(f'"framing" is {framing!r}: one of {", ".join(FRAMINGS)} or null')
    if kind == "goproxy":
        where.get(host, "missing_status", int)
        for number, module in enumerate(where.get(host, "modules", list)):
            inner = where.inside(f"modules[{number}]")
            for key in ("path", "version", "time", "go_mod", "zip"):
                inner.get(module, key, str)
    elif kind == "goimport":
        for number, prefix in enumerate(where.get(host, "prefixes", list)):
            where.inside(f"prefixes[{number}]").get(prefix, "prefix", str)


def _load_call(where: _Where, data: object) -> Call:
    call = where.get(data, "call", str)
    host = where.get(data, "host", str)
    assert isinstance(data, dict)
    path = data.get("path")
    if path is not None and not isinstance(path, str):
        raise where.error(f'"path" is {path!r}: a glob string or null')
    if call == "frame":
        framing = data.get("framing")
        if framing is not None and framing not in FRAMINGS:
            raise where.error(f'"framing" is {framing!r}: one of {", ".join(FRAMINGS)} or null')
        return Call("frame", host, framing=framing, path=path)
    if call == "http1_only":
        return Call("http1_only", host)
    if call != "fault":
        raise where.error(f'"call" is {call!r}: "fault", "frame" or "http1_only"')
    plans = tuple(
        None if text is None else _plan(where.inside(f"plans[{n}]"), text)
        for n, text in enumerate(where.get(data, "plans", list))
    )
    return Call("fault", host, plans, path=path)


def _plan(where: _Where, text: object) -> FaultPlan:
    """A plan from its repr (``Truncate(at=300, close='fin', where='body')``), or an error."""
    if not isinstance(text, str):
        raise where.error(f"is {text!r}: a fault plan as code, such as 'Truncate(at=300)', or null")
    try:
        return parse_plan(text)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise where.error(f"{text!r}: {exc}") from None


def parse_plan(text: str) -> FaultPlan:
    """``Truncate(at=300)`` → the plan; ValueError naming an unknown fault or bad argument."""
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError("not a fault plan call such as Truncate(at=300)")
    plan = _PLANS.get(node.func.id)
    if plan is None:
        raise ValueError(f"unknown fault {node.func.id!r}: one of {', '.join(sorted(_PLANS))}")
    args = [ast.literal_eval(arg) for arg in node.args]
    kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
    return plan(*args, **kwargs)


def parse_call(text: str) -> Call:
    """A ``fault(...)``/``frame(...)`` call as the failure report prints it → a Call."""
    node = ast.parse(text, mode="eval").body
    assert isinstance(node, ast.Call), text
    assert isinstance(node.func, ast.Name), text
    host = ast.literal_eval(node.args[0])
    path = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "path"), None)
    if node.func.id == "frame":
        return Call("frame", host, framing=ast.literal_eval(node.args[1]), path=path)
    if node.func.id == "http1_only":
        return Call("http1_only", host)
    plans = tuple(
        None
        if isinstance(arg, ast.Constant) and arg.value is None
        else parse_plan(ast.unparse(arg))
        for arg in node.args[1:]
    )
    return Call("fault", host, plans, path=path)
