"""``pytest --gomodnet``: the conformance suite, run the way a vendor runs it.

Each run here is a separate pytest process (pytester) pointed at real targets:
the two example mirrors in examples/mirrors as proxy commands, the go command
and the reference client as clients. The assertions are on the verdicts in
the JSON report, so a case that stops biting, or starts failing a good
target, shows up by name.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

import pytest

from _chromium import Elements, artifacts, dump_dom, requires_chromium, screenshot
from pytest_gomodnet.conformance import all_cases, degenerate
from pytest_gomodnet.conformance.evidence import (
    NO_EVIDENCE,
    NO_REQUEST_EVIDENCE,
    missing_connection,
    missing_fault,
)
from pytest_gomodnet.conformance.report import Matrix, report_paths
from pytest_gomodnet.conformance.targets import (
    CLIENT_PLACEHOLDERS,
    PROXY_ONLY,
    PROXY_PLACEHOLDERS,
    CommandTemplate,
    TargetError,
    run_proxy_command,
)
from pytest_gomodnet.faultproxy import Connection, Exchange

MIRROR_ARGS = "--upstream {upstream} --port {port} --ca-bundle {ca_bundle} --proxy {router}"

#: What the naive mirror must fail, and nothing else: it keeps what a cut upstream gave it.
NAIVE_FAILS = {
    "proxy.upstream-zip-fault[cut-mid-body]",
    "proxy.upstream-zip-fault[cut-at-last-byte]",
    "proxy.upstream-zip-fault[chunked-cut]",
    "proxy.upstream-zip-fault[reset]",
    "proxy.upstream-zip-fault[stalled]",
    "proxy.upstream-zip-fault[html-login-200]",
    "proxy.close-delimited-cut[zip]",
    "proxy.close-delimited-cut[info]",
    "proxy.close-delimited-cut[mod]",
    "proxy.concurrent-uncached-zip",
}
NAIVE_SHOULD_FAILS = {"proxy.single-flight", "proxy.close-delimited-mod-cut-at-line"}
#: What the go command fails (findings, docs/conformance.md): it does not retry a cut
#: download (golang/go#28194), and with GOSUMDB=off it keeps whatever .mod arrived.
GO_FAILS = {"client.close-delimited-cut[mod]"}
GO_SHOULD_FAILS = {"client.retry-after-cut", "client.close-delimited-mod-cut-at-line"}
#: A proxy that answers 502 to everything, never asking the upstream.
CASES = all_cases()
DEGENERATE = f"{shlex.quote(sys.executable)} -m {degenerate.MODULE}"
#: The first line of a case that found no trace of its fault in the Router's log.
NEVER_FETCHED = (
    "AssertionError: no evidence the fault reached the target: "
    "the proxy never fetched from the upstream"
)
NEVER_ASKED = (
    "AssertionError: no evidence the target made the request this case is about: "
    "the proxy never fetched from the upstream"
)
NO_CLIENT_REQUEST = (
    "AssertionError: no evidence the fault reached the target: the client made no request"
)
NO_DISCOVERY_REQUEST = (
    "AssertionError: no evidence the target made the request this case is about: "
    "the client made no request"
)
#: The first line of a sumdb proxy case for a proxy that answers 502 to everything.
SUPPORTED_502 = "AssertionError: expected supported to be 200, 404 or 410"
PROXY_CONTROL_FAILED = "AssertionError: the target failed the clean control: the zip of mod.test/"
CLIENT_CONTROL_FAILED = (
    "AssertionError: the target failed the clean control: expected the download to succeed"
)
CLIENT_FAILED = "AssertionError: expected the download to succeed"
#: What a client that reads go-import pages but never runs git is told, per git case.
NEVER_ASKED_GIT = "the client never connected to git.test (only to example.test)"


def mirror_command(name: str, args: str = MIRROR_ARGS) -> str:
    return f"{{python}} -m pytest_gomodnet.mirrors.{name} {args}"


def verdicts(path: Path) -> dict[tuple[str, str], str]:
    document = json.loads(path.read_text())
    return {(v["case"], v["target"]): v["outcome"] for v in document["verdicts"]}


def details(path: Path, target: str = "degenerate") -> dict[str, tuple[str, str]]:
    """Each case's (outcome, first line of its failure) against ``target``."""
    document = json.loads(path.read_text())
    return {
        v["case"]: (v["outcome"], v["detail"])
        for v in document["verdicts"]
        if v["target"] == target
    }


def run_degenerate(
    pytester: pytest.Pytester, kind: str, target: str, *, skipped: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Run the suite against a degenerate ``kind`` target; assert no case passed (each
    MUST a FAIL, each SHOULD a SHOULD-fail, but the ``skipped`` cases, which do not apply
    to it) and return each case's first line (a skip's: its reason)."""
    _, report = run_suite(pytester, f"--gomodnet-{kind}-cmd", f"{DEGENERATE} {target}")
    found = details(report)
    assert {case: outcome for case, (outcome, _) in found.items()} == {
        case.id: "skip" if case.id in skipped else "FAIL" if case.level == "MUST" else "SHOULD-fail"
        for case in CASES.values()
        if case.kind == kind
    }
    return {case: detail for case, (_, detail) in found.items()}


def family(*prefixes: str, kind: str = "proxy") -> set[str]:
    """Every case whose id starts with one of ``prefixes`` (``tls-broken`` → all its variants)."""
    return {c for c in CASES if any(c.startswith(f"{kind}.{p}") for p in prefixes)}


def run_suite(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, Path]:
    report = pytester.path / "gomodnet-report"
    result = pytester.runpytest_subprocess(
        "--gomodnet", "-p", "no:cacheprovider", f"--gomodnet-report={report}", *args
    )
    return result, report.with_name("gomodnet-report.json")


def times_reported(result: pytest.RunResult, text: str) -> int:
    """How often `text` is in the failure sections, not counting the short summary.

    The summary repeats each error's first line, cut to the terminal's width except
    when CI is set, so counting it would make the count depend on where tests run.
    """
    return result.stdout.str().partition("short test summary info")[0].count(text)


# --- command templates -------------------------------------------------------------------


def test_unknown_placeholder_is_refused_with_the_known_ones() -> None:
    with pytest.raises(TargetError) as excinfo:
        CommandTemplate("proxy --up {upstream} --listen {host}:{port}", PROXY_PLACEHOLDERS, "cmd")
    assert str(excinfo.value) == (
        "the cmd 'proxy --up {upstream} --listen {host}:{port}' uses unknown placeholder(s) "
        "{host}; known: {upstream}, {port}, {ca_bundle}, {router}, {python}, {upstream_host}, "
        "{upstream_port}, {upstream_direct}, {upstream_http}"
    )


def test_a_client_command_naming_a_proxy_placeholder_is_told_why_not() -> None:
    with pytest.raises(TargetError) as excinfo:
        CommandTemplate("fetch {module} {upstream_http}", CLIENT_PLACEHOLDERS, "cmd", PROXY_ONLY)
    assert str(excinfo.value) == (
        "the cmd 'fetch {module} {upstream_http}' uses {upstream_http}, a proxy command's "
        "placeholder: a client reaches the network through {goproxy}"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the cmd is empty"),
        ("proxy {upstream", "the cmd 'proxy {upstream' does not parse: "),
        ("proxy 'unclosed", 'the cmd "proxy \'unclosed" does not parse: No closing quotation'),
    ],
)
def test_a_broken_template_is_refused(text: str, problem: str) -> None:
    with pytest.raises(TargetError, match="^" + problem.replace("{", r"\{").replace("(", r"\(")):
        CommandTemplate(text, PROXY_PLACEHOLDERS, "cmd")


def test_template_fills_each_word_and_names_the_program() -> None:
    template = CommandTemplate(
        "python3 -u mirrors/careful_mirror.py --upstream {upstream} --port={port}",
        PROXY_PLACEHOLDERS,
    )
    assert template.name == "careful_mirror"
    assert template.argv({"upstream": "https://upstream.test", "port": "8080"}) == [
        "python3",
        "-u",
        "mirrors/careful_mirror.py",
        "--upstream",
        "https://upstream.test",
        "--port=8080",
    ]
    client = CommandTemplate("python -m pkg.fetch {module} {dest}", CLIENT_PLACEHOLDERS)
    assert client.name == "fetch"
    assert CommandTemplate("/opt/athens/proxy {upstream}", PROXY_PLACEHOLDERS).name == "proxy"
    python = CommandTemplate("{python} -m pytest_gomodnet.mirrors.nginx", PROXY_PLACEHOLDERS)
    assert python.name == "nginx"
    assert python.argv({"python": "/venv/bin/python"})[0] == "/venv/bin/python"


def test_a_direct_placeholder_without_its_port_is_refused_before_the_start(tmp_path) -> None:
    marker = tmp_path / "started"
    template = CommandTemplate(f"touch {marker} {{upstream_http}}", PROXY_PLACEHOLDERS)
    starting = run_proxy_command(
        template, upstream="https://upstream.test", router="http://127.0.0.1:1", ca_bundle="ca"
    )
    with pytest.raises(TargetError) as excinfo, starting:
        pass
    assert str(excinfo.value) == (
        f"'touch {marker} {{upstream_http}}' uses {{upstream_http}}, which this run cannot "
        "fill: pass endpoints= for the direct upstream ports"
    )
    assert not marker.exists()


def test_report_paths() -> None:
    written = (Path("out/r.md"), Path("out/r.json"), Path("out/r.html"))
    assert report_paths(Path("out/r")) == written
    assert report_paths(Path("out/r.json")) == written
    assert report_paths(Path("out/r.html")) == written
    assert report_paths(Path("out/r.v2")) == tuple(
        Path(f"out/r.v2{s}") for s in (".md", ".json", ".html")
    )


def test_every_case_has_a_level_and_a_rationale() -> None:
    assert len(CASES) >= 60
    for case in CASES.values():
        assert case.level in ("MUST", "SHOULD")
        assert case.id.startswith(f"{case.kind}.")
        assert len(case.rationale) > 20, case.id


def test_the_docs_list_every_case_with_its_level() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "conformance.md").read_text()
    for case in CASES.values():
        base = case.id.partition("[")[0]
        assert f"| `{base}` | {case.level} |" in docs, base


# --- evidence: what the Router's log must show ---------------------------------------------


def _connection(host: str, *exchanges: Exchange) -> Connection:
    return Connection(host, "tls", list(exchanges))


CUT = Exchange("GET", "/example.test/m/@v/v1.0.0.zip", 200, fault="Truncate(200)")
INFO = Exchange("GET", "/example.test/m/@v/v1.0.0.info", 200)


@pytest.mark.parametrize(
    ("log", "problem"),
    [
        ([], "the client made no request"),
        (
            [_connection("mirror.test", INFO), _connection("example.test")],
            "the client never connected to proxy.test (only to example.test, mirror.test)",
        ),
        ([_connection("proxy.test", INFO)], "the client never asked proxy.test for *.zip"),
        (
            [_connection("proxy.test", INFO, replace(CUT, fault=None))],
            "no fault applied to the requests the client made to proxy.test for *.zip",
        ),
        ([_connection("proxy.test", INFO), _connection("proxy.test", CUT)], None),
    ],
)
def test_missing_fault_names_the_first_missing_piece(
    log: list[Connection], problem: str | None
) -> None:
    found = missing_fault(
        log, "proxy.test", "*.zip", who="the client", silent="the client made no request"
    )
    assert found == problem


def test_missing_connection_and_unfaulted_requests() -> None:
    log = [_connection("proxy.test")]  # a handshake that failed: no exchange at all
    assert missing_connection(log, "proxy.test", who="the proxy", silent="-") is None
    assert missing_connection([], "proxy.test", who="the proxy", silent="nothing") == "nothing"
    asked = [_connection("example.test", Exchange("GET", "/m?go-get=1", 200))]
    assert missing_fault(asked, "example.test", "*go-get=1*", who="c", silent="-") == (
        "no fault applied to the requests c made to example.test for *go-get=1*"
    )
    assert (
        missing_fault(asked, "example.test", "*go-get=1*", who="c", silent="-", faulted=False)
        is None
    )


def _report(when: str, outcome: str, longrepr: str | None = None) -> pytest.TestReport:
    properties = [
        ("gomodnet_case", "proxy.zip"),
        ("gomodnet_level", "MUST"),
        ("gomodnet_target", "t"),
    ]
    return pytest.TestReport(
        "x", ("x", 0, "x"), {}, outcome, longrepr, when, user_properties=properties
    )


def test_a_failed_case_keeps_its_verdict_over_a_teardown_error() -> None:
    matrix = Matrix()
    matrix.record(_report("setup", "passed"))
    matrix.record(_report("call", "failed", "E   AssertionError: no evidence the fault ..."))
    matrix.record(_report("teardown", "failed", "E   ServerError: a fault never fired"))
    [verdict] = matrix.verdicts.values()
    assert verdict.outcome == "FAIL"
    assert verdict.detail == "AssertionError: no evidence the fault ..."

    passed = Matrix()
    passed.record(_report("call", "passed"))
    passed.record(_report("teardown", "failed", "E   ServerError: a fault never fired"))
    [verdict] = passed.verdicts.values()
    assert (verdict.outcome, verdict.detail) == ("error", "ServerError: a fault never fired")


# --- bad targets: a clear error, quickly ------------------------------------------------


def test_unknown_placeholder_stops_the_run_before_anything_starts(
    pytester: pytest.Pytester,
) -> None:
    marker = pytester.path / "started"
    command = f"touch {marker} {{upstream}} {{listen}}"
    result = pytester.runpytest_subprocess("--gomodnet", "--gomodnet-proxy-cmd", command)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*uses unknown placeholder(s) {listen}; known: {upstream}*"])
    assert not marker.exists()


def test_a_target_that_exits_early_is_reported_once_with_its_status_and_output(
    pytester: pytest.Pytester,
) -> None:
    script = pytester.makepyfile(
        broken_proxy="import sys\nprint('cannot read config file /etc/proxy.toml')\nsys.exit(3)\n"
    )
    command = f"{sys.executable} {script} --upstream {{upstream}} --port {{port}}"
    result, report = run_suite(pytester, "--gomodnet-proxy-cmd", command)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_list[[]broken_proxy[]] _*",
            "* --upstream https://upstream.test --port * exited with status 3 "
            "before it opened port *; its last output:",
            "cannot read config file /etc/proxy.toml",
        ]
    )
    # Once, not once per case: the other cases are skipped and point at that error.
    assert times_reported(result, "cannot read config file") == 1
    found = details(report, "broken_proxy")
    assert found.pop("proxy.list")[0] == "error"
    skipped = ("skip", "not run: broken_proxy failed in ")
    assert {(o, d.partition("in ")[0] + "in ") for o, d in found.values()} == {skipped}
    assert {d.rpartition("::")[2] for _, d in found.values()} == {
        "test_list[broken_proxy] (see its error)"
    }
    assert set(found) == {c for c in CASES if c.startswith("proxy.")} - {"proxy.list"}
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_target_started_per_test_that_cannot_start_is_reported_once(
    pytester: pytest.Pytester,
) -> None:
    script = pytester.makepyfile(broken_proxy="import sys\nprint('no config')\nsys.exit(4)\n")
    command = f"{sys.executable} {script} {{port}}"
    result, report = run_suite(
        pytester, "--gomodnet-proxy-cmd", command, "--gomodnet-proxy-scope=test", "-k", "test_zip"
    )
    assert [outcome for outcome, _ in details(report, "broken_proxy").values()] == [
        "error",
        "skip",
    ]
    assert times_reported(result, "exited with status 4") == 1


def test_a_target_that_dies_during_the_run_is_reported_once(pytester: pytest.Pytester) -> None:
    # It answers a start-up probe, if one comes, and dies at its first real request.
    script = pytester.makepyfile(
        dying_proxy="""
        import os, sys
        from http.server import BaseHTTPRequestHandler, HTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if "/ready-" in self.path:
                    self.send_response(200)
                    self.send_header("Content-Length", "7")
                    self.end_headers()
                    self.wfile.write(b"v1.0.0\\n")
                    return
                print("took one request", flush=True)
                os._exit(5)

        HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """
    )
    command = f"{sys.executable} {script} {{port}}"
    result, report = run_suite(
        pytester, "--gomodnet-proxy-cmd", command, "-k", "test_list or test_info or test_mod"
    )
    outcomes = [outcome for outcome, _ in details(report, "dying_proxy").values()]
    # test_list's request kills it; the next case to find the process gone errors once,
    # and the rest are skipped.
    died = outcomes.index("error")
    assert outcomes[:died] == ["FAIL"] * died
    assert outcomes[died + 1 :] == ["skip"] * (len(outcomes) - died - 1)
    result.stdout.fnmatch_lines(
        ["dying_proxy exited with status 5 during the run; its last output:", "took one request"]
    )
    assert times_reported(result, "exited with status 5") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--gomodnet-proxy-cmd", "my-proxy {port}"],
            "--gomodnet-proxy-cmd only configures the conformance suite, which runs only with "
            "--gomodnet: add --gomodnet to run the suite, or drop --gomodnet-proxy-cmd",
        ),
        (
            ["--gomodnet-report=r", "--gomodnet-client=go", "--gomodnet-proxy-scope=test"],
            "--gomodnet-client, --gomodnet-proxy-scope, --gomodnet-report only configure the "
            "conformance suite, which runs only with --gomodnet: add --gomodnet to run the "
            "suite, or drop them",
        ),
        (
            ["--gomodnet-strict", "--gomodnet-start-timeout=0", "--gomodnet-client-cmd=x"],
            "--gomodnet-client-cmd, --gomodnet-start-timeout, --gomodnet-strict only configure "
            "the conformance suite, which runs only with --gomodnet: add --gomodnet to run the "
            "suite, or drop them",
        ),
    ],
)
def test_a_suite_option_without_gomodnet_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile(test_user="def test_user():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.lines


def test_a_target_that_never_listens_fails_at_its_deadline(pytester: pytest.Pytester) -> None:
    script = pytester.makepyfile(
        sleepy_proxy="import time\nprint('warming up', flush=True)\ntime.sleep(60)\n"
    )
    command = f"{sys.executable} {script} {{port}}"
    result, _ = run_suite(
        pytester,
        "--gomodnet-proxy-cmd",
        command,
        "--gomodnet-start-timeout=1",
        "-k",
        "test_zip and not byte",
    )
    result.stdout.fnmatch_lines(
        ["* did not open port * within 1 s; its last output:", "warming up"]
    )
    result.assert_outcomes(errors=1)


#: A proxy that answers 502 until WARM seconds after it starts (as Squid does for up to a
#: second after its port opens), then serves @v/list; it logs each answer.
WARMING_PROXY = """
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

WARM, started, log = float(sys.argv[2]), time.monotonic(), open(sys.argv[3], "a")

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if time.monotonic() - started < WARM:
            status, body = 502, b"warming up\\n"
        elif "/ready-" in self.path:
            status, body = 200, b"v1.0.0\\n"
        else:
            status, body = 200, b"v1.0.0\\nv1.1.0\\n"
        log.write(f"{status} {self.path}\\n")
        log.flush()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_a_target_is_ready_when_it_serves_not_when_its_port_opens(
    pytester: pytest.Pytester,
) -> None:
    script, log = pytester.makepyfile(warming_proxy=WARMING_PROXY), pytester.path / "answers"
    command = f"{{python}} {script} {{port}} 1.0 {log}"
    result, report = run_suite(pytester, "--gomodnet-proxy-cmd", command, "-k", "test_list")
    assert verdicts(report) == {("proxy.list", "warming_proxy"): "pass"}
    answers = log.read_text().splitlines()
    first_ok = next(i for i, line in enumerate(answers) if line.startswith("200"))
    assert first_ok > 0, answers  # it was probed while it still said 502
    assert all(line.startswith("502 /mod.test/") for line in answers[:first_ok]), answers
    probes = [line.split("/")[3] for line in answers[: first_ok + 1]]
    assert probes == [f"ready-{n}" for n in range(1, first_ok + 2)]  # a new path each time
    assert answers[first_ok + 1 :] == [
        f"200 /mod.test/{answers[0].split('/')[2]}/warming-proxy/list/@v/list"
    ]
    assert result.ret == pytest.ExitCode.OK


def test_a_target_that_never_serves_names_its_last_answer(pytester: pytest.Pytester) -> None:
    script, log = pytester.makepyfile(warming_proxy=WARMING_PROXY), pytester.path / "answers"
    command = f"{{python}} {script} {{port}} 3600 {log}"
    result, report = run_suite(
        pytester, "--gomodnet-proxy-cmd", command, "--gomodnet-start-timeout=1", "-k", "test_list"
    )
    result.stdout.fnmatch_lines(
        [
            f"{sys.executable} {script} * 3600 {log} did not serve a clean "
            "request within 1 s (--gomodnet-start-timeout); the last attempt: "
            "GET http://127.0.0.1:*/mod.test/*/ready-*/@v/list: 502, b'warming up\\n'; "
            "its last output:",
        ]
    )
    assert verdicts(report) == {("proxy.list", "warming_proxy"): "error"}


def test_a_target_that_never_answers_is_bounded_by_the_start_timeout(
    pytester: pytest.Pytester,
) -> None:
    script = pytester.makepyfile(
        silent_proxy=(
            "import socket, sys, time\n"
            "listener = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
            "time.sleep(60)  # connections queue up; not one gets a byte\n"
        )
    )
    started = time.monotonic()
    result, _ = run_suite(
        pytester,
        "--gomodnet-proxy-cmd",
        f"{{python}} {script} {{port}}",
        "--gomodnet-start-timeout=1",
        "-k",
        "test_list",
    )
    result.stdout.fnmatch_lines(
        [
            "* did not serve a clean request within 1 s "
            "(--gomodnet-start-timeout); the last attempt: "
            "GET http://127.0.0.1:*/mod.test/*/ready-*/@v/list: ReadTimeout: timed out; *",
        ]
    )
    assert time.monotonic() - started < 30  # the pytest start-up, 1 s, and the stop


# --- the upstream without a forward proxy -------------------------------------------------


def test_a_plain_http_target_gets_the_faults_and_no_tls_verdicts(pytester: pytest.Pytester) -> None:
    command = mirror_command("careful_mirror", "--upstream {upstream_http} --port {port}")
    result, report = run_suite(
        pytester, "--gomodnet-proxy-cmd", command, "-k", "zip_fault or tls_broken"
    )
    outcomes = verdicts(report)
    faults = {c for c in CASES if c.startswith("proxy.upstream-zip-fault")}
    tls = {c for c in CASES if c.startswith("proxy.upstream-tls-broken")}
    assert outcomes == {
        **{(c, "careful_mirror"): "pass" for c in faults},
        **{(c, "careful_mirror"): "skip" for c in tls},
    }
    document = json.loads(report.read_text())
    reasons = {v["detail"] for v in document["verdicts"] if v["outcome"] == "skip"}
    assert reasons == {
        "the target reaches the upstream through {upstream_http}, in plain HTTP: "
        "there is no certificate chain it could refuse"
    }
    assert result.ret == pytest.ExitCode.OK


# --- the suite bites: two mirrors ----------------------------------------------------------


@pytest.mark.slow
def test_the_suite_tells_the_naive_mirror_from_the_careful_one(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    result, report = run_suite(
        pytester,
        "--gomodnet-proxy-cmd",
        mirror_command("naive_mirror"),
        "--gomodnet-proxy-cmd",
        mirror_command("careful_mirror"),
        f"--junitxml={junit}",
    )
    outcomes = verdicts(report)
    proxy_cases = {c for c in CASES if c.startswith("proxy.")}
    # Without --http2 both speak HTTP/1.1 upstream: the HTTP/2 cases give them no verdict
    # (tests/test_conformance_h2.py runs them with it).
    http2 = family("upstream-h2-stream-fault")
    careful = {case: outcomes[case, "careful_mirror"] for case in proxy_cases}
    assert careful == {**dict.fromkeys(proxy_cases - http2, "pass"), **dict.fromkeys(http2, "skip")}
    naive = {case: outcomes[case, "naive_mirror"] for case in proxy_cases}
    assert {c for c, o in naive.items() if o == "FAIL"} == NAIVE_FAILS
    assert {c for c, o in naive.items() if o == "SHOULD-fail"} == NAIVE_SHOULD_FAILS
    assert {c for c, o in naive.items() if o == "skip"} == http2
    assert {o for c, o in naive.items() if c not in NAIVE_FAILS | NAIVE_SHOULD_FAILS | http2} == {
        "pass"
    }
    assert result.ret == pytest.ExitCode.TESTS_FAILED

    result.stdout.fnmatch_lines(
        [
            "*= gomodnet conformance matrix =*",
            "case * level * naive_mirror * careful_mirror*",
            "proxy.upstream-zip-fault?cut-mid-body? * MUST * FAIL * pass*",
            "proxy.single-flight * SHOULD * SHOULD-fail * pass*",
        ]
    )
    markdown = report.with_suffix(".md").read_text()
    assert "| `proxy.upstream-zip-fault[reset]` | MUST | **FAIL** | pass |" in markdown
    assert "| `proxy.zip` | MUST | pass | pass |" in markdown
    assert f"| target `naive_mirror` | `{mirror_command('naive_mirror')}` |" in markdown

    cases = ET.parse(junit).getroot().iter("testcase")
    properties = [{p.get("name"): p.get("value") for p in c.iter("property")} for c in cases]
    assert {
        "gomodnet_case": "proxy.upstream-tls-broken[expired-leaf]",
        "gomodnet_level": "MUST",
        "gomodnet_target": "careful_mirror",
    } in properties


# --- clients ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.usefixtures("go")
def test_go_and_the_reference_client_verdicts(pytester: pytest.Pytester) -> None:
    result, report = run_suite(pytester, "--gomodnet-require-go")
    outcomes = verdicts(report)
    client_cases = [c for c in CASES if c.startswith("client.")]
    go = {case: outcomes[case, "go"] for case in client_cases}
    assert {c for c, o in go.items() if o == "FAIL"} == GO_FAILS
    assert {c for c, o in go.items() if o == "SHOULD-fail"} == GO_SHOULD_FAILS
    assert {o for c, o in go.items() if c not in GO_FAILS | GO_SHOULD_FAILS} == {"pass"}
    # The reference client downloads from mod tags only: every git case is a SHOULD-fail,
    # with the evidence that it never asked git.test, never a pass.
    git_cases = family("git", kind="client")
    assert len(git_cases) == 5
    reference = {case: outcomes[case, "reference"] for case in client_cases}
    assert {c for c, o in reference.items() if o != "pass"} == git_cases
    assert {reference[c] for c in git_cases} == {"SHOULD-fail"}
    faulted = family("git-broken[info-refs", "git-broken[upload-pack", kind="client")
    first_lines = {c: detail for c, (_, detail) in details(report, "reference").items()}
    assert {c: first_lines[c] for c in git_cases} == {
        c: f"AssertionError: {NO_EVIDENCE if c in faulted else NO_REQUEST_EVIDENCE}: "
        + NEVER_ASKED_GIT
        for c in git_cases
    }
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["go: 1 FAIL, 2 SHOULD-fail, * pass", "reference: 5 SHOULD-fail, * pass"]
    )


def test_a_client_command_gets_its_placeholders_and_the_network(pytester: pytest.Pytester) -> None:
    command = (
        f"{shlex.quote(sys.executable)} -m pytest_gomodnet.conformance.reference "
        "{module} {version} {goproxy} {dest}"
    )
    result, report = run_suite(
        pytester, "--gomodnet-client-cmd", command, "-k", "clean or cut-mid or untrusted"
    )
    outcomes = verdicts(report)
    assert outcomes["client.clean", "reference"] == "pass"
    assert outcomes["client.fault[zip-cut-mid-body]", "reference"] == "pass"
    assert outcomes["client.tls-broken[untrusted-root]", "reference"] == "pass"
    assert result.ret == pytest.ExitCode.OK


def test_the_framing_and_revisited_cases_fail_a_proxy_that_does_nothing(
    pytester: pytest.Pytester,
) -> None:
    result, report = run_suite(
        pytester,
        "--gomodnet-proxy-cmd",
        f"{DEGENERATE} proxy-502 {{port}}",
        "-k",
        "close_delimited or gone_is_not_forever or upstream_redirect",
    )
    outcomes = {case: outcome for (case, _), outcome in verdicts(report).items()}
    assert outcomes == {
        "proxy.close-delimited-cut[zip]": "FAIL",
        "proxy.close-delimited-cut[info]": "FAIL",
        "proxy.close-delimited-cut[mod]": "FAIL",
        "proxy.close-delimited-mod-cut-at-line": "SHOULD-fail",
        "proxy.gone-is-not-forever": "SHOULD-fail",
        "proxy.upstream-redirect": "SHOULD-fail",
    }
    result.stdout.fnmatch_lines([f"*{NEVER_FETCHED}*"])


def test_the_close_delimited_client_cases_fail_a_client_that_does_nothing(
    pytester: pytest.Pytester,
) -> None:
    command = f"{shlex.quote(sys.executable)} -c pass {{module}} {{dest}}"
    _, report = run_suite(pytester, "--gomodnet-client-cmd", command, "-k", "close_delimited")
    outcomes = {case: outcome for (case, _), outcome in verdicts(report).items()}
    assert outcomes == {
        "client.close-delimited-cut[zip]": "FAIL",
        "client.close-delimited-cut[info]": "FAIL",
        "client.close-delimited-cut[mod]": "FAIL",
        "client.close-delimited-mod-cut-at-line": "SHOULD-fail",
    }


def test_should_failures_fail_the_run_when_strict(pytester: pytest.Pytester) -> None:
    result, report = run_suite(
        pytester,
        "--gomodnet-proxy-cmd",
        mirror_command("naive_mirror"),
        "--gomodnet-strict",
        "-k",
        "single_flight",
    )
    assert verdicts(report) == {("proxy.single-flight", "naive_mirror"): "FAIL"}
    result.assert_outcomes(failed=1)


def test_the_matrix_is_whole_under_xdist(pytester: pytest.Pytester) -> None:
    _, report = run_suite(
        pytester,
        "-n",
        "2",
        "--gomodnet-proxy-cmd",
        mirror_command("naive_mirror"),
        "-k",
        "single_flight or zip_fault",
    )
    outcomes = verdicts(report)
    faults = {c for c in CASES if c.startswith("proxy.upstream-zip-fault")}
    assert set(outcomes) == {(c, "naive_mirror") for c in faults | {"proxy.single-flight"}}
    assert outcomes["proxy.single-flight", "naive_mirror"] == "SHOULD-fail"
    assert {c for (c, _), o in outcomes.items() if o == "FAIL"} == NAIVE_FAILS & faults


# --- no verdict without evidence: targets that do nothing right get no pass ---------------


@pytest.mark.parametrize("target", ["proxy-502 {port}", "proxy-404 {port}"])
def test_a_proxy_that_never_asks_the_upstream_gets_no_pass(
    pytester: pytest.Pytester, target: str
) -> None:
    not_proxied = frozenset(family("sumdb-proxy", "sumdb-cut-tile"))
    found = run_degenerate(
        pytester, "proxy", target, skipped=not_proxied if "404" in target else frozenset()
    )
    # What used to pass (a refusal is what the case wants) now names the missing evidence.
    faulted = family("upstream-tls-broken", "upstream-403", "upstream-zip-fault")
    faulted |= family("gone-is-not-forever", "close-delimited")
    assert {found[case] for case in faulted} == {NEVER_FETCHED}
    not_found = family("not-found", "unknown-module-list")
    assert {found[case] for case in not_found} == {NEVER_ASKED}
    if target.startswith("proxy-404"):  # a 404 is the right answer to these: the control tells
        for case in family("hostile-path", "sumdb-supported"):
            assert found[case].startswith(PROXY_CONTROL_FAILED), case
            assert found[case].endswith("/control: expected 200 with the zip"), case
        for case in not_proxied:
            assert re.fullmatch(
                r"degenerate does not proxy sumdb-(proxy|cut-tile)\.degenerate\.[0-9a-f]+"
                r"\.sum\.test \(supported: 404\); "
                "go asks the database itself",
                found[case],
            ), found[case]
    else:  # a 502 says the database is proxied, and broken
        assert {found[case] for case in not_proxied} == {SUPPORTED_502}


@pytest.mark.slow
def test_a_proxy_that_meets_every_fault_but_never_serves_fails_the_control(
    pytester: pytest.Pytester,
) -> None:
    found = run_degenerate(pytester, "proxy", "proxy-fetch-then-502 {port} {upstream}")
    for case in family("upstream-tls-broken", "upstream-403"):
        assert found[case].startswith(PROXY_CONTROL_FAILED), case
    healed = "AssertionError: the zip once the upstream healed: expected 200 with the zip"
    assert {found[case] for case in family("upstream-zip-fault")} == {healed}
    assert {found[case] for case in family("sumdb-proxy", "sumdb-cut-tile")} == {SUPPORTED_502}


@pytest.mark.slow
@pytest.mark.parametrize("target", ["client-exit-3", "client-exit-0-nothing"])
def test_a_client_that_makes_no_request_gets_no_pass(
    pytester: pytest.Pytester, target: str
) -> None:
    found = run_degenerate(pytester, "client", f"{target} {{dest}}")
    faulted = family("fault", "tls-broken", "no-retry", "fallback", "no-fallback", kind="client")
    faulted |= family("retry-after-cut", "pipe-falls-through", "close-delimited", kind="client")
    faulted |= family("git-broken[info-refs", "git-broken[upload-pack", kind="client")
    assert {found[case] for case in faulted} == {NO_CLIENT_REQUEST}
    unfaulted = family("discovery", "git", kind="client") - faulted
    assert len(unfaulted) == 13  # discovery: 11, git: the clean case and the lying tag
    assert {found[case] for case in unfaulted} == {NO_DISCOVERY_REQUEST}
    assert found["client.sumdb-lying-proxy"] == NO_DISCOVERY_REQUEST
    assert found["client.sumdb-clean"] == (
        "AssertionError: expected the download to succeed"
        if target == "client-exit-3"
        else "AssertionError: succeeded but left no zip in dest"
    )


@pytest.mark.slow
def test_a_client_that_meets_the_fault_but_never_succeeds_fails_the_control(
    pytester: pytest.Pytester,
) -> None:
    command = "client-fetch-then-exit-3 {module} {version} {goproxy}"
    found = run_degenerate(pytester, "client", command)
    controlled = family("fault[zip-", "tls-broken", "no-retry", "no-fallback", kind="client")
    # GOPROXY=direct: it reads the go-import page, and lists git.test's refs (git ls-remote).
    controlled |= family("discovery-broken", "git-broken", kind="client")
    assert {found[case] for case in controlled} == {CLIENT_CONTROL_FAILED}
    asked_only = family("discovery", "git", kind="client") - controlled
    assert {found[case] for case in asked_only} == {CLIENT_FAILED}
    assert found["client.fault[mod-cut]"] == (
        "AssertionError: no evidence the fault reached the target: "
        "the client never asked proxy.test for *.mod"
    )
    assert found["client.sumdb-lying-proxy"] == (
        "AssertionError: no evidence the target made the request this case is about: "
        "the client never connected to sum.test (only to proxy.test)"
    )
    assert found["client.sumdb-clean"] == "AssertionError: expected the download to succeed"


# --- the report -----------------------------------------------------------------------------


def test_the_report_says_how_to_reproduce_it_and_why_each_skip(pytester: pytest.Pytester) -> None:
    from datetime import datetime

    from pytest_gomodnet._version import __version__
    from pytest_gomodnet.conformance.plugin import BUILT_IN_CLIENTS, NO_PROXY_TARGET

    _, report = run_suite(
        pytester, "--gomodnet-seed=1234", "-k", "(test_list or test_clean) and not unknown"
    )
    document = json.loads(report.read_text())
    run = document["run"]
    assert (run["plugin"], run["seed"], run["targets"]) == (__version__, 1234, BUILT_IN_CLIENTS)
    assert run["go"].startswith("go1.27.")
    assert datetime.fromisoformat(run["date"]).tzinfo is not None
    assert verdicts(report) == {
        ("proxy.list", "none"): "skip",
        ("client.clean", "go"): "pass",
        ("client.clean", "reference"): "pass",
    }
    assert document["targets"] == ["go", "reference"]
    [skipped] = [v for v in document["verdicts"] if v["outcome"] == "skip"]
    assert skipped["detail"] == NO_PROXY_TARGET
    markdown = report.with_suffix(".md").read_text()
    assert f"| plugin | pytest-gomodnet {__version__} |" in markdown
    assert "| seed | 1234 (replay with `--gomodnet-seed 1234`) |" in markdown
    assert f"| date | {run['date']} |" in markdown
    assert f"| target `reference` | `{BUILT_IN_CLIENTS['reference']}` |" in markdown
    assert f"## Skipped\n\n- `proxy.list` on none: {NO_PROXY_TARGET}\n" in markdown


# --- the HTML report of a real run -----------------------------------------------------------


def _page(report: Path) -> tuple[dict[str, Any], Elements]:
    """The JSON document of a run and its HTML page, parsed."""
    return json.loads(report.read_text()), Elements(report.with_suffix(".html").read_text())


@pytest.mark.slow
@requires_chromium
def test_the_html_report_shows_the_fails_of_a_client_that_does_nothing(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    command = f"{DEGENERATE} client-exit-3"
    args = ("--gomodnet-client-cmd", command, "--gomodnet-seed", "11", "-k", "clean or zip-cut")
    _, report = run_suite(pytester, *args)
    document, page = _page(report)
    cases = [v["case"] for v in document["verdicts"]]
    assert cases[:2] == ["client.clean", "client.fault[zip-cut-mid-body]"]
    assert [row["data-case"] for row in page.having("tr", "case")] == cases
    assert {str(c["class"]) for c in page.having("td", "cell")} == {"cell v-fail"}
    sections = page.having("section", "failure")
    assert [(s["data-case"], s["data-verdict"]) for s in sections] == [(c, "FAIL") for c in cases]
    details = {v["case"]: v["detail"] for v in document["verdicts"]}
    assert details["client.clean"] == CLIENT_FAILED
    assert details["client.fault[zip-cut-mid-body]"] == NO_CLIENT_REQUEST
    html = report.with_suffix(".html").read_text()
    for detail in details.values():
        assert f'<p class="detail">{escape(detail)}</p>' in html
    rerun = shlex.join(["pytest", "--gomodnet", "--gomodnet-client-cmd", command])
    assert page.pres[:2] == [
        f"{rerun} --gomodnet-seed 11 -k 'test_clean[degenerate]'",
        "seed: 11 (replay with --gomodnet-seed 11)\nhosts:\n"
        "  proxy.test: GOPROXY — proxy.test: leaf ← intermediate — complete\n"
        "faults:\n  (none)\nconnections:\n(none)",
    ]
    # The printed command reruns that case, and that case alone.
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", *shlex.split(page.pres[0])[1:])
    client_cases = [c for c in CASES if c.startswith("client.")]
    again.assert_outcomes(failed=1, deselected=len(client_cases) - 1)
    profile = tmp_path / "profile"
    failing = Elements(dump_dom(report.with_suffix(".html"), "verdict=FAIL", profile=profile))
    assert failing.shown_rows() == cases
    passing = Elements(dump_dom(report.with_suffix(".html"), "verdict=pass", profile=profile))
    assert passing.shown_rows() == []
    screenshot(
        report.with_suffix(".html"), "verdict=FAIL", profile=profile, into=artifacts(tmp_path)
    )


@pytest.mark.slow
@requires_chromium
def test_the_html_report_shows_the_passes_of_the_careful_mirror(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    command = mirror_command("careful_mirror")
    _, report = run_suite(pytester, "--gomodnet-proxy-cmd", command, "-k", "test_zip or zip_fault")
    document, page = _page(report)
    cases = [v["case"] for v in document["verdicts"]]
    assert set(cases) == {"proxy.zip", "proxy.zip-byte-exact", *family("upstream-zip-fault")}
    assert {v["outcome"] for v in document["verdicts"]} == {"pass"}
    assert [row["data-case"] for row in page.having("tr", "case")] == cases
    assert {str(c["class"]) for c in page.having("td", "cell")} == {"cell v-pass"}
    assert page.having("section", "failure") == []
    html = report.with_suffix(".html").read_text()
    assert "<h2>Failures (0)</h2>\n<p>None.</p>" in html
    assert (
        f'<li><code>careful_mirror</code>: <span class="badge v-pass">{len(cases)} pass</span></li>'
        in html
    )
    profile = tmp_path / "profile"
    shown = Elements(
        dump_dom(report.with_suffix(".html"), "target=careful_mirror", profile=profile)
    )
    assert shown.shown_rows() == cases
    failing = Elements(dump_dom(report.with_suffix(".html"), "verdict=FAIL", profile=profile))
    assert failing.shown_rows() == []
    screenshot(report.with_suffix(".html"), "", profile=profile, into=artifacts(tmp_path))
