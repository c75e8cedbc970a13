"""ClientReader: a client's request heads read a block at a time, with what a block
brings past its head kept for the next read; fed by hand, as its protocol feeds it."""

from __future__ import annotations

import asyncio

import pytest

from pytest_gomodnet._limits import MAX_HEAD
from pytest_gomodnet._readers import ClientReader, request_target
from pytest_gomodnet._refusals import BadRequest

HEAD = b"POST http://a.test/x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n"
NEXT = b"GET http://a.test/y HTTP/1.1\r\nHost: a.test\r\n\r\n"


def _run(coroutine_of, *pieces: bytes, eof: bool = False):
    """Run ``coroutine_of(reader)`` with ``pieces`` fed one per loop turn."""

    async def main():
        reader = ClientReader(limit=MAX_HEAD)

        async def feed() -> None:
            for piece in pieces:
                await asyncio.sleep(0)
                reader.feed_data(piece)
            if eof:
                reader.feed_eof()

        feeding = asyncio.ensure_future(feed())
        try:
            return await asyncio.wait_for(coroutine_of(reader), 2)
        finally:
            await feeding

    return asyncio.run(main())


async def _heads_and_body(reader: ClientReader) -> list[bytes | None]:
    first = await reader.read_head(1)
    body = await reader.readexactly(5)
    return [first, body, await reader.read_head(1), await reader.read_head(1)]


def test_a_head_in_one_block_keeps_the_body_and_the_next_request_for_later_reads() -> None:
    read = _run(_heads_and_body, HEAD + b"hello" + NEXT, eof=True)
    assert read == [HEAD, b"hello", NEXT, None]


def test_a_head_split_inside_its_blank_line_is_read_whole() -> None:
    whole = HEAD + b"hello" + NEXT
    pieces = [whole[:5], whole[5 : len(HEAD) - 3], whole[len(HEAD) - 3 : len(HEAD) - 1]]
    pieces += [whole[len(HEAD) - 1 :]]
    assert _run(_heads_and_body, *pieces, eof=True) == [HEAD, b"hello", NEXT, None]


def test_read_returns_kept_bytes_before_the_stream_and_readexactly_joins_both() -> None:
    async def reads(reader: ClientReader) -> list[bytes]:
        await reader.read_head(1)
        return [await reader.read(2), await reader.readexactly(5), await reader.read()]

    assert _run(reads, HEAD + b"hello", b"world!", eof=True) == [b"he", b"llowo", b"rld!"]


def test_readexactly_short_of_its_count_names_every_byte_it_had() -> None:
    async def short(reader: ClientReader) -> bytes:
        await reader.read_head(1)
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await reader.readexactly(10)
        assert (info.value.expected, info.value.partial) == (10, b"hello!")
        return info.value.partial

    assert _run(short, HEAD + b"hel", b"lo!", eof=True) == b"hello!"


def test_readuntil_refuses_while_bytes_are_kept() -> None:
    async def search(reader: ClientReader) -> None:
        await reader.read_head(1)
        await reader.readuntil(b"\n")

    with pytest.raises(NotImplementedError, match="searched by read_head"):
        _run(search, HEAD + b"hello")


def test_a_bare_lf_is_refused_before_the_head_ends() -> None:
    """Line 2 ends in a bare LF and no blank line follows: no wait for one."""
    with pytest.raises(BadRequest) as info:
        _run(lambda reader: reader.read_head(60), b"GET http://a.test/ HTTP/1.1\r\nHost: a\n")
    assert str(info.value) == (
        "line 2 of the request head ends in a bare LF (HTTP/1.1 ends every line with CRLF)"
    )


@pytest.mark.parametrize(
    ("head", "line"),
    [(b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 2), (b"GET /\x00 HTTP/1.1\r\n\r\n", 1)],
)
def test_a_lone_cr_or_a_nul_is_refused_naming_its_line(head: bytes, line: int) -> None:
    with pytest.raises(BadRequest) as info:
        _run(lambda reader: reader.read_head(1), head)
    assert str(info.value) == f"a NUL or a lone CR in line {line} of the request head"


def test_a_head_over_the_limit_is_refused_without_its_blank_line() -> None:
    with pytest.raises(BadRequest, match=rf"^request head longer than {MAX_HEAD} bytes$"):
        _run(lambda reader: reader.read_head(1), b"GET /" + b"a" * MAX_HEAD)


def test_a_head_over_the_limit_is_refused_with_its_blank_line() -> None:
    long = b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n"
    with pytest.raises(BadRequest, match=rf"^request head longer than {MAX_HEAD} bytes$"):
        _run(lambda reader: reader.read_head(1), long)


def test_an_eof_mid_head_is_an_incomplete_read_with_what_came() -> None:
    with pytest.raises(asyncio.IncompleteReadError) as info:
        _run(lambda reader: reader.read_head(1), b"GET / HTTP/1.1\r\n", eof=True)
    assert info.value.partial == b"GET / HTTP/1.1\r\n"


def test_a_blank_first_line_is_a_head_of_its_own() -> None:
    """As the line-by-line reading had it: the request line's check then refuses it."""
    assert _run(_heads_and_body, b"\r\nhello" + NEXT, eof=True) == [b"\r\n", b"hello", NEXT, None]


def test_a_head_that_does_not_end_runs_into_the_deadline() -> None:
    with pytest.raises(TimeoutError):
        _run(lambda reader: reader.read_head(0.05), b"GET / HTTP/1.1\r\n")


@pytest.mark.parametrize("code", range(256))
def test_a_target_is_refused_for_a_control_character_a_space_or_del_alone(code: int) -> None:
    target = f"http://a.test/x{chr(code)}y"
    head = f"GET {target} HTTP/1.1\r\n\r\n".encode("latin-1")
    if code == 0x20:  # a fourth part of the request line
        with pytest.raises(BadRequest, match=r"^malformed request line "):
            request_target(head)
    elif code < 0x20 or code == 0x7F:
        with pytest.raises(BadRequest, match=r"^a control character in the request target "):
            request_target(head)
    else:
        assert request_target(head) == ("GET", target)
