"""The strategies lean on the edges they promise and shrink to the smallest failure."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_gomodnet import faults
from pytest_gomodnet.errors import FaultPlanError, GoImportError
from pytest_gomodnet.goimport import DOCUMENT_VARIANTS, parse_go_imports
from pytest_gomodnet.strategies import (
    MAX_GO_MOD_SIZE,
    PATH_RULES,
    SLOW_FAULTS,
    Boundary,
    InvalidModulePath,
    fault_plans,
    fault_sequences,
    go_import_documents,
    module_files,
    module_paths,
    response_boundaries,
    truncation_points,
    versions,
)

# Draw-counting tests run a fixed 1,000 examples from a fixed seed, so the
# fractions they assert are exact numbers on every run, with generous margins.
DRAWS = settings(
    max_examples=1000,
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SHRINK = settings(max_examples=1000, database=None, derandomize=True, deadline=None)


def _zip(files: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("example.test/m@v1.0.0/go.mod", "module example.test/m\n")
        for n in range(files):
            archive.writestr(f"example.test/m@v1.0.0/f{n}.go", f"package m // {n}\n" * 40)
    return buffer.getvalue()


def _plain(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def _chunked(*chunks: bytes) -> bytes:
    framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"


def _untyped(function: Callable[..., object]) -> Any:
    """The function, with its argument types hidden from mypy, to call it wrongly on purpose."""
    return function


def _draws(strategy: st.SearchStrategy[int], *, count: int = 1000) -> list[int]:
    seen: list[int] = []

    @settings(DRAWS, max_examples=count)
    @given(strategy)
    def record(offset: int) -> None:
        seen.append(offset)

    record()
    return seen


ZIP = _zip(files=30)
ZIP_RESPONSE = _plain(ZIP)
BODY_START = ZIP_RESPONSE.index(b"\r\n\r\n") + 4
CENTRAL_DIRECTORY = BODY_START + zipfile.ZipFile(io.BytesIO(ZIP)).start_dir
END_RECORD = len(ZIP_RESPONSE) - 22  # no archive comment: the EOCD is the last 22 bytes


# --- response_boundaries: the offsets, checked against the framing itself ------


def test_plain_response_boundaries_are_exact() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert [b.offset for b in response_boundaries(response)] == [
        0, 1, 9, 15, 17, 21, 33, 34, 36, 37, 38, 39, 40, 42,
    ]  # fmt: skip
    names = {b.offset: b.name for b in response_boundaries(response)}
    assert names[34] == "just before \\r\\n\\r\\n"
    assert names[38] == "just after \\r\\n\\r\\n (no body byte)"
    assert names[42] == "one byte before Content-Length"
    assert response[:38].endswith(b"\r\n\r\n")


def test_include_end_adds_the_uncut_response() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    ends = response_boundaries(response, include_end=True)
    assert ends[-1] == Boundary(len(response), "exactly at Content-Length")
    assert str(ends[-1]) == "43 (exactly at Content-Length)"
    assert max(b.offset for b in response_boundaries(response)) == len(response) - 1


def test_content_length_larger_than_the_body_is_a_boundary_inside() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhello"  # body longer than declared
    names = {b.offset: b.name for b in response_boundaries(response)}
    assert names[38 + 3] == "exactly at Content-Length"


def test_chunked_boundaries_sit_on_the_framing() -> None:
    response = _chunked(b"a" * 16, b"b" * 3)
    names = {b.offset: b.name for b in response_boundaries(response)}
    first = response.index(b"10\r\n")
    second = response.index(b"3\r\nbbb")
    last = response.rindex(b"0\r\n\r\n")
    assert names[first + 1] == "inside chunk 1-size line"
    assert names[first + 2] == "end of chunk 1-size line, before its CRLF"
    assert names[first + 4] == "first byte of chunk 1 data"
    assert names[first + 4 + 16] == "end of chunk 1 data, before its CRLF"
    assert names[second] == "start of chunk 2-size line"
    assert names[last] == "start of last chunk-size line"
    assert names[last + 3] == "after last chunk-size line, before final CRLF"


def test_zip_boundaries_match_zipfiles_ownparse_go_imports() -> None:
    names = {b.offset: b.name for b in response_boundaries(ZIP_RESPONSE)}
    assert ZIP_RESPONSE[CENTRAL_DIRECTORY : CENTRAL_DIRECTORY + 4] == b"PK\x01\x02"
    assert names[CENTRAL_DIRECTORY] == "start of zip central directory"
    assert names[CENTRAL_DIRECTORY + 1] == "inside zip central directory"
    assert names[END_RECORD] == "start of zip end-of-central-directory record"
    assert names[END_RECORD + 16] == (
        "inside zip end-of-central-directory (central directory offset)"
    )


def test_zip_boundaries_of_a_chunked_zip_map_through_the_framing() -> None:
    response = _chunked(ZIP[:1000], ZIP[1000:])
    names = {b.offset: b.name for b in response_boundaries(response)}
    end_record = response.index(b"PK\x05\x06")
    central = response.index(b"PK\x01\x02")
    assert names[end_record] == "start of zip end-of-central-directory record"
    assert names[central] == "start of zip central directory"


def test_bytes_that_are_not_http_still_get_start_middle_and_end() -> None:
    assert [b.offset for b in response_boundaries(b"\x16\x03\x01garbage")] == [0, 1, 5, 9]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: truncation_points(b""), "response=b'' has no byte to cut after"),
        (lambda: _untyped(truncation_points)("HTTP/1.1"), "response='HTTP/1.1' must be"),
        (lambda: _untyped(truncation_points)(b"x", include_end=1), "include_end=1 must be True"),
    ],
)
def test_bad_arguments_fail_at_once(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        call()


# --- truncation_points: leaning on the boundaries, measured over 1,000 draws -----


def test_a_thousand_draws_lean_on_the_boundaries() -> None:
    seen = _draws(truncation_points(ZIP_RESPONSE))

    def fraction(hit: Callable[[int], bool]) -> float:
        return sum(map(hit, seen)) / len(seen)

    n = len(ZIP_RESPONSE)
    assert len(seen) == 1000
    # Uniform draws over ~19 kB would hit each of these a few times in 10,000.
    assert fraction(lambda x: abs(x - BODY_START) <= 1) >= 0.03  # header/body boundary ±1
    assert fraction(lambda x: x == 0) >= 0.02
    assert fraction(lambda x: 1 <= x < ZIP_RESPONSE.index(b"\r\n")) >= 0.03  # status line
    assert fraction(lambda x: x == n - 1) >= 0.005  # one byte before the end
    assert fraction(lambda x: CENTRAL_DIRECTORY <= x < END_RECORD) >= 0.05
    assert fraction(lambda x: x >= END_RECORD) >= 0.03
    # ... and still cover the rest: at least a third land off every boundary.
    boundaries = {b.offset for b in response_boundaries(ZIP_RESPONSE)}
    assert fraction(lambda x: x not in boundaries) >= 0.33
    assert min(seen) == 0
    assert max(seen) == n - 1


def test_chunked_draws_lean_on_chunk_size_lines() -> None:
    response = _chunked(*(bytes([65 + n]) * 300 for n in range(8)))
    size_lines = {i + 1 for i in range(len(response)) if response.startswith(b"12c\r\n", i)}
    seen = _draws(truncation_points(response), count=300)
    assert sum(x in size_lines for x in seen) / len(seen) >= 0.05


def test_include_end_lets_the_uncut_response_through() -> None:
    response = _plain(b"0123456789")
    seen = _draws(truncation_points(response, include_end=True), count=300)
    assert max(seen) == len(response)
    assert seen.count(len(response)) >= 5


# --- shrinking converges to the smallest failing cut -----------------------------


@pytest.mark.parametrize(
    "first_bad",
    [0, 5, BODY_START, BODY_START + 123, CENTRAL_DIRECTORY + 7, END_RECORD + 3],
)
def test_shrinks_to_the_first_failing_offset(first_bad: int) -> None:
    assert find(truncation_points(ZIP_RESPONSE), lambda x: x >= first_bad, settings=SHRINK) == (
        first_bad
    )


def test_shrinks_to_the_start_of_a_failing_window() -> None:
    # A client that breaks only when the cut falls inside the central directory.
    def breaks(offset: int) -> bool:
        return CENTRAL_DIRECTORY + 50 <= offset < END_RECORD

    assert find(truncation_points(ZIP_RESPONSE), breaks, settings=SHRINK) == (
        CENTRAL_DIRECTORY + 50
    )


def _client_that_trusts_complete_headers(received: bytes) -> bytes:
    """A known bug: returns whatever body arrived once the headers are complete."""
    _head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("connection closed before the headers ended")
    return body


def test_shrinks_to_the_cut_just_after_the_headers_for_a_client_that_trusts_them() -> None:
    def returns_partial_success(at: int) -> bool:
        try:
            body = _client_that_trusts_complete_headers(ZIP_RESPONSE[:at])
        except ConnectionError:
            return False
        return body != ZIP

    assert find(truncation_points(ZIP_RESPONSE), returns_partial_success, settings=SHRINK) == (
        BODY_START
    )


def test_agiven_test_reports_the_shrunk_cut(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        from hypothesis import given, settings
        from pytest_gomodnet.strategies import truncation_points

        RESPONSE = {_plain(b"x" * 2000)!r}

        def naive_client(received):
            head, sep, body = received.partition(b"\\r\\n\\r\\n")
            if not sep:
                raise ConnectionError("cut in the headers")
            return body

        @settings(database=None, derandomize=True, deadline=None)
        @given(at=truncation_points(RESPONSE))
        def test_never_partial(at):
            try:
                body = naive_client(RESPONSE[:at])
            except ConnectionError:
                return
            assert body == b"x" * 2000
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Failing test case: test_never_partial(*", "*at=41,*"])


# --- module paths and versions -----------------------------------------------------

SAMPLE = settings(max_examples=300, database=None, derandomize=True, deadline=None)


def _sample(strategy: st.SearchStrategy[Any], *, count: int = 300) -> list[Any]:
    seen: list[Any] = []

    @settings(SAMPLE, max_examples=count)
    @given(strategy)
    def record(value: Any) -> None:
        seen.append(value)

    record()
    return seen


def test_invalid_paths_cover_every_rule_with_gos_reason() -> None:
    examples = _sample(module_paths(valid=False), count=400)
    assert {e.rule for e in examples} == set(PATH_RULES)
    first = {e.rule: e for e in reversed(examples)}
    assert first["empty-string"] == InvalidModulePath("", "empty-string", "empty string")
    assert first["empty-string"].message == 'malformed module path "": empty string'
    assert all(e.path.endswith("/") for e in examples if e.rule == "trailing-slash")
    assert all("//" in e.path for e in examples if e.rule == "double-slash")
    assert all(
        e.reason.startswith("invalid char '") and e.reason.endswith("' in first path element")
        for e in examples
        if e.rule == "invalid-char-in-first-element"
    )


def test_rules_narrows_the_invalid_paths() -> None:
    examples = _sample(module_paths(valid=False, rules=["leading-dot", "trailing-dot"]), count=50)
    assert {e.rule for e in examples} == {"leading-dot", "trailing-dot"}


def test_the_message_quotes_like_go() -> None:
    broken = InvalidModulePath('a.test/"x\x01é\u200b', "invalid-char", "invalid char '\\x01'")
    assert broken.message == (
        'malformed module path "a.test/\\"x\\x01é\\u200b": invalid char \'\\x01\''
    )


def test_valid_paths_lean_on_what_proxies_get_wrong() -> None:
    paths = _sample(module_paths(), count=300)
    assert sum(any(c.isupper() for c in p) for p in paths) >= 30  # needs !-escaping
    assert sum(p.startswith("gopkg.in/") for p in paths) >= 30
    assert sum(re.search(r"/v[1-9][0-9]*$", p) is not None for p in paths) >= 30
    assert sum(any(c in p for c in "~_") for p in paths) >= 10
    assert all("." in p.split("/")[0] and not p.endswith("/") for p in paths)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"valid": 0}, "valid=0 must be True or False"),
        ({"rules": ["leading-dot"]}, "rules=['leading-dot'] only makes sense with valid=False"),
        ({"valid": False, "rules": []}, "rules=[] must be a non-empty collection of"),
        ({"valid": False, "rules": ["no-such-rule"]}, "rules=['no-such-rule'] must be"),
        ({"valid": False, "rules": "leading-dot"}, "rules='leading-dot' must be"),
    ],
)
def test_module_paths_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        _untyped(module_paths)(**kwargs)


SEMVER = re.compile(
    r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-((0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?(\+incompatible)?$"
)
# golang.org/x/mod module/pseudo.go pseudoVersionRE, without the build suffix.
PSEUDO = re.compile(
    r"^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+incompatible)?$"
)


def test_versions_are_canonical_semver_of_every_kind() -> None:
    drawn = _sample(versions(), count=400)
    assert all(SEMVER.match(v) for v in drawn), [v for v in drawn if not SEMVER.match(v)]
    assert sum(PSEUDO.match(v) is not None for v in drawn) >= 80
    assert sum(v.endswith("+incompatible") for v in drawn) >= 60
    assert sum("-" in v and not PSEUDO.match(v) for v in drawn) >= 60  # plain pre-releases
    assert all(int(v[1:].split(".")[0]) >= 2 for v in drawn if v.endswith("+incompatible"))
    assert "v0.0.0" in drawn
    assert any(v.startswith("v1.") for v in drawn)
    no_base = re.compile(r"^v[0-9]+\.0\.0-\d{14}-[0-9a-f]{12}\+incompatible$")
    assert not any(no_base.match(v) for v in drawn)  # x/mod rejects these


def test_pseudo_versions_come_in_all_three_forms() -> None:
    drawn = _sample(versions(kinds=["pseudo"]), count=200)
    assert all(PSEUDO.match(v) for v in drawn)
    no_base = re.compile(r"^v[0-9]+\.0\.0-\d{14}-[0-9a-f]{12}$")
    after_release = re.compile(r"^v[0-9]+\.[0-9]+\.[1-9][0-9]*-0\.\d{14}-[0-9a-f]{12}$")
    after_prerelease = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+-[^+]*[^0]\.0\.\d{14}-[0-9a-f]{12}$")
    assert sum(no_base.match(v) is not None for v in drawn) >= 15
    assert sum(after_release.match(v) is not None for v in drawn) >= 15
    assert sum(after_prerelease.match(v) is not None for v in drawn) >= 15


@pytest.mark.parametrize("major", [0, 1, 2, 17])
def test_major_pins_the_major_version(major: int) -> None:
    drawn = _sample(versions(major=major), count=60)
    assert {v[1:].split(".")[0] for v in drawn} == {str(major)}
    assert any(v.endswith("+incompatible") for v in drawn) == (major >= 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": []}, "kinds=[] must be a non-empty collection of release, prerelease,"),
        ({"kinds": "pseudo"}, "kinds='pseudo' must be"),
        ({"kinds": ["tag"]}, "kinds=['tag'] must be"),
        ({"major": -1}, "major=-1 must be None or an integer >= 0"),
        ({"major": True}, "major=True must be None"),
        (
            {"kinds": ["incompatible"], "major": 1},
            "kinds=['incompatible'] with major=1: +incompatible needs major >= 2",
        ),
    ],
)
def test_versions_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        _untyped(versions)(**kwargs)


def test_module_files_keep_to_the_zip_rules() -> None:
    trees: list[dict[str, bytes]] = _sample(
        module_files(module_path="a.test/M", max_size=64), count=200
    )
    for files in trees:
        assert files["go.mod"] == b"module a.test/M\n"
        folded = [name.casefold() for name in files]
        assert len(set(folded)) == len(folded)
        directories = {n.rsplit("/", i)[0] for n in folded for i in range(1, n.count("/") + 1)}
        assert directories.isdisjoint(folded)
        for name, content in files.items():
            parts = name.split("/")
            assert not {"vendor", ".git", ".hg", ".svn", ".bzr"} & {p.lower() for p in parts}
            assert (
                "go.mod" not in [p.lower() for p in parts[:-1]] and name.lower() != "go.mod"
            ) or (name == "go.mod")
            assert len(content) <= 64 or name == "go.mod"
    names = {name for files in trees for name in files}
    assert any(" " in n for n in names)
    assert any(any(ord(c) > 127 for c in n) for n in names)
    assert any(n.startswith(".") or "/." in n for n in names)
    assert max(len(files) for files in trees) == 9  # eight files and go.mod


def test_module_files_without_go_mod() -> None:
    trees: list[dict[str, bytes]] = _sample(module_files(go_mod=False), count=30)
    assert all("go.mod" not in files for files in trees)
    assert {} in trees


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"module_path": ""}, "module_path='' must be a non-empty module path"),
        ({"max_files": -1}, "max_files=-1 must be an integer from 0 to 10000"),
        ({"max_size": MAX_GO_MOD_SIZE + 1}, f"max_size={MAX_GO_MOD_SIZE + 1} must be an integer"),
        ({"max_files": True}, "max_files=True must be an integer"),
        ({"go_mod": None}, "go_mod=None must be True or False"),
    ],
)
def test_module_files_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        _untyped(module_files)(**kwargs)


# --- fault plans and go-import documents ------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(fault_plans())
def test_fault_plans_are_valid_and_paste_back(plan) -> None:
    namespace = {name: getattr(faults, name) for name in faults.__all__}
    assert eval(repr(plan), namespace) == plan


ALL_FAULT_CLASSES = faults.BYTE_FAULTS + faults.CONNECTION_FAULTS + faults.HTTP_FAULTS


@pytest.mark.parametrize("kind", ALL_FAULT_CLASSES, ids=lambda k: k.__name__)
def test_every_fault_class_is_registered_for_from_type(kind: type) -> None:
    drawn = _sample(st.from_type(kind), count=20)
    assert all(type(plan) is kind for plan in drawn)


def test_from_type_of_the_fault_plan_union_reaches_every_class() -> None:
    drawn = _sample(st.from_type(faults.FaultPlan), count=600)  # type: ignore[arg-type]
    assert {type(plan) for plan in drawn} == set(ALL_FAULT_CLASSES)


def test_fault_plans_can_be_limited_to_kinds() -> None:
    drawn = _sample(fault_plans(kinds=[faults.Reset, faults.Drip]), count=100)
    assert {type(plan) for plan in drawn} == {faults.Reset, faults.Drip}
    fast = set(ALL_FAULT_CLASSES) - set(SLOW_FAULTS) - set(faults.H2_FAULTS)
    assert {type(plan) for plan in _sample(fault_plans(), count=600)} == fast
    everything = _sample(fault_plans(slow=True), count=600)
    assert {type(plan) for plan in everything} == set(ALL_FAULT_CLASSES) - set(faults.H2_FAULTS)
    streams = _sample(fault_plans(kinds=faults.H2_FAULTS), count=200)
    assert {type(plan) for plan in streams} == set(faults.H2_FAULTS)
    with pytest.raises(InvalidArgument, match="must be a non-empty list of fault classes"):
        fault_plans(kinds=[int])
    with pytest.raises(InvalidArgument, match="must be a non-empty list of fault classes"):
        fault_plans(kinds=[])


def test_fault_plans_for_a_path_are_the_ones_a_path_fault_takes() -> None:
    from pytest_gomodnet.faultproxy import Router

    aimed = _sample(fault_plans(path=True), count=600)
    kinds = {type(plan) for plan in aimed}
    left_out = {*SLOW_FAULTS, *faults.CONNECTION_FAULTS, *faults.H2_FAULTS}
    assert kinds == set(ALL_FAULT_CLASSES) - left_out
    router = Router()
    try:
        for plan in aimed:  # the Router, not a reading of it, says they can be aimed
            router.fault("proxy.test", plan, path="*.zip")
        with pytest.raises(FaultPlanError, match="cannot take path="):
            router.fault("proxy.test", faults.Refuse(), path="*.zip")  # what path=True leaves out
        for sequence in _sample(fault_sequences(path=True), count=100):
            router.fault("proxy.test", *sequence, path="*.zip")
    finally:
        router.close()
    message = "path=True, but Refuse happen before any request is read"
    with pytest.raises(InvalidArgument, match=message):
        fault_plans(kinds=[faults.Truncate, faults.Refuse], path=True)


OFFSET_FAULTS = (faults.Truncate, faults.Reset, faults.Stall, faults.Corrupt)


def _added_seconds(plan: faults.FaultPlan, size: int) -> float:
    """What a slow plan adds to a response of ``size`` bytes, by its own definition."""
    if isinstance(plan, (faults.Stall, faults.SlowFirstByte, faults.WindowStall)):
        return plan.seconds
    if isinstance(plan, faults.Throttle):
        return size / plan.bytes_per_second
    if isinstance(plan, faults.Drip):
        return -(-size // plan.chunk) * plan.delay
    return 0.0


def test_offsets_aimed_at_a_response_land_inside_it_on_its_boundaries() -> None:
    response = _plain(_zip(files=3))
    drawn = _sample(fault_plans(kinds=OFFSET_FAULTS, response=response), count=600)
    assert {type(plan) for plan in drawn} == set(OFFSET_FAULTS)
    assert all(plan.where is None and 0 <= plan.at < len(response) for plan in drawn)
    boundaries = {b.offset for b in response_boundaries(response)}
    on_boundaries = sum(plan.at in boundaries for plan in drawn)
    assert on_boundaries > len(drawn) * 0.4  # truncation_points leans half its draws
    # Without the response, many offsets fall past the end of this one.
    blind = _sample(fault_plans(kinds=[faults.Truncate]), count=300)
    assert sum(plan.at >= len(response) for plan in blind) > len(blind) // 5


def test_a_chunked_cut_aimed_at_a_response_stays_within_its_body() -> None:
    body = b"x" * 700
    drawn = _sample(fault_plans(kinds=[faults.ChunkedCut], response=_plain(body)), count=200)
    assert {plan.at for plan in drawn} <= set(range(len(body)))
    assert max(plan.at for plan in drawn) > len(body) // 2


@pytest.mark.parametrize(("size", "max_seconds"), [(1 << 16, 0.5), (3_000_000, 0.2), (10, 1.0)])
def test_slow_plans_add_at_most_max_seconds_to_a_response(size: int, max_seconds: float) -> None:
    response = _plain(b"z" * size)
    strategy = fault_plans(kinds=SLOW_FAULTS, response=response, max_seconds=max_seconds)
    drawn = _sample(strategy, count=400)
    assert {type(plan) for plan in drawn} == set(SLOW_FAULTS)
    worst = max(_added_seconds(plan, len(response)) for plan in drawn)
    assert worst <= max_seconds * 1.000001


def test_slow_plans_without_a_response_are_bounded_for_64_kib() -> None:
    drawn = _sample(fault_plans(kinds=SLOW_FAULTS), count=400)
    assert max(_added_seconds(plan, 1 << 16) for plan in drawn) <= 0.5 * 1.000001


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"response": b""}, r"response=b'' must be the non-empty bytes a client receives"),
        ({"response": "HTTP/1.1"}, r"response='HTTP/1.1' must be the non-empty bytes"),
        ({"max_seconds": 0}, r"max_seconds=0 must be a finite number of seconds >= 0.001"),
        ({"max_seconds": float("inf")}, r"max_seconds=inf must be a finite number"),
    ],
)
def test_fault_plans_name_a_bad_response_or_bound(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        fault_plans(**options)


def test_fault_sequences_mix_plans_and_clean_turns() -> None:
    drawn = _sample(fault_sequences(max_size=3), count=200)
    assert {len(s) for s in drawn} == {1, 2, 3}
    assert any(None in s and any(p is not None for p in s) for s in drawn)
    assert any(all(p is not None for p in s) for s in drawn)
    only = _sample(fault_sequences(kinds=[faults.Truncate], max_size=2), count=50)
    assert {type(p) for s in only for p in s} <= {faults.Truncate, type(None)}
    with pytest.raises(InvalidArgument, match="max_size=0 must be an int >= 1"):
        fault_sequences(max_size=0)


def test_fault_sequences_are_accepted_by_the_router_as_they_are() -> None:
    from pytest_gomodnet.faultproxy import Router

    router = Router()
    try:
        for sequence in _sample(fault_sequences(), count=100):
            router.fault("proxy.test", *sequence)
    finally:
        router.close()


def test_go_import_documents_read_as_their_variant_says() -> None:
    documents = _sample(go_import_documents(), count=300)
    assert {d.variant for d in documents} == set(DOCUMENT_VARIANTS)
    expected = {
        "good": lambda d: [d.meta.prefix],
        "no-meta": lambda d: [],
        "meta-after-body": lambda d: [],
        "two-tags": lambda d: [d.meta.prefix, d.meta.prefix],
        "wrong-prefix": lambda d: ["www." + d.meta.prefix],
        "prefix-is-request-path": lambda d: [d.import_path],
    }
    for document in documents:
        if document.variant == "truncated":
            with pytest.raises(GoImportError, match=r"unexpected EOF$"):
                parse_go_imports(document.body, cut=True)
            continue
        tags = parse_go_imports(document.body)
        assert [t.prefix for t in tags] == expected[document.variant](document), document


def test_go_import_documents_take_only_known_variants() -> None:
    assert {d.variant for d in _sample(go_import_documents(variants=["no-meta"]), count=10)} == {
        "no-meta"
    }
    with pytest.raises(InvalidArgument, match="variants=\\['login'\\]: each must be one of"):
        go_import_documents(variants=["login"])
