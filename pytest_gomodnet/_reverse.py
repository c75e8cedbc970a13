"""FaultProxy: the fault engine as a reverse proxy in front of one upstream URL."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from ._endings import abort_handshake, refuse, start_tls
from ._http import set_header
from ._limits import CLIENT_TIMEOUT, MAX_REQUEST_BODY
from ._proxy import Proxy
from ._proxylog import Connection
from ._readers import client_spoke, read_request_head, request_target
from ._routes import Plans, Upstream, call_text
from ._writers import with_target
from .errors import ErrorSink, FaultPlanError
from .faults import FaultPlan, HandshakeAbort, Refuse
from .framing import Framing

__all__ = ["FaultProxy"]


class FaultProxy(Proxy):
    """The same fault engine as a reverse proxy in front of one upstream URL.

    For clients that take a base URL and no proxy: point them at
    :attr:`url`. Faults are set with ``fault(*plans, path=None)``, with the
    same rules as :meth:`Router.fault`. With ``tls``, it serves HTTPS:
    ``HandshakeAbort()`` closes a connection before its handshake.
    Framing is set with ``framing=`` or ``frame(framing, path=None)``.
    """

    _thread_name = "gomodnet-faultproxy"
    _HOST = "upstream"

    def __init__(
        self,
        upstream_url: str,
        *plans: FaultPlan | None,
        path: str | None = None,
        must_fire: bool | int = True,
        tls: ssl.SSLContext | None = None,
        client_timeout: float = CLIENT_TIMEOUT,
        errors: ErrorSink | None = None,
        framing: Framing | None = None,
        max_request_body: int = MAX_REQUEST_BODY,
    ) -> None:
        super().__init__(
            client_timeout=client_timeout, errors=errors, max_request_body=max_request_body
        )
        self.upstream_url = upstream_url.rstrip("/")
        self._tls = tls
        self._framing_default = framing
        try:
            self.add_host(self._HOST, upstream_url, framing=framing)
            if plans:
                self.fault(*plans, path=path, must_fire=must_fire)
        except BaseException:
            self.close()  # the listener, loop and workers made above
            raise

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def fault(
        self, *plans: FaultPlan | None, path: str | None = None, must_fire: bool | int = True
    ) -> None:
        """Queue ``plans`` for the exchanges (and ``path``, a glob over the path the client
        asks this proxy for, without its query), replacing any; see :meth:`Router.fault`."""
        self._routes.arm(self._HOST, plans, path, must_fire, call_text(plans, path, must_fire))

    def frame(self, framing: Framing | None, *, path: str | None = None) -> None:
        """Frame the responses (those for ``path``, a glob) as ``framing``; see
        :meth:`Router.frame`."""
        self._routes.frame(self._HOST, framing, path)

    def _fresh(self) -> None:
        self.add_host(self._HOST, self.upstream_url, framing=self._framing_default)

    def _label(self) -> str:
        return f"FaultProxy {self.url} → {self.upstream_url}"

    def _check_serves(self, name: str, upstream: Upstream, plans: Plans, path: str | None) -> None:
        if self._tls is None and any(isinstance(p, HandshakeAbort) for p in plans):
            raise FaultPlanError(
                f"HandshakeAbort() closes a connection before its TLS handshake, but this "
                f"FaultProxy serves plain HTTP at {self.url}: pass tls= to serve HTTPS, or use "
                "CloseBeforeResponse()"
            )

    async def _first_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        upstream = self._routes.get(self._HOST)
        assert upstream is not None  # added in __init__ and after every reset
        conn.host, conn.mode = self.upstream_url, "reverse"
        plan = self._routes.faults.connection_plan(self._HOST)
        if plan is not None:
            # As at the Router, the fault meets a client that has asked (sent its request
            # or its ClientHello) and waits: a RST, or a FIN with nothing left unread.
            await client_spoke(reader, self._client_timeout)
        if isinstance(plan, Refuse):
            refuse(writer, conn, plan)
        if isinstance(plan, HandshakeAbort):
            abort_handshake(writer, conn, plan)
        if self._tls is not None:
            await start_tls(writer, self._tls, self._client_timeout)
        prefix = urlsplit(self.upstream_url).path
        while (head := await read_request_head(reader, self._client_timeout)) is not None:
            method, target = request_target(head)
            head = with_target(head, prefix + target)
            head = set_header(head, b"Host", f"{upstream.host}:{upstream.port}")
            await self._delivery.exchange(
                self._HOST, upstream, head, method, target, reader, writer, conn
            )
