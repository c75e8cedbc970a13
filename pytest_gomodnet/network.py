"""The private internet a test builds: virtual hosts behind one Router.

::

    code under test ──(HTTPS_PROXY / proxy=)──▶ Router ──in process──▶ VirtualHosts.dispatch
                                              (TLS per host,          (GoProxy, GoImportHost,
                                               faults per host)        handlers, by Host)
                                                 └─────────────────▶ any upstream you add

The virtual hosts have no socket of their own: the Router calls their
handlers directly, in worker threads (or on its own thread, for the plugin's
handlers, which never block): one hop per request.

A :class:`Backbone` holds the expensive, long-lived parts (the virtual hosts,
the Router, the certificate chains already issued) and lives for the whole
pytest session. A :class:`Network` is one test's view of it: it routes host
names, sets faults, and hands out clients and go environments; closing it
resets the backbone for the next test, so building a network of three TLS
hosts costs a few dictionary updates, not three server start-ups.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ._served import Served
from ._wire_bytes import fetch_response_bytes
from .errors import ErrorSink, raise_errors
from .faultproxy import Router
from .framing import FRAMINGS
from .githost import GitHost
from .goimport import GoImportHost
from .goproxy import GoProxy
from .origin import Handler, VirtualHosts
from .per_example import ConnectionLog, Example
from .strategies._aimed import AimedFault, aimed_faults
from .strategies._faults import DEFAULT_MAX_SECONDS
from .sumdb import SumDB
from .tls import GomodnetCA, Shape

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from .faults import FaultPlan
    from .framing import Framing
    from .goproxy import ModuleStore

__all__ = ["Backbone", "Network"]

#: The upstream URL of a virtual host: the Router calls its app, never this address.
_IN_PROCESS = "http://127.0.0.1:0"
# Seconds an httpx client from Network.client() waits for any one step.
CLIENT_TIMEOUT = 10.0


class Backbone:
    """The session-long parts of the private internet.

    Has the virtual hosts (:class:`VirtualHosts`, no socket), a Router and a
    cache of server TLS contexts keyed by (host, shape). Use it as a context
    manager; :meth:`network` opens a Network over it. Every handler and server
    thread puts its errors in one sink, :attr:`errors`, so one drain finds them all.
    """

    def __init__(self, ca: GomodnetCA, directory: Path) -> None:
        self.ca = ca
        self.directory = directory
        self.errors = ErrorSink()
        self.origin = VirtualHosts(errors=self.errors)
        self.router = Router(name="gomodnet-session-router", errors=self.errors)
        self._contexts: dict[tuple[str, str], tuple[ssl.SSLContext, str]] = {}
        self._keylog: Path | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Backbone:
        self._stack.enter_context(self.router)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def server_context(self, host: str, shape: Shape) -> tuple[ssl.SSLContext, str]:
        """The TLS context that serves ``host`` with a chain of ``shape``, and its description."""
        key = (host.lower(), str(shape))
        if key not in self._contexts:
            chain = self.ca.chain(host, shape=shape, directory=self.directory / "chains")
            context = chain.server_context()
            context.keylog_filename = self._keylog  # type: ignore[assignment]
            self._contexts[key] = (context, chain.description)
        return self._contexts[key]

    def log_keys(self, path: Path | None) -> None:
        """Write the TLS secrets of every connection the Router terminates to ``path``
        (the ``SSLKEYLOGFILE`` format, which decrypts a capture), or stop (None)."""
        self._keylog = path
        for context, _ in self._contexts.values():
            context.keylog_filename = path  # type: ignore[assignment]

    def network(self, *, name: str = "net") -> Network:
        """A Network over this backbone; ``name`` is what code pasted back from its
        reports calls it (the plugin's fixture: ``gomodnet``)."""
        return Network(self, name=name)

    def reset(self) -> None:
        """Forget every route, fault, error and log entry, ready for the next test."""
        self.origin.clear_routes()
        self.router.reset()
        self.errors.drain()


class Network:
    """One test's private internet. Get it from the ``gomodnet`` fixture.

    Every host added here is reachable by name through :attr:`router_url`
    (``HTTPS_PROXY`` for the go command, ``proxy=`` for httpx), serves TLS
    with its own chain shape, and trusts :attr:`ca_bundle`'s root.
    """

    def __init__(self, backbone: Backbone, *, name: str = "net") -> None:
        self._backbone = backbone
        self.name = name
        """What the pasted-back code calls this network: ``gomodnet.fault(...)``."""
        self._examples: list[Example] = []
        self._clients: list[httpx.Client] = []
        self._goproxy_hosts: list[str] = []
        self._closing = ExitStack()
        self._goproxies: dict[str, GoProxy] = {}
        """The GOPROXY serving each host (lower-cased): the stores a checksum database logs."""
        self._sumdbs: list[tuple[str, SumDB]] = []
        """Every checksum database added, in order; a host added again is served by its last."""
        self.hosts: dict[str, str] = {}
        """Host name → one-line description of what serves it and with which chain."""
        self.faults: list[str] = []
        """Every ``fault(...)`` call of this test, as code that can be pasted back."""
        self.served: dict[str, Served] = {}
        """Host name → what serves it, as data: what a replay file keeps (``_replay_file``)."""

    # -- context manager ---------------------------------------------------

    @classmethod
    @contextmanager
    def standalone(cls, *, directory: Path | None = None) -> Iterator[Network]:
        """A Network with its own CA, virtual hosts and Router, for use outside pytest.

        Slower to set up than the fixture (it starts two servers), but the
        same object: ``with Network.standalone() as net: ...``.
        """
        with ExitStack() as stack:
            if directory is None:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="gomodnet-"))
                directory = Path(tmp)
            ca = GomodnetCA(directory / "ca")
            backbone = stack.enter_context(Backbone(ca, directory))
            with backbone.network() as network:
                yield network

    def __enter__(self) -> Network:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(check_faults=exc_type is None)

    def close(self, *, check_faults: bool = True) -> None:
        """Close clients and reset the backbone; then raise every server-side error of the
        test (one ServerError), else, with ``check_faults``, UnfiredFaultError if an armed
        fault never fired."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        backbone = self._backbone
        try:
            unfired = self._unfired() if check_faults else None
            errors = backbone.errors.drain()
        finally:
            backbone.reset()
            self._closing.close()
        raise_errors(errors, unfired)

    def _unfired(self) -> str | None:
        """The Router's report of faults that never fired, and each database's."""
        router = self._backbone.router.unfired(f"{self.name}.")
        reports = [router, *(db.unfired() for _, db in self._sumdbs)]
        return "\n".join(r for r in reports if r) or None

    # -- building the network ----------------------------------------------

    def add_goproxy(
        self,
        host: str,
        store: ModuleStore,
        *,
        shape: Shape = "complete",
        missing_status: int = 404,
        replace: bool = False,
        framing: Framing | None = None,
    ) -> GoProxy:
        """Serve ``store`` over the GOPROXY protocol at ``https://host``.

        ``missing_status`` (404 or 410) is what a missing module or version gets.
        A host already served is an error unless ``replace=True`` (every ``add_*``).
        ``framing`` (``"content-length"``, ``"chunked"`` or ``"close"``) frames every
        answer; by default each keeps the Content-Length the proxy gives it.
        """
        self._claim(host, replace=replace)
        proxy = GoProxy(store, missing_status=missing_status)
        self._serve(host, proxy.handle, shape, what="GOPROXY", blocks=False, framing=framing)
        self.served[host] = Served("goproxy", str(shape), framing, proxy)
        if host not in self._goproxy_hosts:
            self._goproxy_hosts.append(host)
        self._goproxies[host.lower()] = proxy
        return proxy

    def add_sumdb(
        self,
        host: str,
        *,
        shape: Shape = "complete",
        replace: bool = False,
        framing: Framing | None = None,
    ) -> SumDB:
        """Serve a checksum database named ``host`` at ``https://host``; ``go_env`` turns it on.

        Its records are every module version in the stores of this network's
        GOPROXY hosts (those added later too), logged when first asked for.
        """
        self._claim(host, replace=replace)
        sumdb = SumDB(host, stores=lambda: [proxy.store for proxy in self._goproxies.values()])
        self._serve(
            host, sumdb.handle, shape, what="checksum database", blocks=False, framing=framing
        )
        self.served[host] = Served("sumdb", str(shape), framing, sumdb)
        self._sumdbs.append((host, sumdb))
        return sumdb

    def add_goimport(
        self,
        host: str,
        *,
        shape: Shape = "complete",
        replace: bool = False,
        framing: Framing | None = None,
    ) -> GoImportHost:
        """Answer ``?go-get=1`` discovery at ``https://host``; add prefixes to the result.

        ``login.<host>`` is served too, with the same chain shape: the
        ``redirect-other-host`` variant sends clients to its login page there.
        The result takes only prefixes on ``host``: go asks no other host for them.
        """
        self._claim(host, f"login.{host}", replace=replace)
        goimport = GoImportHost(host=host)
        self._serve(
            host, goimport.handle, shape, what="go-import host", blocks=False, framing=framing
        )
        self._serve(
            f"login.{host}", goimport.handle, shape, what=f"login pages of {host}", blocks=False
        )
        self.served[host] = Served("goimport", str(shape), framing, goimport)
        self.served[f"login.{host}"] = Served("login", str(shape), None)
        return goimport

    def add_git(
        self,
        host: str,
        *,
        shape: Shape = "complete",
        replace: bool = False,
        framing: Framing | None = None,
    ) -> GitHost:
        """Serve bare git repositories at ``https://host`` with ``git http-backend``.

        Make them with ``GitHost.create(name)``; name ``repo.url`` in a
        go-import tag (``vcs="git"``). The repositories live in a directory
        of this network, removed when the test ends. By default an answer of
        up to 1 MiB has a Content-Length and a longer pack is close-delimited;
        ``framing`` frames every answer alike.
        """
        self._claim(host, replace=replace)
        root = self._closing.enter_context(
            tempfile.TemporaryDirectory(prefix="git-", dir=self._backbone.directory)
        )
        git = self._closing.enter_context(GitHost(Path(root), host=host))
        self._serve(host, git.handle, shape, what="git http-backend", framing=framing)
        self.served[host] = Served("git", str(shape), framing)
        return git

    def add_handler(
        self,
        host: str,
        handler: Handler,
        *,
        shape: Shape = "complete",
        replace: bool = False,
        framing: Framing | None = None,
    ) -> None:
        """Serve ``host`` with any werkzeug handler (``Request -> Response``).

        By default a response keeps its Content-Length, and one without (a
        generator body) is close-delimited; ``framing`` frames every one alike.
        """
        self._claim(host, replace=replace)
        what = f"handler {getattr(handler, '__name__', handler)!r}"
        self._serve(host, handler, shape, what=what, framing=framing)
        self.served[host] = Served("handler", str(shape), framing, what)

    def add_host(
        self,
        host: str,
        upstream_url: str,
        *,
        shape: Shape = "complete",
        replace: bool = False,
        framing: Framing | None = None,
    ) -> None:
        """Route ``host`` to a server of your own.

        An ``http://`` upstream gets TLS from the Router with a chain of
        ``shape``; an ``https://`` upstream is relayed byte for byte and
        presents its own certificates (faults then count TLS bytes, and
        ``framing`` cannot apply).
        """
        self._claim(host, replace=replace)
        scheme = urlsplit(upstream_url).scheme
        if scheme == "https":
            if framing is not None:
                raise ValueError(
                    f"framing={framing!r}: the Router relays {upstream_url}'s TLS untouched "
                    "and cannot re-frame it; give an http:// upstream to frame its responses"
                )
            self._backbone.router.add_host(host, upstream_url, tls=None)
            self.hosts[host] = f"{host}: relayed to {upstream_url} (its own TLS)"
            self.served[host] = Served("relayed", str(shape), None, upstream_url)
        elif scheme == "http":
            context, description = self._backbone.server_context(host, shape)
            self._backbone.router.add_host(host, upstream_url, tls=context, framing=framing)
            self.hosts[host] = f"{host}: {upstream_url} behind {description}{_framed(framing)}"
            self.served[host] = Served("upstream", str(shape), framing, upstream_url)
        else:
            raise ValueError(f"upstream_url {upstream_url!r} must start with http:// or https://")

    def _claim(self, *hosts: str, replace: bool) -> None:
        """Refuse to serve a host twice by accident: the first server would vanish unseen."""
        for host in hosts:
            served = [name for name in self.hosts if name.lower() == host.lower()]
            if served and not replace:
                raise ValueError(
                    f"{host} is already served ({self.hosts[served[0]]}): one server per "
                    "host; add what you need to that server, or pass replace=True to swap it"
                )
            for name in served:
                del self.hosts[name]
                self.served.pop(name, None)

    def _serve(
        self,
        host: str,
        handler: Handler,
        shape: Shape,
        *,
        what: str,
        blocks: bool = True,
        framing: Framing | None = None,
    ) -> None:
        context, description = self._backbone.server_context(host, shape)
        origin = self._backbone.origin
        origin.route(host, handler)
        # The Router calls the origin's dispatch in process: one hop, not two; and on
        # its own thread for the plugin's handlers, which never block (a test's may).
        self._backbone.router.add_host(
            host, _IN_PROCESS, tls=context, app=origin.dispatch, inline=not blocks, framing=framing
        )
        self.hosts[host] = f"{host}: {what} — {description}{_framed(framing)}"

    def fault(
        self,
        host: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
    ) -> None:
        """Apply ``plans`` in order to the exchanges with ``host`` (and ``path``, a glob over
        the request path without its query, such as ``*.zip``).

        Every plan must fire before the test ends, or its teardown fails with
        UnfiredFaultError naming it and the requests the host saw;
        ``must_fire=False`` (or ``n``: only the first n) is the opt-out.
        """
        self._backbone.router.fault(host, *plans, path=path, must_fire=must_fire)
        args = ", ".join([repr(host), *map(repr, plans)] + ([f"path={path!r}"] if path else []))
        self._calls().append(f"fault({args})")

    def frame(self, host: str, framing: Framing | None, *, path: str | None = None) -> None:
        """Frame ``host``'s responses (for ``path``, a glob, if given) as ``framing``.

        ``"content-length"``, ``"chunked"`` or ``"close"`` (close-delimited: no
        length, ``Connection: close``, so a cut body looks complete). Fault
        offsets count the framed bytes. None takes a path's framing back off.
        """
        self._backbone.router.frame(host, framing, path=path)
        args = ", ".join([repr(host), repr(framing)] + ([f"path={path!r}"] if path else []))
        self._calls().append(f"frame({args})")

    # -- pointing code under test at it -------------------------------------

    @property
    def router_url(self) -> str:
        return self._backbone.router.url

    def direct_url(self, host: str, *, tls: bool = True) -> str:
        """``https://127.0.0.1:PORT`` (or ``http://``) serving ``host`` without the Router.

        For code that cannot use a forward proxy: what it sends there is served
        as if it had come through the Router (``host``'s chain, faults and log
        entries), whatever Host header and SNI it names. The port lasts for the
        session, across tests (see :meth:`Router.listen`).
        """
        port = self._backbone.router.listen(host, tls=tls)
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    @property
    def ca_bundle(self) -> Path:
        return Path(self._backbone.ca.ca_bundle)

    @property
    def log(self) -> ConnectionLog:
        """Every connection through the Router, in order (see faultproxy); it prints as text."""
        return ConnectionLog(self._backbone.router.log)

    def format_log(self) -> str:
        return self._backbone.router.format_log()

    # -- one hypothesis example at a time ------------------------------------

    @contextmanager
    def example(self) -> Iterator[Example]:
        """One hypothesis example's own network: a clean fault queue and its own log.

        Faults armed inside must fire inside, or the example fails with
        UnfiredFaultError (so hypothesis shrinks it like any failure); faults
        armed before wait until it ends. ``.log`` holds only this example's
        connections, and a failing test's report shows the last example alone:
        the failing, shrunk one, which hypothesis runs last. Framing set with
        :meth:`frame` lasts past the example: set it in every one.
        """
        if self._examples and self._examples[-1].open:
            raise RuntimeError(
                f"{self.name}.example() is already open: one example at a time, not nested"
            )
        example = Example(len(self._examples) + 1, lambda: self._backbone.router.log)
        self._examples.append(example)
        router = self._backbone.router
        try:
            with router.fault_scope():
                yield example
                unfired = router.unfired(f"{self.name}.")
        finally:
            example.close()
        raise_errors([], unfired)

    def _calls(self) -> list[str]:
        """Where a fault() or frame() call is kept: the open example's list, else the test's."""
        examples = self._examples
        return examples[-1].faults if examples and examples[-1].open else self.faults

    def story(self) -> str:
        """Hosts, faults and the connection log (of the last example, if the test ran
        examples): what a failing test's report shows."""
        hosts = [f"  {d}" for d in self.hosts.values()] or ["  (none)"]
        lines = ["hosts:", *hosts, "faults:", *self._code(self.faults)]
        if not self._examples:
            return "\n".join([*lines, "connections:", self.format_log() or "(none)"])
        last = self._examples[-1]
        earlier = f"; {last.number - 1} earlier not shown" if last.number > 1 else ""
        lines += [
            f"example {last.number}, the last (hypothesis runs the failing one last){earlier}:",
            "faults:",
            *self._code(last.faults),
            "connections:",
            str(last.log),
        ]
        return "\n".join(lines)

    def failing_view(self) -> tuple[list[str], ConnectionLog]:
        """The test's ``fault(...)``/``frame(...)`` calls as code, then its last hypothesis
        example's (the failing one), and that example's log (else the test's): a replay's."""
        if not self._examples:
            return list(self.faults), self.log
        return [*self.faults, *self._examples[-1].faults], self._examples[-1].log

    def _code(self, calls: list[str]) -> list[str]:
        return [f"  {self.name}.{call}" for call in calls] or ["  (none)"]

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx.Client that goes through the Router and trusts the network's root."""
        verify = ssl.create_default_context(cafile=str(self.ca_bundle))
        kwargs.setdefault("timeout", CLIENT_TIMEOUT)
        client = httpx.Client(proxy=self.router_url, verify=verify, **kwargs)
        self._clients.append(client)
        return client

    def response_bytes(self, url: str, *, framing: Framing | None = None) -> bytes:
        """The exact bytes a client receives for ``GET url`` (status line first), no faults.

        What :func:`pytest_gomodnet.strategies.truncation_points` needs to aim
        offsets at this response's real boundaries. With ``framing``, the bytes
        as served in that framing (the host's own framing is put back after).
        The request goes through the Router like any other (and shows in :attr:`log`).
        """
        router = self._backbone.router
        if framing is None:
            return fetch_response_bytes(router.port, self.ca_bundle, url)
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        previous = router.frame(host, framing, path=path)
        try:
            return fetch_response_bytes(router.port, self.ca_bundle, url)
        finally:
            router.frame(host, previous, path=path)

    def aimed_faults(
        self,
        url: str,
        *,
        kinds: Sequence[type] | None = None,
        slow: bool = False,
        framings: Sequence[Framing] = FRAMINGS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> SearchStrategy[AimedFault]:
        """A hypothesis strategy of faults for ``url``: a framing and a plan whose offsets
        land in that response; ``.arm()`` one in each example (see
        :func:`pytest_gomodnet.strategies.aimed_faults`)."""
        return aimed_faults(
            self, url, kinds=kinds, slow=slow, framings=framings, max_seconds=max_seconds
        )

    def _gosumdb(self) -> str:
        """GOSUMDB for the first database host added (served by its latest database), or off."""
        if not self._sumdbs:
            return "off"
        host = self._sumdbs[0][0]
        current = [sumdb for h, sumdb in self._sumdbs if h.lower() == host.lower()][-1]
        return f"{current.key} https://{host}"

    def go_env(self, *, direct: bool = False, **overrides: str) -> dict[str, str]:
        """The environment that points the real go command (and the git it runs) here.

        GOPROXY is the first GOPROXY host added (``https://host``), or
        ``off``; ``direct=True`` makes it ``direct`` (go-import discovery,
        then git or a ``mod`` root). GOSUMDB is the first checksum database
        added (``"<key> https://host"``), or ``off``.
        git trusts the network's root alone (``GIT_SSL_CAINFO``: it does not
        read SSL_CERT_FILE) and reads no system or global config. Pass
        GOINSECURE, GOPRIVATE, GONOSUMDB … as keyword arguments.
        """
        goproxy = ",".join(f"https://{h}" for h in self._goproxy_hosts[:1]) or "off"
        if direct:
            goproxy = "direct"
        env = {
            "HTTPS_PROXY": self.router_url,
            "HTTP_PROXY": self.router_url,
            "NO_PROXY": "",
            "SSL_CERT_FILE": str(self.ca_bundle),
            "GOPROXY": goproxy,
            "GOSUMDB": self._gosumdb(),
        }
        env.update(self._git_env())
        env.update(overrides)
        return env

    def _git_env(self) -> dict[str, str]:
        """What the git that go runs needs: the network's root as its only trust (git reads
        GIT_SSL_CAINFO, not SSL_CERT_FILE; an empty GIT_SSL_CAPATH spares each git process
        loading the system's hundreds of roots), no system or global config, no prompt."""
        no_roots = self._backbone.directory / "git-no-roots"
        no_roots.mkdir(exist_ok=True)
        return {
            "GIT_SSL_CAINFO": str(self.ca_bundle),
            "GIT_SSL_CAPATH": str(no_roots),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }


def _framed(framing: Framing | None) -> str:
    return f", framed {framing}" if framing else ""
