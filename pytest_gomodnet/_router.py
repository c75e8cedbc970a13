"""The Router: a forward proxy on 127.0.0.1:0 that routes host names to local upstreams.

It accepts ``CONNECT host:443`` (what the go command sends through ``HTTPS_PROXY``)
and absolute-URI plain HTTP requests. For a host added with a TLS context it
terminates TLS itself, so faults land at exact offsets of the plaintext HTTP
response; for a host without one it relays bytes (:mod:`._tunnel`). A
:meth:`Router.listen` port serves one host to a client that cannot use a proxy.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from dataclasses import dataclass
from typing import Unpack
from urllib.parse import SplitResult, urlsplit

from ._delivery import check_protocol
from ._endings import Quit, abort_handshake, negotiated_h2, refuse, start_tls
from ._h2conn import H2Server
from ._http import set_header
from ._misdirected import check_tunnelled, host_header
from ._proxy import Proxy, ProxyOptions
from ._proxylog import Connection
from ._readers import client_spoke, drained, read_request_head, request_target
from ._refusals import BadRequest, Misdirected, UnknownHost
from ._routes import Plans, Upstream, call_text, host_name, relayed
from ._tunnel import relay
from ._writers import with_target
from .errors import FaultPlanError
from .faults import HTTP_FAULTS, FaultPlan, HandshakeAbort, NoSettingsAck, Refuse
from .framing import Framing

__all__ = ["Router"]

#: What the Router answers a CONNECT it will serve.
_CONNECTED = b"HTTP/1.1 200 Connection established\r\n\r\n"


@dataclass
class _DirectPort:
    """A :meth:`Router.listen` port: which host it serves, with or without TLS."""

    host: str
    tls: bool
    listener: socket.socket

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])


class Router(Proxy):
    """A forward proxy on 127.0.0.1:0 that routes host names to local upstreams.

    ``add_host(name, "http://127.0.0.1:PORT", tls=ctx)`` serves ``name`` with
    TLS from ``ctx`` in front of a plain-HTTP upstream (the Host header is
    kept, so one upstream can play many hosts). ``fault(name, *plans,
    path=None)`` queues plans: each exchange with that host (and path glob)
    takes the next one; ``None`` means clean. ``frame(name, framing, path=None)``
    re-frames that host's (and path glob's) responses.
    """

    _thread_name = "gomodnet-router"

    def __init__(self, **options: Unpack[ProxyOptions]) -> None:
        self._direct: dict[tuple[str, bool], _DirectPort] = {}
        super().__init__(**options)

    def fault(
        self,
        host: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
    ) -> None:
        """Queue ``plans`` for ``host`` (and ``path``, a glob over the request path without
        its query, such as ``*.zip``), replacing any.

        Each plan must be taken by a connection or an exchange before the test
        ends, or it is an error (UnfiredFaultError): ``must_fire=False`` lets
        them all stay unused, ``must_fire=n`` only the ones after the first n.
        """
        name = host_name(host)
        self._routes.arm(name, plans, path, must_fire, call_text((host, *plans), path, must_fire))

    def frame(
        self, host: str, framing: Framing | None, *, path: str | None = None
    ) -> Framing | None:
        """Frame ``host``'s responses (those for ``path``, a glob, if given) as ``framing``:
        ``"content-length"``, ``"chunked"`` or ``"close"`` (no length, ``Connection:
        close``: the end of the body is the end of the connection). Faults then count
        the framed bytes. None removes it. Returns the framing it replaces."""
        return self._routes.frame(host, framing, path)

    def http1_only(self, host: str) -> None:
        """Offer HTTP/1.1 alone on ``host`` (ALPN without ``h2``) until :meth:`reset`: every
        TLS host offers HTTP/2 too by default, as real proxies and CDNs do."""
        self._routes.http1_only(host)

    def listen(self, host: str, *, tls: bool = True) -> int:
        """A port on 127.0.0.1 that serves ``host`` to a client that cannot use a forward proxy.

        Each connection it accepts is served as if it had come through the Router:
        with ``tls``, as after ``CONNECT host:443`` (the host's chain, connection
        faults, TLS faults); without, as ``http://host/...`` requests. Either way
        the exchanges take ``host``'s fault queues and land in the same log, and
        every request reaches ``host`` whatever Host header it names. The host is
        looked up per connection, so the port outlives :meth:`reset` (a client
        configured once, such as a mirror started for a session, keeps working).
        The same arguments give the same port.
        """
        name = host_name(host)
        with self._lock:
            direct = self._direct.get((name, tls))
            start = direct is None and self._thread is not None
            if direct is None:
                direct = _DirectPort(name, tls, socket.create_server(("127.0.0.1", 0)))
                self._direct[(name, tls)] = direct
        if start:
            self._call(self._serve_direct(direct), timeout=5.0)
        return direct.port

    def direct_ports(self) -> list[tuple[int, bool]]:
        """Every :meth:`listen` port so far, each with whether it speaks TLS."""
        with self._lock:
            return [(direct.port, direct.tls) for direct in self._direct.values()]

    def _check_serves(self, name: str, upstream: Upstream, plans: Plans, path: str | None) -> None:
        if not relayed(upstream):
            return
        if path is not None:
            raise FaultPlanError(
                f"{name} is relayed byte for byte (its upstream serves its own TLS), so the "
                f"Router never sees a request path: drop path={path!r}, or add the host with "
                "an http:// upstream for the Router to terminate TLS"
            )
        for plan in plans:
            if isinstance(plan, HTTP_FAULTS):
                raise FaultPlanError(
                    f"{plan!r} rewrites HTTP, but {name} is relayed byte for byte (its upstream "
                    "serves its own TLS): add the host with an http:// upstream for HTTP faults"
                )

    # -- the direct ports -------------------------------------------------

    async def _serve_more(self) -> None:
        for direct in list(self._direct.values()):
            await self._serve_direct(direct)

    def _more_listeners(self) -> list[socket.socket]:
        return [d.listener for d in self._direct.values()]

    async def _serve_direct(self, direct: _DirectPort) -> None:
        serve = functools.partial(self._direct_client, direct.host, direct.tls)
        handler = functools.partial(self._track, serve=serve)
        await self._accepts.serve(direct.listener, handler)

    async def _direct_client(
        self,
        host: str,
        tls: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """A connection to a :meth:`listen` port: as if it had come through the Router."""
        if tls:
            await self._serve_host(host, f"{host}:443", reader, writer, conn, connected=None)
            return
        while (head := await read_request_head(reader, self._client_timeout)) is not None:
            method, target = request_target(head)
            upstream = self._routes.get(host)
            if upstream is None:
                raise UnknownHost(f"unknown host {host!r}")
            conn.host, conn.mode = host, "http"
            head = set_header(head, b"Host", host)
            await self._delivery.exchange(
                host, upstream, head, method, target, reader, writer, conn
            )

    # -- the proxy port ---------------------------------------------------

    async def _first_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        head = await read_request_head(reader, self._client_timeout)
        if head is None:
            raise Quit
        method, target = request_target(head)
        if method != "CONNECT":
            await self._plain(head, method, target, reader, writer, conn)
            return
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise BadRequest(f"malformed CONNECT target {target[:200]!r}")
        host = host.strip("[]").lower()
        if port != "443":
            raise UnknownHost(f"{host} is served on port 443 through CONNECT, not on port {port}")
        await self._serve_host(host, target, reader, writer, conn, connected=_CONNECTED)

    async def _serve_host(
        self,
        host: str,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
        *,
        connected: bytes | None,
    ) -> None:
        """Serve a tunnel to ``host``: its connection fault, then TLS and its exchanges (or a
        relay). ``connected`` is the answer to the client's CONNECT (None: a direct port,
        where the Host header is set to ``host``)."""
        upstream = self._routes.get(host)
        if upstream is None:
            if connected is not None:
                raise UnknownHost(f"unknown host {host!r}")
            raise Quit
        conn.host, conn.mode = host, "tls" if upstream.tls else "relay"
        plan = self._routes.faults.connection_plan(host)
        if isinstance(plan, Refuse):
            refuse(writer, conn, plan)
        if connected is not None:
            writer.write(connected)
            if writer.transport.get_write_buffer_size():  # else it left at once
                await drained(writer, self._client_timeout)
        if isinstance(plan, HandshakeAbort):
            await client_spoke(reader, self._client_timeout)  # its ClientHello: a FIN, no RST
            abort_handshake(writer, conn, plan)
        if upstream.tls is None:
            await relay(self._routes, upstream, target, reader, writer, conn, self._client_timeout)
            return
        self._routes.offer(host)
        await start_tls(writer, upstream.tls, self._client_timeout)
        h2 = negotiated_h2(writer)
        if isinstance(plan, NoSettingsAck):
            conn.fault = repr(plan)
            check_protocol(plan, host, h2)
        if h2:
            conn.protocol = "h2"
            server = H2Server(
                self._delivery, host, upstream, reader, writer, conn,
                set_host=connected is None, idle_timeout=self._client_timeout,
                settings_fault=plan if isinstance(plan, NoSettingsAck) else None,
            )  # fmt: skip
            await server.serve()
            return
        while (head := await read_request_head(reader, self._client_timeout)) is not None:
            method, target = request_target(head)
            if connected is None:
                head = set_header(head, b"Host", host)
            else:
                check_tunnelled(head, target, host)
            await self._delivery.exchange(
                host, upstream, head, method, target, reader, writer, conn
            )

    async def _plain(
        self,
        head: bytes,
        method: str,
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """Absolute-URI requests (``GET http://host/path``), each to the host it names."""
        while True:
            try:
                parts = urlsplit(target)
            except ValueError:
                raise BadRequest(f"malformed request target {target[:200]!r}") from None
            if not parts.scheme or not parts.hostname:
                raise BadRequest(
                    f"a proxy request needs an absolute http:// URI, not {target[:200]!r}"
                )
            host = parts.hostname.lower()
            upstream = self._routes.get(host)
            if parts.scheme != "http" or upstream is None:
                raise UnknownHost(f"unknown host {host or target!r}")
            conn.host, conn.mode = host, "http"
            _check_plain(head, parts, host)
            # A plain request opens no tunnel: a Refuse meets the connection's first request.
            plan = None if conn.exchanges else self._routes.faults.connection_plan(host, (Refuse,))
            if plan is not None:
                refuse(writer, conn, plan)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            head = with_target(head, path)
            await self._delivery.exchange(host, upstream, head, method, path, reader, writer, conn)
            next_head = await read_request_head(reader, self._client_timeout)
            if next_head is None:
                return
            head = next_head
            method, target = request_target(head)


def _check_plain(head: bytes, parts: SplitResult, host: str) -> None:
    """Misdirected if the Host header names another host than the target; UnknownHost for
    a port the host does not serve."""
    named = host_header(head)
    if named is not None and named != host:
        raise Misdirected(f"the request is for {host!r} but its Host header names {named!r}")
    if ":" not in parts.netloc.rpartition("]")[2]:
        return  # no port: urlsplit's port property would only say so, at a cost
    try:
        port = parts.port
    except ValueError:
        raise BadRequest(f"malformed port in {parts.netloc[:200]!r}") from None
    if port not in (None, 80):
        raise UnknownHost(f"{host} is served on port 80 for http://, not on port {port}")
