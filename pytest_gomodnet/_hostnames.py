"""Host names as a certificate holds them: the one check the Router and the CA share.

Light on purpose: the socket layer checks a host name without loading trustme or
cryptography.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence

from ._gotext import go_quote
from .errors import ChainError

__all__ = ["check_host", "check_hosts"]

_LABEL_CHARS = re.compile(r"[a-z0-9-]*\Z")
_MAX_NAME = 253
_MAX_LABEL = 63


def check_hosts(hosts: Sequence[object]) -> tuple[str, ...]:
    if not hosts:
        raise ChainError("a certificate chain needs at least one host name or IP address")
    names: list[str] = []
    for host in hosts:
        name = check_host(host)
        if name not in names:
            names.append(name)
    return tuple(names)


def check_host(host: object) -> str:
    """``host`` in the form a certificate holds it, or ChainError naming the rule broken.

    A DNS name (lower-cased; ``*.`` wildcards allowed) or an IP address (compressed).
    """
    if not isinstance(host, str):
        raise ChainError(f"invalid host {host!r}: hosts must be str, not {type(host).__name__}")
    return _checked_host(str(host))


@functools.lru_cache(maxsize=4096)
def _checked_host(host: str) -> str:
    """:func:`check_host` for a str, remembered: a fuzz loop arms the same host each example."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise ChainError(
                f"invalid host {go_quote(host)}: an IP address with a zone "
                f"(%{address.scope_id}) cannot go in a certificate"
            )
        return address.compressed
    problem = _dns_name_problem(host.lower())
    if problem:
        raise ChainError(f"invalid host {go_quote(host)}: not an IP address, and {problem}")
    return host.lower()


def _dns_name_problem(name: str) -> str | None:
    """Why ``name`` (lower case) is not a DNS name a certificate can hold, or None."""
    if not name:
        return "a DNS name cannot be empty"
    if not name.isascii():
        return "a DNS name must be ASCII (write an internationalised name as its xn-- A-label)"
    if len(name) > _MAX_NAME:
        return f"a DNS name is at most {_MAX_NAME} characters, this one has {len(name)}"
    labels = name.split(".")
    for index, label in enumerate(labels):
        if label == "*" and index == 0 and len(labels) > 1:
            continue  # a wildcard certificate: *.example.test
        if not label:
            return "a DNS name has no empty labels (no leading, trailing or double dot)"
        if len(label) > _MAX_LABEL:
            return f"DNS label {go_quote(label)} is longer than {_MAX_LABEL} characters"
        if not _LABEL_CHARS.match(label):
            bad = next(c for c in label if not _LABEL_CHARS.match(c))
            return (
                f"DNS label {go_quote(label)} has {go_quote(bad)}: "
                "only letters, digits and '-' are allowed"
            )
        if label.startswith("-") or label.endswith("-"):
            return f"DNS label {go_quote(label)} starts or ends with '-'"
    if labels[-1].isdigit():
        last = go_quote(labels[-1])
        return f"its last label {last} is all digits, which reads as an IPv4 address"
    return None
