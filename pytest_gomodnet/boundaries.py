"""Where a response can end: the offsets in its exact bytes where clients tend to break.

The status line, the end of the head, chunk-size lines, the end of a Content-Length
body, the edges of the HTTP/2 DATA frames that carry it, a zip's local headers, central
directory and end record. Fault plans cut at these offsets, and
:func:`pytest_gomodnet.strategies.truncation_points` leans on them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis.errors import InvalidArgument

from ._http import header

__all__ = [
    "H2_FRAME_SIZE",
    "H2_INITIAL_WINDOW",
    "Boundary",
    "h2_frame_edges",
    "response_boundaries",
]

#: The DATA frame size every HTTP/2 client starts with (SETTINGS_MAX_FRAME_SIZE's
#: default, RFC 9113 6.5.2): the private network's hosts send the body in frames of it.
H2_FRAME_SIZE = 16_384
#: The flow-control window every HTTP/2 stream starts with: a client that keeps it
#: (httpx does; go opens 4 MiB) gets a short frame at this body offset, then a pause.
H2_INITIAL_WINDOW = 65_535
#: How many DATA frames from the start of the body get their edges: past the first
#: window, every client has sent its WINDOW_UPDATEs and the edges are all alike.
_H2_EDGE_FRAMES = 4


@dataclass(frozen=True)
class Boundary:
    """An offset into a concrete response where clients tend to break.

    ``offset`` counts bytes from the first byte of the status line: a cut at
    ``offset`` delivers exactly ``response[:offset]``.
    """

    offset: int
    name: str

    def __str__(self) -> str:
        return f"{self.offset} ({self.name})"


_HEADER_END = b"\r\n\r\n"
_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD = struct.Struct("<4sHHHHIIH")
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")


@dataclass(frozen=True)
class _Body:
    """The payload of a response, and where each payload byte sits in the raw bytes.

    ``spans`` are (raw_start, payload_start, length) runs: one run for a
    plain body, one per chunk for a chunked one.
    """

    payload: bytes
    spans: tuple[tuple[int, int, int], ...]

    def raw_offset(self, payload_offset: int) -> int:
        for raw_start, payload_start, length in self.spans:
            if payload_start <= payload_offset < payload_start + length:
                return raw_start + payload_offset - payload_start
        last_raw, last_payload, last_length = self.spans[-1] if self.spans else (0, 0, 0)
        return last_raw + last_length + (payload_offset - last_payload - last_length)


def _chunked_boundaries(response: bytes, body_start: int) -> tuple[list[Boundary], _Body]:
    """Boundaries of chunked framing; stops quietly where the framing breaks."""
    found: list[Boundary] = []
    spans: list[tuple[int, int, int]] = []
    payload = bytearray()
    pos, number = body_start, 1
    while pos < len(response):
        line_end = response.find(b"\r\n", pos)
        size_match = _CHUNK_SIZE.match(response, pos)
        if line_end < 0 or size_match is None:
            break
        size = int(size_match.group(), 16)
        label = "last chunk" if size == 0 else f"chunk {number}"
        found.append(Boundary(pos, f"start of {label}-size line"))
        if line_end - pos > 1:
            found.append(Boundary(pos + 1, f"inside {label}-size line"))
        found.append(Boundary(line_end, f"end of {label}-size line, before its CRLF"))
        data_start = line_end + 2
        if size == 0:
            found.append(Boundary(data_start, "after last chunk-size line, before final CRLF"))
            break
        found.append(Boundary(data_start, f"first byte of chunk {number} data"))
        data_end = data_start + size
        found.append(Boundary(data_end - 1, f"last byte of chunk {number} data"))
        found.append(Boundary(data_end, f"end of chunk {number} data, before its CRLF"))
        spans.append((data_start, len(payload), size))
        payload += response[data_start:data_end]
        pos, number = data_end + 2, number + 1
    return found, _Body(bytes(payload), tuple(spans))


def _zip_boundaries(body: _Body) -> Iterator[Boundary]:
    """Central directory and end-of-central-directory record of a zip payload."""
    data = body.payload
    if not data.startswith(_LOCAL_HEADER_SIGNATURE):
        return
    yield Boundary(body.raw_offset(_LOCAL_HEADER_SIZE - 1), "inside the first zip local header")
    eocd = data.rfind(_EOCD_SIGNATURE, max(0, len(data) - _EOCD.size - 0xFFFF))
    if eocd < 0 or eocd + _EOCD.size > len(data):
        return
    *_, cd_size, cd_offset, _comment_length = _EOCD.unpack_from(data, eocd)
    if cd_offset + cd_size <= eocd:
        yield Boundary(body.raw_offset(cd_offset), "start of zip central directory")
        yield Boundary(body.raw_offset(cd_offset + 1), "inside zip central directory")
        yield Boundary(body.raw_offset(cd_offset + cd_size // 2), "middle of zip central directory")
    yield Boundary(body.raw_offset(eocd - 1), "last byte before zip end-of-central-directory")
    yield Boundary(body.raw_offset(eocd), "start of zip end-of-central-directory record")
    yield Boundary(body.raw_offset(eocd + 1), "inside zip end-of-central-directory signature")
    yield Boundary(
        body.raw_offset(eocd + 16), "inside zip end-of-central-directory (central directory offset)"
    )
    yield Boundary(
        body.raw_offset(eocd + _EOCD.size - 1), "last byte of zip end-of-central-directory"
    )


def h2_frame_edges(body_length: int) -> tuple[int, ...]:
    """Body offsets where an HTTP/2 DATA frame ends, within a body of ``body_length``
    bytes: each of the first frames, and the end of the first flow-control window."""
    ends = [k * H2_FRAME_SIZE for k in range(1, _H2_EDGE_FRAMES + 1)]
    return tuple(end for end in sorted({*ends, H2_INITIAL_WINDOW}) if end < body_length)


def _h2_boundaries(body_start: int, body_length: int) -> Iterator[Boundary]:
    """Both sides of each early DATA frame's edge (the HEADERS frame alone is the cut
    just after the head)."""
    edges = h2_frame_edges(body_length)
    for edge in edges:
        if edge != H2_INITIAL_WINDOW:
            frame = f"DATA frame {edge // H2_FRAME_SIZE}"
            yield Boundary(body_start + edge - 1, f"HTTP/2: one byte short of the end of {frame}")
            yield Boundary(body_start + edge, f"HTTP/2: the end of {frame}")
            yield Boundary(body_start + edge + 1, f"HTTP/2: one byte past the end of {frame}")
    if H2_INITIAL_WINDOW in edges:
        # Last, so that its name wins where it meets a frame's edge (one byte apart).
        window = "the first flow-control window"
        yield Boundary(body_start + H2_INITIAL_WINDOW - 1, f"HTTP/2: one byte short of {window}")
        yield Boundary(body_start + H2_INITIAL_WINDOW, f"HTTP/2: the end of {window}")


def _http_boundaries(response: bytes) -> Iterator[Boundary]:
    status_end = response.find(b"\r\n")
    if status_end > 0:
        version_end = response.find(b" ", 0, status_end)
        if version_end > 0:
            yield Boundary(version_end + 1, "inside the status line, before the status code")
        yield Boundary(status_end, "end of the status line, before its CRLF")
        yield Boundary(status_end + 2, "start of the first header line")
    header_end = response.find(_HEADER_END)
    if header_end < 0:
        return
    head, body_start = response[:header_end], header_end + len(_HEADER_END)
    yield Boundary(header_end - 1, "last byte of the last header line")
    yield Boundary(header_end, "just before \\r\\n\\r\\n")
    yield Boundary(header_end + 2, "inside \\r\\n\\r\\n")
    yield Boundary(body_start - 1, "last byte of \\r\\n\\r\\n")
    yield Boundary(body_start, "just after \\r\\n\\r\\n (no body byte)")
    yield Boundary(body_start + 1, "one body byte")
    encoding = header(head, b"transfer-encoding")
    if encoding is not None and encoding.lower().endswith(b"chunked"):
        chunk_bounds, body = _chunked_boundaries(response, body_start)
        yield from chunk_bounds
    else:
        body = _Body(response[body_start:], ((body_start, 0, len(response) - body_start),))
        length = header(head, b"content-length")
        if length is not None and length.isdigit():
            # Only a Content-Length response can go out over HTTP/2 (it has no chunks,
            # and no end by close): its body is then DATA frames.
            yield from _h2_boundaries(body_start, int(length))
            yield Boundary(body_start + int(length) - 1, "one byte before Content-Length")
            yield Boundary(body_start + int(length), "exactly at Content-Length")
            yield Boundary(body_start + int(length) // 2, "half of Content-Length")
    yield from _zip_boundaries(body)


def response_boundaries(response: bytes, *, include_end: bool = False) -> tuple[Boundary, ...]:
    """Every boundary of ``response`` that a cut should lean on, sorted by offset.

    Understands HTTP/1.x framing (status line, headers, ``\\r\\n\\r\\n``,
    Content-Length, chunked), the edges of the first HTTP/2 DATA frames of a
    Content-Length body (16 KiB each, and the end of the first 65,535-byte
    flow-control window: where a host that speaks HTTP/2 ends a frame), and zip
    bodies (local header, central directory, end-of-central-directory record).
    Bytes that are not HTTP still get the start, the middle and one byte before
    the end. With ``include_end`` the full length (a clean, uncut response) is a
    boundary too.
    """
    _check_response(response)
    limit = len(response) if include_end else len(response) - 1
    # Generic names first: where two boundaries share an offset, the later,
    # more specific name wins ("start of chunk 1-size line" over "just after ...").
    candidates = [
        Boundary(0, "nothing (cut before the first byte)"),
        Boundary(1, "inside the status line, after its first byte"),
        Boundary(len(response) // 2, "middle of the response"),
        Boundary(len(response) - 1, "one byte before the end"),
        Boundary(len(response), "the whole response (no cut)"),
        *_http_boundaries(response),
    ]
    by_offset = {b.offset: b for b in candidates if 0 <= b.offset <= limit}
    return tuple(by_offset[offset] for offset in sorted(by_offset))


def _check_response(response: object) -> None:
    if not isinstance(response, (bytes, bytearray, memoryview)):
        raise InvalidArgument(f"response={response!r} must be the response's bytes")
    if len(response) == 0:
        raise InvalidArgument("response=b'' has no byte to cut after; pass a non-empty response")
