"""HTTP/1.1 response and request heads as bytes: the few operations the fault engine,
the proxies and the strategies share. A head runs from the start line to the blank
line, inclusive; nothing here touches a socket.
"""

from __future__ import annotations

import functools

__all__ = ["content_length", "drop_header", "header", "set_header", "status_code"]


def _lines(head: bytes) -> list[bytes]:
    return head.removesuffix(b"\r\n\r\n").split(b"\r\n")


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of the first header called ``name`` (any case), stripped; None if absent."""
    return _fields(head).get(name.lower())


@functools.lru_cache(maxsize=64)
def _fields(head: bytes) -> dict[bytes, bytes]:
    """Each header's first value by its name in lower case: one exchange asks its head for
    several headers, and a head is parsed once."""
    fields: dict[bytes, bytes] = {}
    for line in _lines(head)[1:]:
        key, sep, value = line.partition(b":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def drop_header(head: bytes, name: bytes) -> bytes:
    """``head`` without any header called ``name``."""
    wanted = name.lower()
    lines = _lines(head)
    kept = [line for line in lines[1:] if line.partition(b":")[0].strip().lower() != wanted]
    return b"\r\n".join([lines[0], *kept]) + b"\r\n\r\n"


def set_header(head: bytes, name: bytes, value: str) -> bytes:
    """``head`` with ``name: value`` as its last header, replacing any earlier one."""
    return drop_header(head, name)[:-2] + name + b": " + value.encode("latin-1") + b"\r\n\r\n"


def content_length(head: bytes) -> int | None:
    value = header(head, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def status_code(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])
