"""The HTTP/2 cases of ``pytest --gomodnet``: a stream reset, a GOAWAY, DATA before HEADERS
or an END_STREAM short of the length partway through a zip.

Each runs the suite in a pytester subprocess, with ``-k`` on the HTTP/2 cases:
the careful example mirror with ``--http2`` passes them, the naive one with
``--http2`` fails them where it keeps a partial zip, a target that speaks
HTTP/1.1 gets no verdict (a skip saying why), never a pass, and the
degenerate targets fail them.
"""

from __future__ import annotations

import json
import re
import shlex
import sys

import pytest

from pytest_gomodnet.conformance import all_cases, degenerate
from pytest_gomodnet.conformance.evidence import NOT_HTTP2, not_http2
from pytest_gomodnet.conformance.harness import H2_STREAM_FAULTS
from pytest_gomodnet.faultproxy import Connection, Exchange

MIRROR_ARGS = "--upstream {upstream} --port {port} --ca-bundle {ca_bundle} --proxy {router}"
PROXY_CASES = [f"proxy.upstream-h2-stream-fault[{name}]" for name in H2_STREAM_FAULTS]
CLIENT_CASES = [f"client.h2-stream-fault[{name}]" for name in H2_STREAM_FAULTS]
DEGENERATE = f"{shlex.quote(sys.executable)} -m {degenerate.MODULE}"
#: The skip of a target that spoke HTTP/1.1 over TLS: no verdict, and why.
OVER_TLS = NOT_HTTP2.format(who="{who}", host="{host}", how="over TLS, without choosing h2 by ALPN")
#: The naive mirror over HTTP/2, per case: what its failure's first line says (it caches
#: what arrived before the fault, then serves it), or None where it passes.
NAIVE_KEEPS = {
    "rst-stream-internal-error": "StreamReset(at=200, code='INTERNAL_ERROR', where='body')",
    "goaway-abrupt": "GoAway(at=200, last_stream_id=None, code='INTERNAL_ERROR', where='body')",
    # httpx fails the stream in flight on any GOAWAY, one that covers it too (go-behaviour.md).
    "goaway-graceful": "GoAway(at=200, last_stream_id=None, code='NO_ERROR', where='body')",
    "data-before-headers": None,  # the request fails before a byte: nothing to keep
    "end-stream-early": "EndStreamEarly(at=200, where='body')",
}
#: A client that keeps whatever the zip's stream gave it, and says it succeeded.
KEEPS_WHAT_CAME = """
import os, ssl, sys
import h2.exceptions, httpx
module, version, goproxy, dest = sys.argv[1:5]
url = f"{goproxy.split(',')[0]}/{module}/@v/{version}.zip"
verify = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
with httpx.Client(http2=True, verify=verify) as client, open(f"{dest}/m.zip", "wb") as file:
    try:
        with client.stream("GET", url) as response:
            for block in response.iter_bytes():
                file.write(block)
    except (httpx.HTTPError, h2.exceptions.H2Error):
        pass
"""
#: The reference client, over HTTP/1.1 only.
HTTP1_REFERENCE = """
import os, ssl, sys
from pathlib import Path
import httpx
from pytest_gomodnet.conformance import reference
module, version, goproxy, dest = sys.argv[1:5]
verify = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
with httpx.Client(verify=verify, trust_env=True) as client:
    reference.download(module, version, goproxy, Path(dest), client=client)
"""


def mirror(name: str, *flags: str) -> str:
    return " ".join([f"{{python}} -m pytest_gomodnet.mirrors.{name} {MIRROR_ARGS}", *flags])


class Verdicts(dict[tuple[str, str], tuple[str, str]]):
    """(case, target) → (outcome, first line of its failure as the report cuts it, or its
    skip's reason), and the run's output, where the whole first lines are."""

    output: str = ""

    def expect_first_line(self, detail: str, pattern: str) -> None:
        """The whole line the report cut to ``detail`` is in the output, matching ``pattern``."""
        lines = re.findall(rf"{re.escape(detail)}.*", self.output)
        assert lines, detail
        assert re.fullmatch(pattern, lines[0]), lines[0]


def run_h2_cases(pytester: pytest.Pytester, *args: str) -> Verdicts:
    """The HTTP/2 cases against the targets ``args`` name."""
    report = pytester.path / "report"
    result = pytester.runpytest_subprocess(
        "--gomodnet", "-p", "no:cacheprovider", f"--gomodnet-report={report}",
        "-k", "h2_stream_fault", *args,
    )  # fmt: skip
    document = json.loads(report.with_suffix(".json").read_text())
    found = Verdicts(
        ((v["case"], v["target"]), (v["outcome"], v["detail"])) for v in document["verdicts"]
    )
    found.output = result.stdout.str()
    return found


def test_the_cases_are_registered_with_their_levels() -> None:
    cases = all_cases()
    assert {c: cases[c].level for c in PROXY_CASES + CLIENT_CASES} == dict.fromkeys(
        PROXY_CASES + CLIENT_CASES, "MUST"
    )
    assert {cases[c].kind for c in PROXY_CASES} == {"proxy"}
    assert {cases[c].kind for c in CLIENT_CASES} == {"client"}


# --- which protocol the log shows -------------------------------------------------------

ZIP = Exchange("GET", "/m/@v/v1.0.0.zip", 200)


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ([], None),  # no request at all: the evidence check's business, not this one's
        ([Connection("up.test", "tls", [ZIP], protocol="h2")], None),
        (
            [
                Connection("up.test", "tls", [ZIP]),
                Connection("up.test", "tls", [ZIP], protocol="h2"),
            ],
            None,
        ),
        ([Connection("up.test", "tls", [ZIP])], OVER_TLS.format(who="the proxy", host="up.test")),
        (
            [Connection("up.test", "http", [ZIP])],
            NOT_HTTP2.format(who="the proxy", host="up.test", how="in plain HTTP"),
        ),
        # HTTP/2 elsewhere does not count: only the connections that carried the request.
        (
            [
                Connection("up.test", "tls", [ZIP]),
                Connection("up.test", "tls", [Exchange("GET", "/m/@v/list")], protocol="h2"),
            ],
            OVER_TLS.format(who="the proxy", host="up.test"),
        ),
    ],
)
def test_not_http2_reads_the_protocol_of_the_connections_that_carried_the_request(
    log: list[Connection], reason: str | None
) -> None:
    assert not_http2(log, "up.test", "*.zip", who="the proxy") == reason


def test_the_skip_reason_says_there_is_no_verdict_and_why() -> None:
    assert OVER_TLS.format(who="the proxy", host="upstream.test") == (
        "the proxy spoke HTTP/1.1 to upstream.test (over TLS, without choosing h2 by ALPN), "
        "so an HTTP/2 fault cannot reach it: no verdict; a target whose HTTP client offers "
        "h2 by ALPN gets one"
    )


# --- proxies ------------------------------------------------------------------------------


def test_the_careful_mirror_passes_and_the_naive_one_keeps_the_partial_zip(
    pytester: pytest.Pytester,
) -> None:
    found = run_h2_cases(
        pytester,
        "--gomodnet-proxy-cmd",
        mirror("careful_mirror", "--http2"),
        "--gomodnet-proxy-cmd",
        mirror("naive_mirror", "--http2"),
    )
    assert {c: found[c, "careful_mirror"] for c in PROXY_CASES} == dict.fromkeys(
        PROXY_CASES, ("pass", "")
    )
    for name, fault in NAIVE_KEEPS.items():
        outcome, detail = found[f"proxy.upstream-h2-stream-fault[{name}]", "naive_mirror"]
        if fault is None:
            assert (outcome, detail) == ("pass", ""), name
            continue
        assert outcome == "FAIL", name
        found.expect_first_line(
            detail,
            rf"AssertionError: the zip asked for again after {re.escape(fault)}: served 200 "
            r"with the wrong zip: not a zip \(File is not a zip file\), want h1:\S+ "
            r"\(200 of [0-9,]+ bytes\)",
        )


def test_a_proxy_that_speaks_http1_upstream_gets_no_verdict(pytester: pytest.Pytester) -> None:
    plain = (
        "{python} -m pytest_gomodnet.mirrors.naive_mirror --upstream {upstream_http} --port {port}"
    )
    found = run_h2_cases(
        pytester, "--gomodnet-proxy-cmd", mirror("careful_mirror"), "--gomodnet-proxy-cmd", plain
    )
    over_tls = OVER_TLS.format(who="the proxy", host="upstream.test")
    in_plain = NOT_HTTP2.format(who="the proxy", host="upstream.test", how="in plain HTTP")
    assert found == {
        **{(c, "careful_mirror"): ("skip", over_tls) for c in PROXY_CASES},
        **{(c, "naive_mirror"): ("skip", in_plain) for c in PROXY_CASES},
    }


def test_a_proxy_that_never_serves_fails_them(pytester: pytest.Pytester) -> None:
    found = run_h2_cases(pytester, "--gomodnet-proxy-cmd", f"{DEGENERATE} proxy-502 {{port}}")
    never_asked = (
        "AssertionError: no evidence the target made the request this case is about: "
        "the proxy never fetched from the upstream"
    )
    assert found == {(c, "degenerate"): ("FAIL", never_asked) for c in PROXY_CASES}


def test_a_proxy_that_fetches_but_never_serves_fails_them(pytester: pytest.Pytester) -> None:
    target = f"{DEGENERATE} proxy-fetch-then-502 {{port}} {{upstream}}"
    found = run_h2_cases(pytester, "--gomodnet-proxy-cmd", target)
    control = "AssertionError: the target failed the clean control: the zip of mod.test/"
    assert {c for c, _ in found} == set(PROXY_CASES)
    for (case, _), (outcome, detail) in found.items():
        assert outcome == "FAIL", case
        assert detail.startswith(control), detail
        assert detail.endswith("/control: expected 200 with the zip"), detail


# --- clients ------------------------------------------------------------------------------


@pytest.mark.usefixtures("go")
def test_go_and_the_reference_client_pass(pytester: pytest.Pytester) -> None:
    found = run_h2_cases(
        pytester,
        "--gomodnet-require-go",
        "--gomodnet-client",
        "go",
        "--gomodnet-client",
        "reference",
    )
    assert {(c, t): found[c, t] for c in CLIENT_CASES for t in ("go", "reference")} == {
        (c, t): ("pass", "") for c in CLIENT_CASES for t in ("go", "reference")
    }


def test_a_client_that_keeps_what_came_fails_and_one_on_http1_gets_no_verdict(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(keeps_what_came=KEEPS_WHAT_CAME, http1_reference=HTTP1_REFERENCE)
    python = shlex.quote(sys.executable)
    args = "{module} {version} {goproxy} {dest}"
    found = run_h2_cases(
        pytester,
        "--gomodnet-client-cmd",
        f"{python} {pytester.path / 'keeps_what_came.py'} {args}",
        "--gomodnet-client-cmd",
        f"{python} {pytester.path / 'http1_reference.py'} {args}",
    )
    for name, plan in H2_STREAM_FAULTS.items():
        outcome, detail = found[f"client.h2-stream-fault[{name}]", "keeps_what_came"]
        assert outcome == "FAIL", name
        found.expect_first_line(
            detail,
            rf"AssertionError: every zip's stream met {re.escape(repr(plan))}: kept a partial "
            r"or wrong zip \(want h1:\S+\): \['\S+/dest-2/m\.zip \(not a zip \(File is not "
            r"a zip file\)\)'\]",
        )
    over_tls = OVER_TLS.format(who="the client", host="proxy.test")
    assert {c: found[c, "http1_reference"] for c in CLIENT_CASES} == dict.fromkeys(
        CLIENT_CASES, ("skip", over_tls)
    )


@pytest.mark.parametrize(
    ("target", "first_line"),
    [
        (
            "client-exit-3",
            "AssertionError: no evidence the target made the request this case is about: "
            "the client made no request",
        ),
        (
            "client-fetch-then-exit-3 {module} {version} {goproxy}",
            "AssertionError: the target failed the clean control: expected the download to succeed",
        ),
    ],
)
def test_a_client_that_never_succeeds_fails_them(
    pytester: pytest.Pytester, target: str, first_line: str
) -> None:
    found = run_h2_cases(pytester, "--gomodnet-client-cmd", f"{DEGENERATE} {target}")
    assert found == {(c, "degenerate"): ("FAIL", first_line) for c in CLIENT_CASES}
