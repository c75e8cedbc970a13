"""go_quote is go's strconv.Quote, byte for byte: the real go says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_gomodnet._gotext import (
    _LETTERS,
    _PRINTABLE,
    go_quote,
    go_quote_rune,
    is_go_letter,
    is_go_printable,
)
from pytest_gomodnet.errors import ChainError, InvalidPathError
from pytest_gomodnet.gotool import GoToolchain
from pytest_gomodnet.modules import check_path
from pytest_gomodnet.tls import check_host

# Reads lines "S <hex bytes>" and "R <hex rune>" from inputs.txt; answers each with
# the hex of strconv.Quote / QuoteRune, then lists as ranges the runes IsPrint accepts
# and the non-ASCII ones IsLetter accepts.
QUOTE_PROGRAM = """\
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	file, _ := os.Open("inputs.txt")
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		kind, arg, _ := strings.Cut(lines.Text(), " ")
		if kind == "S" {
			s, _ := hex.DecodeString(arg)
			fmt.Println(hex.EncodeToString([]byte(strconv.Quote(string(s)))))
		} else {
			r, _ := strconv.ParseInt(arg, 16, 32)
			fmt.Println(hex.EncodeToString([]byte(strconv.QuoteRune(rune(r)))))
		}
	}
	ranges("P", 0, strconv.IsPrint)
	ranges("L", 0x80, unicode.IsLetter)
}

// ranges prints the runes from first on that have a property, as hex ranges.
func ranges(tag string, first rune, has func(rune) bool) {
	start := -1
	for r := first; r <= unicode.MaxRune+1; r++ {
		in := r <= unicode.MaxRune && has(r)
		if in && start < 0 {
			start = int(r)
		} else if !in && start >= 0 {
			if start == int(r)-1 {
				fmt.Printf("%s %x\\n", tag, start)
			} else {
				fmt.Printf("%s %x-%x\\n", tag, start, r-1)
			}
			start = -1
		}
	}
}
"""

STRINGS = [
    b"",
    b"plain",
    b"\a\b\f\v\x01\x7f",
    b"\n\r\t\x00\x1b\x1f",
    b'say "hi"',
    b"back\\slash",
    b"it's",
    b"\xff\xfe",  # not UTF-8 at all
    b"\xe2\x82A",  # a cut three-byte sequence, then A
    b"\xed\xa0\x80",  # an encoded surrogate: invalid in Go and Python alike
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    "é日本\u00a0\u200b\u2028\ufeff\ufffd".encode(),
    "\U0001f600\U000e0001\U0010ffff\U000f0000".encode(),
    "\u0378\u088f\U0001fadf\U00033479".encode(),  # unassigned; Unicode 15 and 17 additions
    "\u0300x\u0301".encode(),  # combining marks print
]
RUNES = [
    "\v", "\a", "'", '"', "\\", " ", "x", "\x00", "\x7f", "\x80", "\u00ad", "\u2028",
    "\ufffd", "\U0001f600", "\U0010ffff", "\ud800", "\udc80",
]  # fmt: skip


@pytest.fixture(scope="module")
def go_says(go: GoToolchain, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Run the program once: its answers in order, then its printable ranges."""
    work = tmp_path_factory.mktemp("quote")
    (work / "quote.go").write_text(QUOTE_PROGRAM)
    inputs = [f"S {s.hex()}" for s in STRINGS] + [f"R {ord(r):x}" for r in RUNES]
    (work / "inputs.txt").write_text("\n".join(inputs) + "\n")
    result = go.run("run", "quote.go", home=work, cwd=work).check()
    return result.stdout.splitlines()


@pytest.mark.parametrize("index", range(len(STRINGS)), ids=[repr(s) for s in STRINGS])
def test_go_quote_is_strconv_quote(go_says: list[str], index: int) -> None:
    value = STRINGS[index]
    expected = bytes.fromhex(go_says[index])
    assert go_quote(value).encode("utf-8") == expected
    # The same string held as a str, with surrogate escapes for bytes that are not UTF-8.
    assert go_quote(value.decode("utf-8", "surrogateescape")).encode("utf-8") == expected


@pytest.mark.parametrize("index", range(len(RUNES)), ids=[repr(r) for r in RUNES])
def test_go_quote_rune_is_strconv_quote_rune(go_says: list[str], index: int) -> None:
    expected = bytes.fromhex(go_says[len(STRINGS) + index])
    assert go_quote_rune(RUNES[index]).encode("utf-8") == expected


@pytest.mark.parametrize(("tag", "table"), [("P", _PRINTABLE), ("L", _LETTERS)])
def test_the_tables_are_what_go_measures(go_says: list[str], tag: str, table: str) -> None:
    measured = [line[2:] for line in go_says if line.startswith(f"{tag} ")]
    assert " ".join(measured) == table


def test_letters_are_gos_not_pythons() -> None:
    assert is_go_letter(ord("é"))
    assert is_go_letter(0x1E4D0)
    assert not is_go_letter(ord("1"))
    assert not is_go_letter(0x2603)


def test_the_texts_issue_11_named() -> None:
    assert go_quote("\v") == '"\\v"'
    assert go_quote_rune("\v") == "'\\v'"  # not Python's '\x0b'
    assert go_quote(b"a\xffb") == '"a\\xffb"'
    assert is_go_printable(ord("é"))
    assert not is_go_printable(0x7F)


def test_the_package_quotes_through_it() -> None:
    with pytest.raises(InvalidPathError) as module:
        check_path("example.test/a\vb")
    assert str(module.value) == "malformed module path \"example.test/a\\vb\": invalid char '\\v'"
    with pytest.raises(ChainError) as tls:
        check_host("a\vb.test")
    assert str(tls.value).startswith('invalid host "a\\vb.test": ')


def test_a_rune_is_one_character() -> None:
    with pytest.raises(ValueError, match="go_quote_rune takes one character, not 'ab'"):
        go_quote_rune("ab")


def test_no_other_quote_helper_is_left() -> None:
    """Every Go-style quote in the package goes through _gotext."""
    package = Path(__file__).parent.parent / "pytest_gomodnet"
    offenders = [
        f"{path.relative_to(package)}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "_gotext.py"
        for line in path.read_text().splitlines()
        if "def _go_quote" in line or "def _quote(" in line or "json.dumps(host" in line
    ]
    assert offenders == []
