"""Go's encoding/xml tokenizer, the part ``RawToken`` uses with ``Strict=false``.

Python has no XML tokenizer that is lenient in Go's way, so :class:`Decoder`
re-implements the part of ``encoding/xml.Decoder`` that go's ``parseMetaGoImports``
uses with ``Strict=false`` and no entity map (go sets neither ``AutoClose`` nor
``Entity`` there): what starts a tag, unquoted and missing attribute values, the
five XML entities and character references, comments, CDATA, directives,
processing instructions with the XML declaration's version and charset checks,
UTF-8 and character-range checks on text and attribute values, and the line
numbers of its syntax errors. :class:`_Scanner` reads bytes, names and character
data; :class:`Decoder` builds tokens from them.
"""

from __future__ import annotations

from typing import Literal

from ._gotext import go_quote, in_ranges

__all__ = ["IO_EOF", "UNEXPECTED_EOF", "Decoder", "Token"]

IO_EOF = "EOF"  # io.EOF: a clean end of the body
UNEXPECTED_EOF = "unexpected EOF"  # io.ErrUnexpectedEOF: the transport cut the body

Token = tuple[Literal["start", "end", "other"], str, list[tuple[str, str]]]
_OTHER: Token = ("other", "", [])

_ENTITIES = {b"lt": b"<", b"gt": b">", b"amp": b"&", b"apos": b"'", b"quot": b'"'}
_ATTR_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-")
_NAME_BYTES = _ATTR_BYTES | {ord(".")}
_SPACE_BYTES = frozenset(b" \r\n\t")


class _Scanner:
    """Byte level: what the tokenizer reads, with go's sticky errors and line numbers.

    Errors are sticky, as in Go: once ``err`` is set every call returns None.
    ``err`` holds go's error text, or ``IO_EOF`` at a clean end.
    """

    def __init__(self, data: bytes, *, cut: bool) -> None:
        self._data = data
        self._pos = 0
        self._cut = cut
        self._to_close: str | None = None
        self.line = 1
        self.err: str | None = None

    # byte level

    def _getc(self) -> int | None:
        if self.err is not None:
            return None
        if self._pos >= len(self._data):
            self.err = UNEXPECTED_EOF if self._cut else IO_EOF
            return None
        b = self._data[self._pos]
        self._pos += 1
        if b == 0x0A:
            self.line += 1
        return b

    def _mustgetc(self) -> int | None:
        b = self._getc()
        if b is None and self.err == IO_EOF:
            self.err = self._syntax("unexpected EOF")
        return b

    def _ungetc(self, b: int) -> None:
        self._pos -= 1
        if b == 0x0A:
            self.line -= 1

    def _syntax(self, message: str) -> str:
        return f"XML syntax error on line {self.line}: {message}"

    def _fail(self, message: str) -> None:
        """Set a syntax error unless a read error is already there."""
        if self.err is None:
            self.err = self._syntax(message)

    def _space(self) -> None:
        while (b := self._getc()) is not None:
            if b not in _SPACE_BYTES:
                self._ungetc(b)
                return

    # names

    def _read_name(self, into: bytearray) -> bool:
        """Append a run of name bytes (any byte >= 0x80 counts) to ``into``."""
        b = self._mustgetc()
        if b is None:
            return False
        if b < 0x80 and b not in _NAME_BYTES:
            self._ungetc(b)
            return False
        into.append(b)
        while True:
            b = self._mustgetc()
            if b is None:
                return False
            if b < 0x80 and b not in _NAME_BYTES:
                self._ungetc(b)
                return True
            into.append(b)

    def _name(self) -> bytes | None:
        raw = bytearray()
        if not self._read_name(raw):
            return None
        if not _is_xml_name(bytes(raw)):
            self.err = self._syntax("invalid XML name: " + raw.decode("utf-8", "surrogateescape"))
            return None
        return bytes(raw)

    def _nsname(self) -> str | None:
        """The local part of ``space:local``; None (no error set) for two colons."""
        raw = self._name()
        if raw is None:
            return None
        name = raw.decode("utf-8")
        if name.count(":") > 1:
            return None
        space, colon, local = name.partition(":")
        return local if colon and space and local else name

    # character data

    def _text(self, quote: int, *, cdata: bool) -> bytes | None:
        """Text up to ``<`` (quote < 0), up to ``quote``, or up to ``]]>`` (cdata)."""
        out = bytearray()
        b0 = b1 = 0
        trunc = 0
        while True:
            b = self._getc()
            if b is None:
                if cdata:
                    if self.err == IO_EOF:
                        self.err = self._syntax("unexpected EOF in CDATA section")
                    return None
                break
            if quote < 0 and b0 == b1 == ord("]") and b == ord(">"):
                if cdata:
                    trunc = 2
                    break
                self.err = self._syntax("unescaped ]]> not in CDATA section")
                return None
            if b == ord("<") and not cdata:
                if quote >= 0:
                    self.err = self._syntax("unescaped < inside quoted string")
                    return None
                self._ungetc(b)
                break
            if quote >= 0 and b == quote:
                break
            if b == ord("&") and not cdata:
                if not self._entity(out):
                    return None
                b0 = b1 = 0
                continue
            if b == ord("\r"):
                out.append(ord("\n"))
            elif not (b1 == ord("\r") and b == ord("\n")):
                out.append(b)
            b0, b1 = b1, b
        data = bytes(out[: len(out) - trunc])
        problem = _text_problem(data)
        if problem:
            self.err = self._syntax(problem)
            return None
        return data

    def _entity(self, out: bytearray) -> bool:
        """After ``&``: append the replacement, or the raw text (non-strict). False on error."""
        before = len(out)
        out.append(ord("&"))
        b = self._mustgetc()
        if b is None:
            return False
        replacement: bytes | None = None
        if b == ord("#"):
            out.append(b)
            b = self._mustgetc()
            if b is None:
                return False
            base, digits = 10, b"0123456789"
            if b == ord("x"):
                base, digits = 16, b"0123456789abcdefABCDEF"
                out.append(b)
                b = self._mustgetc()
                if b is None:
                    return False
            start = len(out)
            while b in digits:
                out.append(b)
                b = self._mustgetc()
                if b is None:
                    return False
            if b != ord(";"):
                self._ungetc(b)
            else:
                number = bytes(out[start:])
                out.append(b)
                replacement = _char_ref(number, base)
        else:
            self._ungetc(b)
            if not self._read_name(out) and self.err is not None:
                return False
            b = self._mustgetc()
            if b is None:
                return False
            if b != ord(";"):
                self._ungetc(b)
            else:
                name = bytes(out[before + 1 :])
                out.append(b)
                if _is_xml_name(name):
                    replacement = _ENTITIES.get(name)
        if replacement is not None:
            del out[before:]
            out += replacement
        return True


class Decoder(_Scanner):
    """A byte-for-byte port of encoding/xml's RawToken behaviour (Strict=false)."""

    # tokens

    def raw_token(self) -> Token | None:
        """The next token, or None with ``err`` set."""
        if self.err is not None:
            return None
        if self._to_close is not None:
            name, self._to_close = self._to_close, None
            return ("end", name, [])
        b = self._getc()
        if b is None:
            return None
        if b != ord("<"):
            self._ungetc(b)
            return None if self._text(-1, cdata=False) is None else _OTHER
        b = self._mustgetc()
        if b == ord("/"):
            return self._end_tag()
        if b == ord("?"):
            return self._proc_inst()
        if b == ord("!"):
            return self._bang()
        if b is None:
            return None
        self._ungetc(b)
        return self._start_tag()

    def _end_tag(self) -> Token | None:
        name = self._nsname()
        if name is None:
            self._fail("expected element name after </")
            return None
        self._space()
        b = self._mustgetc()
        if b is None:
            return None
        if b != ord(">"):
            self.err = self._syntax(f"invalid characters between </{name} and >")
            return None
        return ("end", name, [])

    def _proc_inst(self) -> Token | None:
        target = self._name()
        if target is None:
            self._fail("expected target name after <?")
            return None
        self._space()
        body = bytearray()
        previous = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            body.append(b)
            if previous == ord("?") and b == ord(">"):
                break
            previous = b
        if target == b"xml":
            self._xml_declaration(bytes(body[:-2]))
        return None if self.err is not None else _OTHER

    def _xml_declaration(self, content: bytes) -> None:
        version = _proc_inst_param(b"version", content)
        if version and version != b"1.0":
            self.err = (
                f"xml: unsupported version {go_quote(version)}; only version 1.0 is supported"
            )
            return
        encoding = _proc_inst_param(b"encoding", content)
        if encoding and _go_lower(encoding) not in (b"utf-8", b"ascii"):
            # go's charsetReader passes utf-8 and ascii through and refuses the rest.
            quoted = go_quote(encoding)
            self.err = (
                f"xml: opening charset {quoted}: can't decode XML document using charset {quoted}"
            )

    def _bang(self) -> Token | None:
        b = self._mustgetc()
        if b is None:
            return None
        if b == ord("-"):
            return self._comment()
        if b == ord("["):
            for want in b"CDATA[":
                b = self._mustgetc()
                if b is None:
                    return None
                if b != want:
                    self.err = self._syntax("invalid <![ sequence")
                    return None
            return None if self._text(-1, cdata=True) is None else _OTHER
        return self._directive()  # b is the directive's first byte: nobody reads the text

    def _comment(self) -> Token | None:
        if self._mustgetc() != ord("-"):
            self._fail("invalid sequence <!- not part of <!--")
            return None
        b0 = b1 = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b0 == b1 == ord("-"):
                if b != ord(">"):
                    self.err = self._syntax('invalid sequence "--" not allowed in comments')
                    return None
                return _OTHER
            b0, b1 = b1, b

    def _directive(self) -> Token | None:
        """``<!DOCTYPE …>`` and friends: quotes and nested ``<…>`` and comments are skipped."""
        in_quote = 0
        depth = 0
        while True:
            b: int | None = self._mustgetc()
            if b is None:
                return None
            if in_quote == 0 and b == ord(">") and depth == 0:
                return _OTHER
            while True:  # go's "HandleB" label: a byte may be looked at twice
                if b == in_quote:
                    in_quote = 0
                elif in_quote:
                    pass
                elif b in (ord("'"), ord('"')):
                    in_quote = b
                elif b == ord(">"):
                    depth -= 1
                elif b == ord("<"):
                    b = self._directive_comment()
                    if self.err is not None:
                        return None
                    if b is not None:
                        depth += 1
                        continue
                break

    def _directive_comment(self) -> int | None:
        """After ``<`` in a directive: skip a ``<!--…-->``, or return the byte that broke it."""
        for want in b"!--":
            b = self._mustgetc()
            if b is None:
                return None
            if b != want:
                return b
        b0 = b1 = 0
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b0 == b1 == ord("-") and b == ord(">"):
                return None
            b0, b1 = b1, b

    def _start_tag(self) -> Token | None:
        name = self._nsname()
        if name is None:
            self._fail("expected element name after <")
            return None
        attrs: list[tuple[str, str]] = []
        while True:
            self._space()
            b = self._mustgetc()
            if b is None:
                return None
            if b == ord("/"):
                b = self._mustgetc()
                if b is None:
                    return None
                if b != ord(">"):
                    self.err = self._syntax("expected /> in element")
                    return None
                self._to_close = name
                return ("start", name, attrs)
            if b == ord(">"):
                return ("start", name, attrs)
            self._ungetc(b)
            attr = self._attribute()
            if attr is None:
                return None
            attrs.append(attr)

    def _attribute(self) -> tuple[str, str] | None:
        name = self._nsname()
        if name is None:
            self._fail("expected attribute name in element")
            return None
        self._space()
        b = self._mustgetc()
        if b is None:
            return None
        if b != ord("="):
            self._ungetc(b)  # non-strict: <option selected> means selected="selected"
            return (name, name)
        self._space()
        value = self._attr_value()
        return None if value is None else (name, value.decode("utf-8"))

    def _attr_value(self) -> bytes | None:
        b = self._mustgetc()
        if b is None:
            return None
        if b in (ord('"'), ord("'")):
            return self._text(b, cdata=False)
        self._ungetc(b)  # non-strict: an unquoted value is [A-Za-z0-9_:-]*
        value = bytearray()
        while True:
            b = self._mustgetc()
            if b is None:
                return None
            if b not in _ATTR_BYTES:
                self._ungetc(b)
                return bytes(value)
            value.append(b)


def _char_ref(number: bytes, base: int) -> bytes | None:
    """``&#N;`` / ``&#xN;``: the character, or None when go keeps the text as is."""
    if not number:
        return None
    value = int(number, base)
    if value >= 2**64 or value > 0x10FFFF:
        return None
    if 0xD800 <= value <= 0xDFFF:
        value = 0xFFFD  # Go's string(rune(surrogate))
    return chr(value).encode("utf-8")


def _text_problem(data: bytes) -> str:
    """go's check of character data: invalid UTF-8 or a character outside XML's range."""
    try:
        text, invalid = data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        text, invalid = data[: exc.start].decode("utf-8"), True
    for char in text:
        if not _in_character_range(ord(char)):
            return f"illegal character code U+{ord(char):04X}"
    return "invalid UTF-8" if invalid else ""


def _in_character_range(r: int) -> bool:
    return (
        r in (0x09, 0x0A, 0x0D)
        or 0x20 <= r <= 0xD7FF
        or 0xE000 <= r <= 0xFFFD
        or 0x10000 <= r <= 0x10FFFF
    )


def _proc_inst_param(param: bytes, content: bytes) -> bytes:
    """encoding/xml's procInst: the quoted value after the first ``param=`` that has one."""
    key = param + b"="
    i = 0
    quote = 0
    while i < len(content):
        sub = content[i:]
        k = sub.find(key)
        if k < 0 or len(key) + k >= len(sub):
            return b""
        i += len(key) + k + 1
        if sub[len(key) + k] in b"'\"":
            quote = sub[len(key) + k]
            break
    if not quote:
        return b""
    end = content.find(bytes([quote]), i)
    return b"" if end < 0 else content[i:end]


def _go_lower(value: bytes) -> bytes:
    """strings.ToLower, close enough for comparing with "utf-8" and "ascii"."""
    text = value.decode("utf-8", "surrogateescape")
    return "".join("i" if c == "\u0130" else c.lower() for c in text).encode(
        "utf-8", "surrogateescape"
    )


# XML 1.0 Appendix B, as encoding/xml's ``first`` and ``second`` tables hold it
# (non-ASCII part; measured from go 1.27 by decoding every rune in a name).
_NAME_START_RANGES = (
    "c0-d6 d8-f6 f8-131 134-13e 141-148 14a-17e 180-1c3 1cd-1f0 1f4-1f5 1fa-217 250-2a8 "
    "2bb-2c1 386 388-38a 38c 38e-3a1 3a3-3ce 3d0-3d6 3da 3dc 3de 3e0 3e2-3f3 401-40c 40e-44f "
    "451-45c 45e-481 490-4c4 4c7-4c8 4cb-4cc 4d0-4eb 4ee-4f5 4f8-4f9 531-556 559 561-586 "
    "5d0-5ea 5f0-5f2 621-63a 641-64a 671-6b7 6ba-6be 6c0-6ce 6d0-6d3 6d5 6e5-6e6 905-939 93d "
    "958-961 985-98c 98f-990 993-9a8 9aa-9b0 9b2 9b6-9b9 9dc-9dd 9df-9e1 9f0-9f1 a05-a0a "
    "a0f-a10 a13-a28 a2a-a30 a32-a33 a35-a36 a38-a39 a59-a5c a5e a72-a74 a85-a8b a8d a8f-a91 "
    "a93-aa8 aaa-ab0 ab2-ab3 ab5-ab9 abd ae0 b05-b0c b0f-b10 b13-b28 b2a-b30 b32-b33 b36-b39 "
    "b3d b5c-b5d b5f-b61 b85-b8a b8e-b90 b92-b95 b99-b9a b9c b9e-b9f ba3-ba4 ba8-baa bae-bb5 "
    "bb7-bb9 c05-c0c c0e-c10 c12-c28 c2a-c33 c35-c39 c60-c61 c85-c8c c8e-c90 c92-ca8 caa-cb3 "
    "cb5-cb9 cde ce0-ce1 d05-d0c d0e-d10 d12-d28 d2a-d39 d60-d61 e01-e2e e30 e32-e33 e40-e45 "
    "e81-e82 e84 e87-e88 e8a e8d e94-e97 e99-e9f ea1-ea3 ea5 ea7 eaa-eab ead-eae eb0 eb2-eb3 "
    "ebd ec0-ec4 f40-f47 f49-f69 10a0-10c5 10d0-10f6 1100 1102-1103 1105-1107 1109 110b-110c "
    "110e-1112 113c 113e 1140 114c 114e 1150 1154-1155 1159 115f-1161 1163 1165 1167 1169 "
    "116d-116e 1172-1173 1175 119e 11a8 11ab 11ae-11af 11b7-11b8 11ba 11bc-11c2 11eb 11f0 "
    "11f9 1e00-1e9b 1ea0-1ef9 1f00-1f15 1f18-1f1d 1f20-1f45 1f48-1f4d 1f50-1f57 1f59 1f5b "
    "1f5d 1f5f-1f7d 1f80-1fb4 1fb6-1fbc 1fbe 1fc2-1fc4 1fc6-1fcc 1fd0-1fd3 1fd6-1fdb "
    "1fe0-1fec 1ff2-1ff4 1ff6-1ffc 2126 212a-212b 212e 2180-2182 3007 3021-3029 3041-3094 "
    "30a1-30fa 3105-312c 4e00-9fa5 ac00-d7a3 "
)
_NAME_MORE_RANGES = (
    "b7 2d0-2d1 300-345 360-361 387 483-486 591-5a1 5a3-5b9 5bb-5bd 5bf 5c1-5c2 5c4 640 "
    "64b-652 660-669 670 6d6-6e4 6e7-6e8 6ea-6ed 6f0-6f9 901-903 93c 93e-94d 951-954 962-963 "
    "966-96f 981-983 9bc 9be-9c4 9c7-9c8 9cb-9cd 9d7 9e2-9e3 9e6-9ef a02 a3c a3e-a42 a47-a48 "
    "a4b-a4d a66-a71 a81-a83 abc abe-ac5 ac7-ac9 acb-acd ae6-aef b01-b03 b3c b3e-b43 b47-b48 "
    "b4b-b4d b56-b57 b66-b6f b82-b83 bbe-bc2 bc6-bc8 bca-bcd bd7 be7-bef c01-c03 c3e-c44 "
    "c46-c48 c4a-c4d c55-c56 c66-c6f c82-c83 cbe-cc4 cc6-cc8 cca-ccd cd5-cd6 ce6-cef d02-d03 "
    "d3e-d43 d46-d48 d4a-d4d d57 d66-d6f e31 e34-e3a e46-e4e e50-e59 eb1 eb4-eb9 ebb-ebc ec6 "
    "ec8-ecd ed0-ed9 f18-f19 f20-f29 f35 f37 f39 f3e-f3f f71-f84 f86-f8b f90-f95 f97 f99-fad "
    "fb1-fb7 fb9 20d0-20dc 20e1 3005 302a-302f 3031-3035 3099-309a 309d-309e 30fc-30fe "
)


def _is_name_start(char: str) -> bool:
    code = ord(char)
    if code < 0x80:
        return char.isalpha() or char in "_:"
    return in_ranges(code, _NAME_START_RANGES)


def _is_name_char(char: str) -> bool:
    code = ord(char)
    if code < 0x80:
        return char.isalnum() or char in "_:.-"
    return _is_name_start(char) or in_ranges(code, _NAME_MORE_RANGES)


def _is_xml_name(raw: bytes) -> bool:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(name) and _is_name_start(name[0]) and all(_is_name_char(c) for c in name[1:])
