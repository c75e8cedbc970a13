"""A hypothesis state machine that fuzzes a caching GOPROXY mirror through the private network.

The mirror under test runs in front of an upstream GOPROXY on the network
(``gomodnet.add_goproxy(upstream, store)``). Hypothesis interleaves three kinds
of step: add a version upstream, arm a fault on the upstream's answer for one
version's zip, fetch a zip through the mirror; and now and then the faults
clear. Two properties must hold, checked by the steps that can see them:

* the mirror never serves a wrong artifact: every 200 it gives for a zip is
  exactly the upstream's zip (its ``h1:``), whatever the upstream did before
  (every fetch checks it);
* once the faults clear, it recovers: every version added upstream is served,
  right, by the mirror (checked for every version when they clear).

A failure prints the steps as code, shrunk, with the failing example's faults
and connections (``gomodnet.example()``). Each run of the machine uses a module
path of its own, so what one run left in the mirror's cache cannot decide
another's verdict. Usage::

    def test_my_mirror(gomodnet, module_store, my_mirror_url):
        gomodnet.add_goproxy("upstream.test", module_store)
        run_mirror_machine(gomodnet, module_store, my_mirror_url, upstream="upstream.test")
"""

from __future__ import annotations

import hashlib
import itertools
from contextlib import ExitStack
from typing import TYPE_CHECKING

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .checks import assert_not_poisoned
from .faults import Corrupt, FaultPlan, HtmlLogin, Reset, Status, Truncate

if TYPE_CHECKING:
    from .goproxy import ModuleStore, StoredVersion
    from .network import Network

__all__ = ["MirrorMachine", "run_mirror_machine", "upstream_faults"]

#: Seconds the machine's client waits for the mirror at each step.
CLIENT_TIMEOUT = 30.0
#: Bytes of the body a drawn fault may aim at: every zip the machine adds is longer.
BODY_REACH = 256
#: How many runs of how many steps, unless ``settings=`` says otherwise: seconds, not minutes.
DEFAULT_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def upstream_faults() -> st.SearchStrategy[FaultPlan]:
    """Fast faults on an upstream zip answer: a cut or a reset body, a flipped byte,
    a 503, an HTML sign-in page with 200 (none of them waits)."""
    offsets = st.integers(0, BODY_REACH)
    return st.one_of(
        st.builds(Truncate, offsets, where=st.just("body")),
        st.builds(Reset, offsets, where=st.just("body")),
        st.builds(Corrupt, offsets, where=st.just("body")),
        st.just(Status(503, b"upstream busy\n")),
        st.just(HtmlLogin()),
    )


class MirrorMachine(RuleBasedStateMachine):
    """Steps and properties for a caching mirror of ``upstream`` at ``mirror_url``.

    Make one per run with :func:`run_mirror_machine`. Subclass it to add rules
    (more fault kinds, metadata requests); the properties stay.
    """

    versions = Bundle("versions")
    _runs = itertools.count(1)

    def __init__(
        self, network: Network, store: ModuleStore, mirror_url: str, *, upstream: str
    ) -> None:
        super().__init__()
        self.network, self.store, self.upstream = network, store, upstream
        self.mirror_url = mirror_url.rstrip("/")
        self.module = f"example.test/run{next(self._runs)}"
        self.stored: dict[str, StoredVersion] = {}
        self.armed: dict[str, FaultPlan] = {}
        """The fault last armed on each version's zip, until the faults clear."""
        self.served: set[str] = set()
        """The versions the mirror has served (and so, as a cache, keeps)."""
        self._stack = ExitStack()
        self.example = self._stack.enter_context(network.example())
        self.client = self._stack.enter_context(httpx.Client(timeout=CLIENT_TIMEOUT))

    def teardown(self) -> None:
        self._stack.close()

    @rule(target=versions, minor=st.integers(0, 4))
    def add_version_upstream(self, minor: int) -> str:
        version = f"v1.{minor}.0"
        if version not in self.stored:
            files = {"m.go": _filler(self.module, version)}
            self.stored[version] = self.store.add(self.module, version, files=files)
        return version

    @precondition(lambda self: bool(self._unserved()))
    @rule(data=st.data(), plan=upstream_faults())
    def arm_upstream_fault(self, data: st.DataObject, plan: FaultPlan) -> None:
        """On a version the mirror has not served yet: it never asks for a cached one again."""
        version = data.draw(st.sampled_from(self._unserved()), label="version")
        # The machine may never fetch it: such a plan may rightly stay unused.
        self.network.fault(self.upstream, plan, path=self._zip_path(version), must_fire=False)
        self.armed[version] = plan

    @rule(version=versions)
    def fetch_through_the_mirror(self, version: str) -> None:
        """A 200 must be the right zip, fault or no fault; an error is the mirror's right."""
        self._check(version)

    @precondition(lambda self: bool(self.armed))
    @rule(data=st.data())
    def fetch_a_faulted_version(self, data: st.DataObject) -> None:
        """The same, for a version whose upstream answer is faulty: where mirrors break."""
        self._check(data.draw(st.sampled_from(sorted(self.armed)), label="version"))

    @precondition(lambda self: bool(self.armed))
    @rule()
    def faults_clear_and_the_mirror_recovers(self) -> None:
        """With no fault armed any more, every version added upstream is served, and right."""
        for version in self.armed:
            self.network.fault(self.upstream, path=self._zip_path(version), must_fire=False)
        self.armed.clear()
        for version in self.stored:
            if self._check(version) is None:
                raise AssertionError(self._not_recovered(version))

    def _unserved(self) -> list[str]:
        return sorted(set(self.stored) - self.served)

    def _check(self, version: str) -> bytes | None:
        """The mirror's zip for ``version``: right, or refused (None); never wrong."""
        body = assert_not_poisoned(
            self.mirror_url,
            self.module,
            version,
            self.stored[version].h1,
            client=self.client,
            fault=self.armed.get(version),
            log=self.example,
        )
        if body is not None:
            self.served.add(version)
        return body

    def _not_recovered(self, version: str) -> str:
        url = f"{self.mirror_url}/{self.module}/@v/{version}.zip"
        try:
            response = self.client.get(url)
            answer = f"{response.status_code} {response.content[:200]!r}"
        except httpx.HTTPError as error:
            answer = f"{type(error).__name__}: {error}"
        return (
            f"no recovery: the faults cleared, but {url} is not served: {answer}\n"
            f"connections of this run:\n{self.example.log}"
        )

    def _zip_path(self, version: str) -> str:
        return f"/{self.module}/@v/{version}.zip"


def run_mirror_machine(
    network: Network,
    store: ModuleStore,
    mirror_url: str,
    *,
    upstream: str,
    machine: type[MirrorMachine] = MirrorMachine,
    settings: settings | None = None,
) -> None:
    """Run ``machine`` against the mirror at ``mirror_url``, which caches ``upstream``
    (a GOPROXY host on ``network`` serving ``store``); raise what hypothesis found."""
    if upstream not in network.hosts:
        raise ValueError(
            f"upstream={upstream!r} is not a host of the network "
            f"({', '.join(network.hosts) or 'none yet'}): add it with "
            f"{network.name}.add_goproxy({upstream!r}, store) and point the mirror at it"
        )

    def start() -> RuleBasedStateMachine:
        return machine(network, store, mirror_url, upstream=upstream)

    run_state_machine_as_test(start, settings=settings or DEFAULT_SETTINGS)  # type: ignore[arg-type]  # a factory is documented


def _filler(module: str, version: str) -> bytes:
    """Go source that does not compress below BODY_REACH, different for every version."""
    digest = hashlib.sha256(f"{module}@{version}".encode()).hexdigest()
    lines = [f"// {hashlib.sha256(f'{digest}{i}'.encode()).hexdigest()}" for i in range(16)]
    return ("package m\n\n" + "\n".join(lines) + "\n").encode()
