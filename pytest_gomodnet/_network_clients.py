"""A Network's client side: what points code under test (httpx, go, git) at it.

The Router's address, the root to trust, direct ports for code that cannot use
a proxy, the exact bytes of a response, and the environment of the real go
command and the git it runs.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ._limits import CLIENT_TIMEOUT
from ._wire_bytes import fetch_response_bytes

if TYPE_CHECKING:
    from .framing import Framing
    from .network import Backbone
    from .sumdb import SumDB

__all__ = ["NetworkClients"]


class NetworkClients:
    """The client side of :class:`pytest_gomodnet.network.Network` (a part of it)."""

    _backbone: Backbone
    _clients: list[httpx.Client]
    _goproxy_hosts: list[str]
    _sumdbs: list[tuple[str, SumDB]]

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
        return {
            "GIT_SSL_CAINFO": str(self.ca_bundle),
            "GIT_SSL_CAPATH": str(self._backbone.no_roots),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }
