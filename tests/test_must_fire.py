"""A green test means the fault fired: user-style tests run through pytester.

Each test below writes what a new user would (the README's way), arms a
fault that the test never triggers, and reads pytest's verdict: a failure or
a teardown error with the exact message, never a pass. The opt-out
(``must_fire=``) makes the same tests pass.
"""

from __future__ import annotations

import textwrap

import pytest

# What every user-style test file starts with: a GOPROXY at proxy.test with one module.
HEADER = """
import httpx
import pytest
from pytest_gomodnet.faults import HandshakeAbort, Refuse, Status, Truncate

ZIP = "https://proxy.test/example.test/m/@v/v1.0.0.zip"
INFO = "https://proxy.test/example.test/m/@v/v1.0.0.info"

@pytest.fixture
def net(gomodnet, module_store):
    module_store.add("example.test/m", "v1.0.0", files={"m.go": b"package m\\n"})
    gomodnet.add_goproxy("proxy.test", module_store)
    return gomodnet
"""

HEADLINE = (
    "armed faults never fired, so the test proved nothing about them "
    "(pass must_fire=False to fault() for plans that may rightly stay unused):"
)
CUT = "Truncate(at=100, close='fin', where='body')"


def _run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    pytester.makepyfile(HEADER + textwrap.dedent(body))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def _error_lines(result: pytest.RunResult) -> list[str]:
    """The ``E`` lines of pytest's report, without the prefix."""
    return [line[1:].strip() for line in result.outlines if line.startswith("E ")]


def test_a_typo_in_the_host_fails_the_test_and_names_the_host_it_meant(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_cut_zip(net):
            net.fault("proxy.tset", Truncate(100, where="body"), path="*.zip")
            with net.client() as client:
                assert client.get(ZIP).status_code == 200
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    assert _error_lines(result) == [
        f"pytest_gomodnet.errors.UnfiredFaultError: {HEADLINE}",
        f"gomodnet.fault('proxy.tset', {CUT}, path='*.zip'): never fired: {CUT}",
        "no host 'proxy.tset' was added, and no request named it; did you mean 'proxy.test'?",
    ]
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_cut_zip*"])


def test_a_glob_no_request_matched_lists_what_the_host_saw_nearest_first(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_only_info(net):
            net.fault("proxy.test", Truncate(100, where="body"), path="*.zip")
            with net.client() as client:
                client.get("https://proxy.test/example.test/m/@v/list")
                client.get(INFO)
                client.get(INFO)
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    assert _error_lines(result) == [
        f"pytest_gomodnet.errors.UnfiredFaultError: {HEADLINE}",
        f"gomodnet.fault('proxy.test', {CUT}, path='*.zip'): never fired: {CUT}",
        "0 of 1 plan taken; the requests proxy.test saw, nearest first:",
        "/example.test/m/@v/list",  # nearest to '*.zip' by difflib's ratio: the shorter
        "/example.test/m/@v/v1.0.0.info",  # and listed once, though asked for twice
    ]


def test_a_near_miss_path_says_did_you_mean(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_wrong_version(net):
            net.fault("proxy.test", Status(503), path="/example.test/m/@v/v1.0.1.zip")
            with net.client() as client:
                assert client.get(ZIP).status_code == 200

        def test_wrong_case(net):
            net.fault("proxy.test", Status(503), path="*.ZIP")
            with net.client() as client:
                assert client.get(ZIP).status_code == 200
        """,
    )
    result.assert_outcomes(passed=2, errors=2)
    lines = _error_lines(result)
    assert lines[-3:] == [
        "0 of 1 plan taken; the requests proxy.test saw, nearest first:",
        "/example.test/m/@v/v1.0.0.zip",
        "did you mean path='/example.test/m/@v/v1.0.0.zip'? (globs match case-sensitively)",
    ]
    assert "did you mean path='/example.test/m/@v/v1.0.0.zip'?" in lines


def test_a_sequence_cut_short_names_the_plans_left(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_retries_once(net):
            net.fault("proxy.test", Status(503), None, Status(502), path="*.zip")
            with net.client() as client:
                assert client.get(ZIP).status_code == 503
                assert client.get(ZIP).status_code == 200
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    status = "Status(code=502, body=b'')"
    assert _error_lines(result)[1:3] == [
        f"gomodnet.fault('proxy.test', Status(code=503, body=b''), None, {status}, "
        f"path='*.zip'): never fired: {status}",
        "2 of 3 plans taken; the requests proxy.test saw, nearest first:",
    ]


def test_a_plan_replaced_before_it_fired_is_reported(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_rearms(net):
            net.fault("proxy.test", Status(503), path="*.zip")
            net.fault("proxy.test", Status(404), path="*.zip")
            with net.client() as client:
                assert client.get(ZIP).status_code == 404
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    status = "Status(code=503, body=b'')"
    assert _error_lines(result)[1] == (
        f"gomodnet.fault('proxy.test', {status}, path='*.zip'): never fired: {status} "
        "(replaced by a later fault() call first)"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'net.fault("proxy.test", Truncate(100), path="v1.0.0.zip")',
            "path='v1.0.0.zip' can never match: path= is a glob over the whole request path, "
            "which starts with '/' (such as '/example.test/m/@v/v1.0.0.zip'): "
            "did you mean path='*/v1.0.0.zip'?",
        ),
        (
            'net.fault("proxy.test", Truncate(100), path="@v/v1.0.0.zip")',
            "path='@v/v1.0.0.zip' can never match: path= is a glob over the whole request path, "
            "which starts with '/' (such as '/example.test/m/@v/v1.0.0.zip'): "
            "did you mean path='*/@v/v1.0.0.zip'?",
        ),
        (
            "net.fault('proxy.test', Truncate(100), path=ZIP)",
            "path='https://proxy.test/example.test/m/@v/v1.0.0.zip' is a URL, but path= is a "
            "glob over the request path without its query: "
            "did you mean path='/example.test/m/@v/v1.0.0.zip'?",
        ),
        (
            'net.fault("proxy.test", Truncate, path="*.zip")',
            "pass Truncate(…), not Truncate: fault() takes plan instances "
            "(or None for a clean exchange)",
        ),
        (
            'net.fault("proxy.test", Refuse)',
            "pass Refuse(), not Refuse: fault() takes plan instances "
            "(or None for a clean exchange)",
        ),
        (
            'net.fault("proxy.test", "*.zip")',
            "fault() takes plans such as Truncate(100) or None, not str '*.zip' "
            "(a path glob goes in path=…)",
        ),
        (
            'net.fault("proxy.test", 100)',
            "fault() takes plans such as Truncate(100) or None, not int 100",
        ),
        (
            'net.fault("proxy.test", Status(503), must_fire=2)',
            "must_fire=2 must be True (every plan), False (none) or how many of the first "
            "plans must fire, from 0 to 1",
        ),
    ],
    ids=["bare-name", "relative", "url", "class", "class-no-args", "str", "int", "must-fire"],
)
def test_a_plan_or_glob_that_can_never_fire_fails_at_fault(pytester, call, message) -> None:
    result = _run(
        pytester,
        f"""
        def test_arms(net):
            {call}
            with net.client() as client:
                client.get(ZIP)
        """,
    )
    result.assert_outcomes(failed=1)
    assert _error_lines(result)[-1] == f"pytest_gomodnet.errors.FaultPlanError: {message}"


def test_the_opt_out_lets_plans_stay_unused(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_may_stop_early(net):
            # A persistent fault: the first must fire; a client may retry up to 5 more times.
            net.fault("proxy.test", *[Status(503)] * 6, path="*.zip", must_fire=1)
            with net.client() as client:
                assert client.get(ZIP).status_code == 503

        def test_may_never_ask(net):
            net.fault("proxy.test", Truncate(100), path="*.zip", must_fire=False)
            net.fault("proxy.test", Refuse(), must_fire=False)

        def test_must_fire_one_still_needs_the_first(net):
            net.fault("proxy.test", *[Status(503)] * 6, path="*.zip", must_fire=1)
        """,
    )
    result.assert_outcomes(passed=3, errors=1)
    status = "Status(code=503, body=b'')"
    assert _error_lines(result)[1:3] == [
        f"gomodnet.fault('proxy.test', *[{status}] * 6, path='*.zip', must_fire=1): "
        f"never fired: {status}",
        "proxy.test saw no request",
    ]


def test_a_test_that_failed_gets_no_second_error_about_its_faults(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_fails_first(net):
            net.fault("proxy.test", Truncate(100), path="*.zip")
            assert False, "the test's own failure"

        def test_next(net):
            with net.client() as client:
                assert client.get(ZIP).status_code == 200
        """,
    )
    result.assert_outcomes(passed=1, failed=1)


def test_an_unfired_fault_does_not_follow_into_the_next_test(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_arms_and_leaves(net):
            net.fault("proxy.test", Truncate(100), path="*.zip")

        def test_next(net):
            with net.client() as client:
                assert client.get(ZIP).status_code == 200
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_arms_and_leaves*"])


def test_a_fault_proxy_plan_that_never_fired_fails_the_test(pytester) -> None:
    result = _run(
        pytester,
        """
        from werkzeug import Response
        from pytest_gomodnet.origin import HandlerServer

        def test_cut(fault_proxy):
            with HandlerServer(lambda request: Response(b"hello")) as upstream:
                proxy = fault_proxy(upstream.url, Truncate(2), path="*.zip")
                with httpx.Client(base_url=proxy.url, timeout=5) as client:
                    assert client.get("/a/b.info").text == "hello"
                    assert client.get("/a/b.info").text == "hello"
                proxy.url  # the report names it
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    lines = _error_lines(result)
    assert lines[:2] == [
        f"pytest_gomodnet.errors.UnfiredFaultError: {HEADLINE}",
        "fault(Truncate(at=2, close='fin', where=None), path='*.zip'): "
        "never fired: Truncate(at=2, close='fin', where=None)",
    ]
    assert lines[2].startswith("0 of 1 plan taken; the requests FaultProxy http://127.0.0.1:")
    assert lines[2].endswith(" saw, nearest first:")
    assert lines[3:] == ["/a/b.info"]


def test_fault_proxy_checks_its_plans_at_fault(pytester) -> None:
    result = _run(
        pytester,
        """
        def test_class(fault_proxy):
            fault_proxy("http://127.0.0.1:9", Truncate)

        def test_handshake_on_plain_http(fault_proxy):
            fault_proxy("http://127.0.0.1:9").fault(HandshakeAbort())
        """,
    )
    result.assert_outcomes(failed=2)
    lines = [line for line in _error_lines(result) if line.startswith("pytest_gomodnet")]
    assert lines[0] == (
        "pytest_gomodnet.errors.FaultPlanError: pass Truncate(…), not Truncate: "
        "fault() takes plan instances (or None for a clean exchange)"
    )
    assert lines[1].startswith(
        "pytest_gomodnet.errors.FaultPlanError: HandshakeAbort() closes a connection before "
        "its TLS handshake, but this FaultProxy serves plain HTTP at http://127.0.0.1:"
    )
    assert lines[1].endswith(": pass tls= to serve HTTPS, or use CloseBeforeResponse()")
