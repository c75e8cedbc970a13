"""Conformance cases for proxies whose upstream speaks HTTP/2 and breaks a zip's stream.

proxy.golang.org and the CDNs in front of mirrors speak HTTP/2, and what
breaks there is a stream, not a TCP connection: ``stream error: stream ID n;
INTERNAL_ERROR`` partway through a zip, a GOAWAY mid-download, DATA before
HEADERS (FAILURES 2, 3; golang/go#69544). The upstream offers ``h2`` by ALPN
on every TLS connection; these faults reach a target only if its upstream
client chose it. Each case first fetches a clean zip of a sibling module: the
target must fetch it from the upstream and serve it whole (the positive
control), and the log then shows which protocol it spoke. A target that
spoke HTTP/1.1 gets no verdict (a skip saying so), never a pass.
"""

from __future__ import annotations

import pytest

from pytest_gomodnet.faults import FaultPlan

from . import case
from .evidence import CONTROL_FAILED, not_http2
from .harness import CONTROL, H2_STREAM_FAULTS, UPSTREAM_HOST, ProxyCase


def expect_http2_upstream(proxy: ProxyCase) -> None:
    """The target fetches a clean sibling zip from the upstream and serves it whole; no
    verdict (a skip naming why) if it spoke HTTP/1.1 to the upstream for it."""
    module = f"{proxy.module}/{CONTROL}"
    stored = proxy.add(module=module)
    answer = proxy.get(proxy.zip_url(module=module))
    glob = proxy.upstream_glob("@v/*.zip", module=module)
    proxy.expect_fault_met(glob, answer, faulted=False)
    proxy.expect_zip(answer, stored, f"{CONTROL_FAILED}: the zip of {module}")
    reason = not_http2(proxy.network.log, UPSTREAM_HOST, glob, who="the proxy")
    if reason is not None:
        pytest.skip(reason)


@case(
    "upstream-h2-stream-fault",
    "MUST",
    "an HTTP/2 upstream that resets the zip's stream (RST_STREAM INTERNAL_ERROR), sends "
    "GOAWAY mid-download (abrupt or graceful), sends DATA before HEADERS (PROTOCOL_ERROR) "
    "or ends the stream short of its content-length: the client gets an error or the whole "
    "zip, never a partial one, and the next request gets the whole zip (FAILURES 2, 3; "
    "golang/go#69544); no verdict for a proxy that speaks HTTP/1.1 upstream",
    variants=H2_STREAM_FAULTS,
)
def test_upstream_h2_stream_fault(gomodnet_proxy_case: ProxyCase, variant: FaultPlan) -> None:
    proxy = gomodnet_proxy_case
    expect_http2_upstream(proxy)
    stored = proxy.add("v1.0.0")
    proxy.fault(variant, path="@v/*.zip")
    answer = proxy.get(proxy.zip_url())
    proxy.expect_fault_met(proxy.upstream_glob("@v/*.zip"), answer)
    proxy.expect_no_partial_success(answer, stored, f"after {variant!r} on the zip's stream: ")
    again = proxy.get(proxy.zip_url())
    proxy.expect_zip(again, stored, f"the zip asked for again after {variant!r}")
