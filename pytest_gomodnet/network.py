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

import functools
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from ._limits import MAX_REQUEST_BODY
from ._network_faults import NetworkFaults
from ._served import Served
from .errors import ErrorSink, raise_errors
from .faultproxy import Router
from .githost import GitHost
from .goimport import GoImportHost
from .goproxy import GoProxy
from .origin import Handler, VirtualHosts
from .per_example import Example
from .sumdb import SumDB
from .tls import GomodnetCA, Shape

if TYPE_CHECKING:
    from .framing import Framing
    from .goproxy import ModuleStore

__all__ = ["Backbone", "Network"]

#: The upstream URL of a virtual host: the Router calls its app, never this address.
_IN_PROCESS = "http://127.0.0.1:0"


class Backbone:
    """The session-long parts of the private internet.

    Has the virtual hosts (:class:`VirtualHosts`, no socket), a Router and a
    cache of server TLS contexts keyed by (host, shape). Use it as a context
    manager; :meth:`network` opens a Network over it. Every handler and server
    thread puts its errors in one sink, :attr:`errors`, so one drain finds them all.
    """

    def __init__(
        self, ca: GomodnetCA, directory: Path, *, max_request_body: int = MAX_REQUEST_BODY
    ) -> None:
        self.ca = ca
        self.directory = directory
        self.errors = ErrorSink()
        self.origin = VirtualHosts(errors=self.errors)
        self.router = Router(
            name="gomodnet-session-router", errors=self.errors, max_request_body=max_request_body
        )
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

    @functools.cached_property
    def no_roots(self) -> Path:
        """An empty directory of CA certificates: GIT_SSL_CAPATH, so that each git process
        skips loading the system's hundreds of roots (made once a session)."""
        directory = self.directory / "git-no-roots"
        directory.mkdir(exist_ok=True)
        return directory

    def network(self, *, name: str = "net") -> Network:
        """A Network over this backbone; ``name`` is what code pasted back from its
        reports calls it (the plugin's fixture: ``gomodnet``)."""
        return Network(self, name=name)

    def reset(self) -> None:
        """Forget every route, fault, error and log entry, ready for the next test."""
        self.router.reset()  # first: no connection of the test is served from here on
        self.origin.clear_routes()
        self.errors.drain()


class Network(NetworkFaults):
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
    def standalone(cls, *, directory: Path | None = None) -> AbstractContextManager[Network]:
        """A Network with its own CA, virtual hosts and Router, for use outside pytest.

        Slower to set up than the fixture (it starts two servers), but the
        same object: ``with Network.standalone() as net: ...``.
        """
        return _standalone(directory)

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


@contextmanager
def _standalone(directory: Path | None) -> Iterator[Network]:
    with ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gomodnet-")))
        backbone = stack.enter_context(Backbone(GomodnetCA(directory / "ca"), directory))
        with backbone.network() as network:
            yield network


def _framed(framing: Framing | None) -> str:
    return f", framed {framing}" if framing else ""
