"""Which host a request names, and the refusal when a connection meant for one host
is asked for another: one host's connection never reaches another's handler (a tunnel
to a.test asked for b.test by its Host header, its target or HTTP/2's :authority)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ._http import header
from ._refusals import BadRequest, Misdirected

__all__ = ["check_tunnelled", "host_header"]


def host_header(head: bytes) -> str | None:
    """The name a Host header gives (lower case, without a port); None without one."""
    value = header(head, b"host")
    if value is None:
        return None
    name = value.decode("latin-1").strip().lower()
    if name.startswith("["):
        return name[1:].partition("]")[0]
    return name.rpartition(":")[0] if name.count(":") == 1 else name


def check_tunnelled(head: bytes, target: str, host: str) -> None:
    """Misdirected unless the request, by its Host header and its target, names ``host``."""
    named = host_header(head)
    if "://" not in target and (named is None or named == host):
        return  # an origin-form target and its tunnel's host, as nearly every request
    names = {named}
    if "://" in target:
        try:
            names.add(urlsplit(target).hostname)
        except ValueError:
            raise BadRequest(f"malformed request target {target[:200]!r}") from None
    others = sorted(name for name in names if name is not None and name != host)
    if others:
        named = others[0]
        raise Misdirected(
            f"this tunnel serves {host}, not {named!r}: open a tunnel to {named} for it"
        )
