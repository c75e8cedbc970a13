"""pytest glue of the conformance suite: targets as fixtures, verdicts as a matrix.

Registered by the main plugin when a run names the suite (``--gomodnet``; the
target templates are then checked before anything starts, and a suite option
without it is a usage error). A vendor may override ``gomodnet_proxy_target``
in a conftest.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest

from pytest_gomodnet.errors import GoModNetError
from pytest_gomodnet.gotool import GoToolchain

from . import CASE_MODULES, CASES, CLIENT_CASE_MODULES, PROXY_CASE_MODULES
from .harness import (
    ANSWER_TIMEOUT,
    PROXY_HOST,
    UPSTREAM_HOST,
    UPSTREAM_URL,
    ClientCase,
    ProxyCase,
    client_verify,
)
from .report import Matrix, RunFacts
from .startup import readiness_probe, upstream_endpoints
from .targets import (
    CLIENT_PLACEHOLDERS,
    PROXY_ONLY,
    PROXY_PLACEHOLDERS,
    START_TIMEOUT,
    CommandClient,
    CommandTemplate,
    ProxyTarget,
    RunningCommand,
    TargetError,
    run_proxy_command,
)

if TYPE_CHECKING:
    from pytest_gomodnet.goproxy import ModuleStore
    from pytest_gomodnet.network import Backbone, Network

    from .targets import ClientTarget

PROXY_TARGETS = pytest.StashKey[list[CommandTemplate]]()
CLIENT_TARGETS = pytest.StashKey[list[str | CommandTemplate]]()
TARGET_KEY = pytest.StashKey[Any]()
COLLECTED = pytest.StashKey[set[Path]]()
#: Module paths of this run start with it, so a target's cache from an earlier run never answers.
RUN_NONCE = secrets.token_hex(4)

NO_PROXY_TARGET = (
    "no proxy target: give --gomodnet-proxy-cmd, or override the gomodnet_proxy_target fixture"
)
NO_CLIENT_TARGET = "no client target: give --gomodnet-client or --gomodnet-client-cmd"


def configure(config: pytest.Config) -> None:
    """Check the target options, and add the case modules to the run with --gomodnet."""
    try:
        proxies = [
            CommandTemplate(text, PROXY_PLACEHOLDERS, "--gomodnet-proxy-cmd")
            for text in config.getoption("gomodnet_proxy_cmd") or []
        ]
        clients: list[str | CommandTemplate] = list(config.getoption("gomodnet_client") or [])
        clients += [
            CommandTemplate(text, CLIENT_PLACEHOLDERS, "--gomodnet-client-cmd", PROXY_ONLY)
            for text in config.getoption("gomodnet_client_cmd") or []
        ]
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    # Proxy cases run unless only clients were named (their skips point at the fixture a
    # vendor may override); client cases run for the clients named, or for the built-in
    # two when no target at all was named.
    modules = set(PROXY_CASE_MODULES) if proxies or not clients else set()
    if not proxies and not clients:
        clients = ["go", "reference"]
    if clients:
        modules.update(CLIENT_CASE_MODULES)
    config.stash[PROXY_TARGETS] = proxies
    config.stash[CLIENT_TARGETS] = clients
    config.stash[COLLECTED] = modules
    # The process that prints (a plain run, or the xdist controller) keeps the matrix.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Reporter(config), "gomodnet-conformance-reporter")
    # The directory, not the files: a file given as an argument gets an empty node id
    # when it lies outside the rootdir (as it does when the plugin is installed).
    config.args.append(str(CASE_MODULES[0].parent))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect the case modules, whatever the project's ``python_files`` says."""
    if parent.config.getoption("gomodnet") and file_path in parent.config.stash[COLLECTED]:
        module: pytest.Module = pytest.Module.from_parent(parent, path=file_path)
        return module
    return None


def _unique_ids(names: list[str]) -> list[str]:
    ids: list[str] = []
    for name in names:
        ids.append(name if name not in ids else f"{name}-{len(ids) + 1}")
    return ids


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "gomodnet_proxy_command" in metafunc.fixturenames:
        proxies: list[CommandTemplate | None] = [*config.stash[PROXY_TARGETS]] or [None]
        ids = _unique_ids([p.name if p else "no-proxy-target" for p in proxies])
        metafunc.parametrize(
            "gomodnet_proxy_command", proxies, ids=ids, indirect=True, scope="session"
        )
    if "gomodnet_client_spec" in metafunc.fixturenames:
        clients: list[str | CommandTemplate | None] = [*config.stash[CLIENT_TARGETS]] or [None]
        names = [c if isinstance(c, str) else c.name if c else "no-client-target" for c in clients]
        metafunc.parametrize("gomodnet_client_spec", clients, ids=_unique_ids(names), indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("gomodnet_case")
        if marker is None:
            continue
        case = CASES[marker.args[0]]
        item.user_properties += [("gomodnet_case", case.id), ("gomodnet_level", case.level)]
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            for name in ("gomodnet_proxy_command", "gomodnet_client_spec"):
                if name in callspec.params:
                    item.user_properties.append(("gomodnet_target", _param_id(callspec, name)))


def _param_id(callspec: Any, name: str) -> str:
    value = callspec.params[name]
    if value is None:
        return "none"
    return value if isinstance(value, str) else str(value.name)


# --- proxy targets --------------------------------------------------------------


@pytest.fixture(scope="session")
def gomodnet_proxy_command(request: pytest.FixtureRequest) -> CommandTemplate | None:
    """The ``--gomodnet-proxy-cmd`` this test runs against (parametrized by the suite)."""
    template: CommandTemplate | None = getattr(request, "param", None)
    return template


class _Processes:
    """Proxy commands started on first use and kept for the session.

    A command that cannot start, or dies during the run, is reported once: as
    the error of the case that met it, naming the command, its exit status and
    its last output. Its later cases are skipped with a reason that points there,
    instead of repeating the same error in every case.
    """

    def __init__(self, backbone: Backbone, config: pytest.Config, stack: ExitStack) -> None:
        self._backbone, self._config, self._stack = backbone, config, stack
        self._running: dict[CommandTemplate, RunningCommand] = {}
        self._failed: dict[CommandTemplate, str] = {}

    def get(self, template: CommandTemplate, nodeid: str) -> RunningCommand:
        """The session's process for ``template``, started on first use."""
        self._skip_if_failed(template)
        running = self._running.get(template) or self.start(template, nodeid, self._stack)
        self._running[template] = running
        status = running.process.poll()
        if status is not None:
            self._fail(
                template,
                nodeid,
                TargetError(
                    f"{running.name} exited with status {status} during the run; "
                    f"its last output:\n{running.output() or '(none)'}"
                ),
            )
        return running

    def start(self, template: CommandTemplate, nodeid: str, stack: ExitStack) -> RunningCommand:
        """Start ``template`` on ``stack`` (skip, if it already failed in this session)."""
        self._skip_if_failed(template)
        try:
            return _start(template, self._backbone, self._config, stack)
        except TargetError as exc:
            error = exc  # failed outside the except: no "during handling" chain in the report
        self._fail(template, nodeid, error)

    def _skip_if_failed(self, template: CommandTemplate) -> None:
        reason = self._failed.get(template)
        if reason is not None:
            pytest.skip(reason)

    def _fail(self, template: CommandTemplate, nodeid: str, error: TargetError) -> NoReturn:
        self._failed[template] = f"not run: {template.name} failed in {nodeid} (see its error)"
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def _gomodnet_proxy_processes(
    gomodnet_backbone: Backbone, pytestconfig: pytest.Config
) -> Iterator[_Processes]:
    with ExitStack() as stack:
        yield _Processes(gomodnet_backbone, pytestconfig, stack)


def _start(
    template: CommandTemplate, backbone: Backbone, config: pytest.Config, stack: ExitStack
) -> RunningCommand:
    """Start ``template`` and wait until a clean request through it succeeds."""
    with readiness_probe(backbone, f"mod.test/{RUN_NONCE}") as probe:
        return stack.enter_context(
            run_proxy_command(
                template,
                upstream=UPSTREAM_URL,
                router=backbone.router.url,
                ca_bundle=backbone.ca.ca_bundle,
                start_timeout=_start_timeout(config),
                endpoints=upstream_endpoints(backbone, template.names),
                ready=probe,
            )
        )


def _start_timeout(config: pytest.Config) -> float:
    given: float | None = config.getoption("gomodnet_start_timeout")
    return START_TIMEOUT if given is None else given


@pytest.fixture
def gomodnet_proxy_target(
    request: pytest.FixtureRequest,
    gomodnet_proxy_command: CommandTemplate | None,
    gomodnet_backbone: Backbone,
) -> Iterator[ProxyTarget]:
    """The proxy under test, serving the GOPROXY protocol from ``https://upstream.test``.

    Started from ``--gomodnet-proxy-cmd``, once per session (or per test with
    ``--gomodnet-proxy-scope=test``). Override it in a conftest to test a
    proxy you start yourself: yield any object with ``name``, ``url`` and
    ``output()``; fetch from :data:`UPSTREAM_URL` through ``HTTPS_PROXY`` =
    ``gomodnet_backbone.router.url``, trusting ``gomodnet_backbone.ca.ca_bundle``.
    """
    if gomodnet_proxy_command is None:
        pytest.skip(NO_PROXY_TARGET)
    processes: _Processes = request.getfixturevalue("_gomodnet_proxy_processes")
    nodeid = request.node.nodeid
    if request.config.getoption("gomodnet_proxy_scope") == "test":
        with ExitStack() as stack:
            yield processes.start(gomodnet_proxy_command, nodeid, stack)
        return
    yield processes.get(gomodnet_proxy_command, nodeid)


@pytest.fixture
def gomodnet_proxy_case(
    request: pytest.FixtureRequest,
    gomodnet_proxy_target: ProxyTarget,
    gomodnet: Network,
    module_store: ModuleStore,
) -> Iterator[ProxyCase]:
    """A proxy case's hands: the target, the upstream at upstream.test, a fresh module path."""
    request.node.stash[TARGET_KEY] = gomodnet_proxy_target
    _note_target(request.node, gomodnet_proxy_target.name)
    gomodnet.add_goproxy(UPSTREAM_HOST, module_store)
    marker = request.node.get_closest_marker("gomodnet_case")
    # The target's name is in the path: one target's stray upstream request (a background
    # refresh, a prefetch) can never take the fault meant for another's.
    case_id = marker.args[0] if marker else request.node.name
    case_name = case_id.split(".", 1)[-1]  # "proxy.zip" → "zip"
    module = f"mod.test/{RUN_NONCE}/{_slug(gomodnet_proxy_target.name)}/{_slug(case_name)}"
    with httpx.Client(
        timeout=ANSWER_TIMEOUT, verify=client_verify(gomodnet.ca_bundle), trust_env=False
    ) as client:
        yield ProxyCase(gomodnet_proxy_target, gomodnet, module_store, module, client)


def _slug(name: str) -> str:
    """``name`` as one lower-case module path element: letters, digits and single dashes."""
    kept = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(filter(None, kept.split("-"))) or "unnamed"


def _note_target(item: pytest.Item, name: str) -> None:
    if not any(key == "gomodnet_target" for key, _ in item.user_properties):
        item.user_properties.append(("gomodnet_target", name))


# --- client targets ----------------------------------------------------------------


@pytest.fixture
def gomodnet_client_spec(request: pytest.FixtureRequest) -> str | CommandTemplate | None:
    """The client this test runs against (parametrized by the suite)."""
    spec: str | CommandTemplate | None = getattr(request, "param", None)
    return spec


@pytest.fixture
def gomodnet_client_target(
    request: pytest.FixtureRequest, gomodnet_client_spec: str | CommandTemplate | None
) -> ClientTarget:
    """The client under test: the go command, the reference client, or a command."""
    from .clients import GoClient, ReferenceClient

    if gomodnet_client_spec is None:
        pytest.skip(NO_CLIENT_TARGET)
    if isinstance(gomodnet_client_spec, CommandTemplate):
        return CommandClient(gomodnet_client_spec)
    if gomodnet_client_spec == "go":
        return GoClient(request.getfixturevalue("go"))
    return ReferenceClient()


@pytest.fixture
def gomodnet_client_case(
    request: pytest.FixtureRequest,
    gomodnet_client_target: ClientTarget,
    gomodnet: Network,
    module_store: ModuleStore,
    tmp_path: Path,
) -> ClientCase:
    """A client case's hands: the client, a GOPROXY at proxy.test, a directory to fill."""
    _note_target(request.node, gomodnet_client_target.name)
    gomodnet.add_goproxy(PROXY_HOST, module_store)
    return ClientCase(gomodnet_client_target, gomodnet, module_store, tmp_path)


# --- verdicts -------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marker = item.get_closest_marker("gomodnet_case")
    if marker is None or not report.failed:
        return report
    target = item.stash.get(TARGET_KEY, None)
    if target is not None:
        report.sections.append(("gomodnet target output", target.output() or "(none)"))
    case = CASES[marker.args[0]]
    if case.level == "SHOULD" and call.when == "call" and not _strict(item.config):
        report.outcome = "skipped"
        report.wasxfail = f"SHOULD-fail: {case.id}: {case.rationale}"
    return report


def _strict(config: pytest.Config) -> bool:
    return bool(config.getoption("gomodnet_strict"))


class Reporter:
    """Collects every case's verdict into the matrix; prints it and writes the report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.matrix = Matrix()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.matrix.record(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.matrix.targets:
            return
        terminalreporter.write_sep("=", "gomodnet conformance matrix")
        for line in self.matrix.text():
            terminalreporter.write_line(line)
        self.matrix.facts = run_facts(self.config)
        terminalreporter.write_line(self.matrix.facts.summary())
        base = self.config.getoption("gomodnet_report")
        if base:
            for path in self.matrix.write(Path(base)):
                terminalreporter.write_line(f"wrote {path}")


#: What each built-in client target is, for the report.
BUILT_IN_CLIENTS = {
    "go": "built in: the go command (go mod download -json, sealed)",
    "reference": "built in: python -m pytest_gomodnet.conformance.reference",
}


def run_facts(config: pytest.Config) -> RunFacts:
    """The plugin and go versions, the seed, the date and every target's command line."""
    from pytest_gomodnet._version import __version__
    from pytest_gomodnet.plugin import SEED_KEY

    proxies = config.stash[PROXY_TARGETS]
    clients = config.stash[CLIENT_TARGETS]
    commands = {
        name: template.text
        for name, template in zip(_unique_ids([p.name for p in proxies]), proxies, strict=True)
    }
    client_names = _unique_ids([c if isinstance(c, str) else c.name for c in clients])
    for name, client in zip(client_names, clients, strict=True):
        commands[name] = BUILT_IN_CLIENTS[client] if isinstance(client, str) else client.text
    return RunFacts(
        plugin=__version__,
        go=_go_version(config),
        seed=config.stash[SEED_KEY],
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        targets=commands,
        rerun=rerun_args(config),
    )


#: The suite's options that a rerun repeats, each as given (dest → flag).
_RERUN_OPTIONS = {
    "gomodnet_proxy_cmd": "--gomodnet-proxy-cmd",
    "gomodnet_client": "--gomodnet-client",
    "gomodnet_client_cmd": "--gomodnet-client-cmd",
    "gomodnet_proxy_scope": "--gomodnet-proxy-scope",
    "gomodnet_start_timeout": "--gomodnet-start-timeout",
    "gomodnet_go": "--gomodnet-go",
}


def rerun_args(config: pytest.Config) -> list[str]:
    """``pytest --gomodnet`` with this run's targets, seed and strictness: run from the
    same directory, it runs the same cases against the same targets again."""
    from pytest_gomodnet.plugin import SEED_KEY

    args = ["pytest", "--gomodnet"]
    for dest, flag in _RERUN_OPTIONS.items():
        value = config.getoption(dest)
        for given in value if isinstance(value, list) else [value]:
            if given is not None:
                args += [flag, str(given)]
    if _strict(config):
        args.append("--gomodnet-strict")
    return [*args, "--gomodnet-seed", str(config.stash[SEED_KEY])]


def _go_version(config: pytest.Config) -> str:
    try:
        toolchain = GoToolchain.find(config.getoption("gomodnet_go"))
        return f"{toolchain.version} ({toolchain.executable})"
    except GoModNetError as exc:
        return f"none ({exc})"


__all__ = [
    "NO_CLIENT_TARGET",
    "NO_PROXY_TARGET",
    "START_TIMEOUT",
    "configure",
]
