"""Conformance cases for clients that speak HTTP/2 to a proxy that breaks a zip's stream.

proxy.test offers ``h2`` by ALPN, as proxy.golang.org does; the go command
takes it. Each case first lets the client download a clean sibling module:
it must ask proxy.test for the zip and succeed (the positive control), and
the log then shows which protocol it spoke. A client that spoke HTTP/1.1
gets no verdict (a skip saying so), never a pass: the faults here exist only
on an HTTP/2 stream.
"""

from __future__ import annotations

import pytest

from pytest_gomodnet.faults import FaultPlan, GoAway
from pytest_gomodnet.modules import escape_path

from . import case
from .client_cases import PERSISTENT
from .evidence import not_http2
from .harness import CONTROL, H2_STREAM_FAULTS, PROXY_HOST, ClientCase


def expect_http2_client(client: ClientCase) -> None:
    """The client downloads a clean sibling module from proxy.test; no verdict (a skip
    naming why) if it spoke HTTP/1.1 to proxy.test for the zip."""
    control = client.add(f"{client.module}/{CONTROL}")
    run = client.run(module=control.path)
    glob = f"/{escape_path(control.path)}/@v/*.zip"
    client.expect_fault_met(run, PROXY_HOST, glob, faulted=False)
    client.expect_control_run(run, control)
    reason = not_http2(client.network.log, PROXY_HOST, glob, who="the client")
    if reason is not None:
        pytest.skip(reason)


@case(
    "h2-stream-fault",
    "MUST",
    "over HTTP/2, a zip whose stream is reset (RST_STREAM INTERNAL_ERROR), cut by GOAWAY "
    "(abrupt), preceded by DATA before HEADERS (PROTOCOL_ERROR) or ended short of its "
    "content-length is an error, and no partial zip is kept; a graceful GOAWAY loses "
    "nothing, so there the whole zip is fine too; the next download gets the whole zip "
    "(FAILURES 2, 3; golang/go#69544); no verdict for a client that speaks HTTP/1.1",
    variants=H2_STREAM_FAULTS,
)
def test_h2_stream_fault(gomodnet_client_case: ClientCase, variant: FaultPlan) -> None:
    client = gomodnet_client_case
    expect_http2_client(client)
    stored = client.add()
    zips = f"/{escape_path(client.module)}/@v/*.zip"
    client.fault(PROXY_HOST, *[variant] * PERSISTENT, path=zips, must_fire=1)
    run = client.run()
    client.expect_fault_met(run, PROXY_HOST, zips)
    when = f"every zip's stream met {variant!r}"
    client.expect_nothing_wrong_kept(run, stored, f"{when}: ")
    if isinstance(variant, GoAway) and not variant.abrupt and run.result.ok:
        client.expect_success(run, stored)  # a graceful GOAWAY: the stream went on to its end
    else:
        client.expect_failure(run, stored, when)
    client.clear_faults(PROXY_HOST, zips)
    client.expect_control(stored)
