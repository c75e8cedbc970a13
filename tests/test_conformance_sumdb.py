"""The checksum-database cases of ``pytest --gomodnet``: the proxy cases pass the example
mirrors (which relay ``/sumdb/…`` uncached) and fail proxies that get it wrong; client
commands are told the database."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from pytest_gomodnet.conformance.targets import CLIENT_PLACEHOLDERS, CommandClient, CommandTemplate

HERE = Path(__file__).parent
MIRRORS = HERE.parent / "examples" / "mirrors"
MIRROR_ARGS = "--upstream {upstream} --port {port} --ca-bundle {ca_bundle} --proxy {router}"
MIRROR_ARGS_POSITIONAL = "{upstream} {port} {ca_bundle} {router}"
CASES = ["proxy.sumdb-supported", "proxy.sumdb-proxy", "proxy.sumdb-cut-tile"]


def run_sumdb_cases(pytester: pytest.Pytester, *commands: str) -> dict[tuple[str, str], str]:
    """Verdict and first line of its detail, by (case, target)."""
    report = pytester.path / "report"
    args = [arg for command in commands for arg in ("--gomodnet-proxy-cmd", command)]
    pytester.runpytest_subprocess(
        "--gomodnet", "-p", "no:cacheprovider", f"--gomodnet-report={report}", "-k", "test_sumdb",
        *args,
    )  # fmt: skip
    document = json.loads(report.with_suffix(".json").read_text())
    return {
        (v["case"], v["target"]): " ".join([v["outcome"], v["detail"]]).strip()
        for v in document["verdicts"]
    }


def wrong(kind: str) -> str:
    script = shlex.quote(str(HERE / "wrong_db_proxy.py"))
    return f"{shlex.quote(sys.executable)} {script} {kind} {MIRROR_ARGS_POSITIONAL}"


def test_the_example_mirrors_relay_the_database(pytester: pytest.Pytester) -> None:
    commands = [f"{shlex.quote(sys.executable)} {MIRRORS / m} {MIRROR_ARGS}" for m in
                ("naive_mirror.py", "careful_mirror.py")]  # fmt: skip
    outcomes = run_sumdb_cases(pytester, *commands)
    assert outcomes == {(c, t): "pass" for c in CASES for t in ("naive_mirror", "careful_mirror")}


def test_a_proxy_that_claims_the_database_and_serves_nothing_fails(pytester) -> None:
    outcomes = run_sumdb_cases(pytester, wrong("claims"))
    assert outcomes == {
        ("proxy.sumdb-supported", "wrong_db_proxy"): "pass",
        ("proxy.sumdb-proxy", "wrong_db_proxy"): (
            "FAIL AssertionError: expected the database's /latest byte for byte (211 bytes)"
        ),
        ("proxy.sumdb-cut-tile", "wrong_db_proxy"): (
            "FAIL AssertionError: no evidence the target made the request this case is "
            "about: the proxy never fetched from the upstream"
        ),
    }


def test_a_proxy_that_passes_a_cut_tile_on_fails(pytester) -> None:
    outcomes = run_sumdb_cases(pytester, wrong("passes-cut-on"))
    assert outcomes == {
        ("proxy.sumdb-supported", "wrong_db_proxy"): "pass",
        ("proxy.sumdb-proxy", "wrong_db_proxy"): "pass",
        ("proxy.sumdb-cut-tile", "wrong_db_proxy"): (
            "FAIL AssertionError: passed a cut tile on as whole: 200 with 40 of 64 bytes"
        ),
    }


# --- client commands get the database -------------------------------------------------------


@pytest.mark.parametrize(
    ("gosumdb", "env"), [("sum.test+00000000+AQ== https://sum.test", True), ("off", False)]
)
def test_a_client_command_gets_gosumdb(tmp_path, gosumdb, env) -> None:
    script = "import os, sys; print(sys.argv[1:], os.environ.get('GOSUMDB'))"
    template = CommandTemplate(
        f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {{gosumdb}}", CLIENT_PLACEHOLDERS
    )
    kwargs = {"gosumdb": gosumdb} if env else {}
    result = CommandClient(template).download(
        "example.test/m", "v1.0.0", "https://proxy.test", tmp_path,
        router="http://127.0.0.1:1", ca_bundle=tmp_path / "ca.pem", **kwargs,
    )  # fmt: skip
    inherited = os.environ.get("GOSUMDB")
    assert result.output == f"exit status 0\n{[gosumdb]} {gosumdb if env else inherited}\n"
